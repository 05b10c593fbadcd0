from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.decorators.cache import cache_control
from django.views.i18n import JavaScriptCatalog

urlpatterns = [
    path("", include("portal.urls")),
    path("batch/", include("portal.batches.urls")),
    # The language menu's POST (Django's set_language) and portal.js's strings, same origin.
    path("i18n/", include("django.conf.urls.i18n")),
    # Every page loads it: browsers keep it an hour (it varies on the language cookie and
    # Accept-Language, and its URL names the language).
    path(
        "i18n/catalog.js",
        cache_control(max_age=3600)(JavaScriptCatalog.as_view()),
        name="javascript-catalog",
    ),
    path("admin/", admin.site.urls),
    path("console/", include("portal.console.urls")),
]

if settings.SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))
