"""The batch pages, mounted at /batch/ (offline_portal/urls.py)."""

from __future__ import annotations

from django.urls import path

from portal.batches import views

app_name = "batches"
urlpatterns = [
    path("", views.new_batch, name="new"),
    path("<str:token>/", views.show_batch, name="batch"),
    path("<str:token>/confirm", views.confirm, name="confirm"),
    path("<str:token>/cancel", views.cancel, name="cancel"),
    path("<str:token>/license-files.zip", views.download_zip, name="zip"),
]
