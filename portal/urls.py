"""The portal's routes, in one namespace ("portal"), from each concern's views."""

from __future__ import annotations

from django.urls import path

from portal.operations import health
from portal.relay import api
from portal.relay import views as relay_views
from portal.tenants import views as tenant_views

app_name = "portal"
urlpatterns = [
    path("", relay_views.upload, name="upload"),
    path("check", relay_views.check_upload, name="check"),
    path("check/send", relay_views.send_checked, name="send"),
    path("check/cancel", relay_views.cancel_checked, name="cancel"),
    path("r/<str:token>/", relay_views.show_result, name="result"),
    path("r/<str:token>/ls_activation.lic", relay_views.download_license, name="download"),
    path("api/v1/requests", api.api_relay, name="api-relay"),
    path("brand.css", tenant_views.brand_css, name="brand-css"),
    path("brand/logo", tenant_views.brand_image, {"kind": "logo"}, name="brand-logo"),
    path("brand/favicon", tenant_views.brand_image, {"kind": "favicon"}, name="brand-favicon"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
]
