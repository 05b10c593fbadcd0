from __future__ import annotations

from django.urls import path

from sandbox import oauth, views

app_name = "sandbox"
urlpatterns = [
    path("", views.index, name="index"),
    path("public-key.pem", views.public_key, name="public-key"),
    path("sample-file", views.sample_file, name="sample-file"),
    path("reset", views.reset, name="reset"),
    path("oauth/token", oauth.token, name="oauth-token"),
    path("api/v4/oauth_url", oauth.oauth_url, name="oauth-url"),
    path("api/v4/activate_offline", views.activate, name="activate-offline"),
    path("api/v4/deactivate_offline", views.deactivate, name="deactivate-offline"),
    path("api/v4/activate_bundle_offline", views.activate_bundle, name="activate-bundle-offline"),
    path(
        "api/v4/deactivate_bundle_offline",
        views.deactivate_bundle,
        name="deactivate-bundle-offline",
    ),
]
