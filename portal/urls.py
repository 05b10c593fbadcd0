from __future__ import annotations

from django.urls import path

from portal import views

app_name = "portal"
urlpatterns = [
    path("", views.upload, name="upload"),
    path("r/<str:token>/", views.show_result, name="result"),
    path("r/<str:token>/ls_activation.lic", views.download_license, name="download"),
    path("api/v1/requests", views.api_relay, name="api-relay"),
    path("brand.css", views.brand_css, name="brand-css"),
    path("brand/logo", views.brand_image, {"kind": "logo"}, name="brand-logo"),
    path("brand/favicon", views.brand_image, {"kind": "favicon"}, name="brand-favicon"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
]
