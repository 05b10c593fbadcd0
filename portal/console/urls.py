"""The vendor's console, under /console/ on each tenant's own host."""

from __future__ import annotations

from django.urls import path

from portal.console import account_views, brand_views, views, webhook_views

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", account_views.SignInView.as_view(), name="login"),
    path("sign-out/", account_views.sign_out, name="logout"),
    path("two-factor/", account_views.two_factor, name="two-factor"),
    path("welcome/<str:uidb64>/<str:token>/", account_views.welcome, name="welcome"),
    path("activity/", views.activity_list, name="activity"),
    path("activity.csv", views.activity_csv, name="activity-csv"),
    path("activity/chart/", views.activity_chart, name="chart"),
    path("brand/", brand_views.brand, name="brand"),
    path("brand/preview/", brand_views.brand_preview, name="brand-preview"),
    path("brand/preview.css", brand_views.brand_preview_css, name="brand-preview-css"),
    path("audit/", views.audit, name="audit"),
    path("retention/", views.retention, name="retention"),
    path("webhook/", webhook_views.webhook, name="webhook"),
    path(
        "webhook/deliveries/<int:delivery_pk>/send-again",
        webhook_views.send_again,
        name="webhook-send-again",
    ),
]
