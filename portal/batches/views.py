"""The batch pages: many request files at once, one confirmation, a table that fills in.

Without JavaScript every step is a form post and a redirect, and the running batch's page
refreshes itself; with it, htmx polls the table and swaps it in (templates/batches/).
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.batches.archive import build_zip
from portal.batches.models import Batch
from portal.batches.runner import confirm_batch, resume_batch
from portal.batches.store import batch_entries, create_batch, find_batch
from portal.operations.rate_limits import client_address, enforce_check_rate_limit
from portal.relay.errors import RelayError
from portal.tenants.resolution import get_tenant

ZIP_FILENAME = "license-files.zip"


@require_http_methods(["GET", "POST"])
def new_batch(request: HttpRequest) -> HttpResponse:
    """The batch form; its POST makes the batch and shows what its files hold."""
    if request.method == "GET":
        return render(request, "batches/new_batch.html", _form_context())
    return start_batch(request, request.FILES.getlist("file"))


def start_batch(request: HttpRequest, files: list[UploadedFile]) -> HttpResponse:
    """Make a batch of these uploaded files and answer 303 to its page (the check step).
    The main page's view calls this when several files arrive in one post."""
    files = [upload for upload in files if upload.size]
    error = _refusal(files)
    if error:
        status, message = error
        return render(request, "batches/new_batch.html", _form_context(message), status=status)
    tenant = get_tenant(request)
    try:
        enforce_check_rate_limit(request, tenant_slug=tenant.slug, files=len(files))
    except RelayError as limited:
        context = _form_context(str(limited.message))
        response = render(request, "batches/new_batch.html", context, status=429)
        response["Retry-After"] = str(limited.retry_after)
        return response
    batch = create_batch(
        tenant=tenant,
        client=client_address(request),
        language=get_language() or settings.LANGUAGE_CODE,
        files=[(os.path.basename(upload.name or "")[:255], upload.read()) for upload in files],
    )
    return _see_batch(batch)


@never_cache
@require_GET
def show_batch(request: HttpRequest, token: str) -> HttpResponse:
    """The check step before confirmation, then the table; a look at a batch whose runner
    died carries it on (runner.py)."""
    tenant = get_tenant(request)
    batch = _find_or_404(request, token)
    if resume_batch(batch, tenant=tenant):
        batch.refresh_from_db()
    template = "batches/batch.html#batch-table" if request.htmx else "batches/batch.html"
    return render(request, template, _batch_context(batch))


@require_POST
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    batch = _find_or_404(request, token)
    confirm_batch(batch, tenant=get_tenant(request))
    return _see_batch(batch)


@require_POST
def cancel(request: HttpRequest, token: str) -> HttpResponse:
    """Drop a batch not yet confirmed, and its files with it: nothing was sent."""
    batch = _find_or_404(request, token)
    if batch.confirmed_at is None:
        batch.delete()
    response = redirect("portal:upload")
    response.status_code = 303
    return response


@never_cache
@require_GET
def download_zip(request: HttpRequest, token: str) -> HttpResponse:
    batch = _find_or_404(request, token)
    if batch.finished_at is None:
        raise Http404("This batch is not finished yet.")
    body = build_zip([entry for _item, entry in batch_entries(batch)])
    response = HttpResponse(body, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{ZIP_FILENAME}"'
    response["Cache-Control"] = "no-store"
    return response


def _refusal(files: list[UploadedFile]) -> tuple[int, str] | None:
    limit = settings.PORTAL_BATCH_MAX_FILES
    if not files:
        return 400, gettext("Choose one or more request files first.")
    if len(files) > limit:
        message = ngettext(
            "A batch holds at most %(limit)d file. Split the files into smaller batches.",
            "A batch holds at most %(limit)d files. Split the files into smaller batches.",
            limit,
        )
        return 413, message % {"limit": limit}
    return None


def _find_or_404(request: HttpRequest, token: str) -> Batch:
    batch = find_batch(tenant=get_tenant(request), token=token)
    if batch is None:
        raise Http404("No such batch on this portal.")
    return batch


def _see_batch(batch: Batch) -> HttpResponse:
    response = redirect("batches:batch", token=batch.token)
    response.status_code = 303  # See Other: the batch page is fetched with GET
    return response


def _form_context(error: str = "") -> dict[str, object]:
    return {"error": error, "max_files": settings.PORTAL_BATCH_MAX_FILES}


def _batch_context(batch: Batch) -> dict[str, object]:
    items = list(batch.items.defer("content", "license_file"))
    return {
        "batch": batch,
        "items": items,
        "batch_url": reverse("batches:batch", kwargs={"token": batch.token}),
        "zip_filename": ZIP_FILENAME,
        "running": batch.confirmed_at is not None and batch.finished_at is None,
        "done_count": sum(item.state == item.State.DONE for item in items),
        "deactivations": sum(item.kind == "deactivation" for item in items),
        "sendable": sum(item.outcome != "invalid" for item in items),
        "license_files": sum(item.outcome == "activated" for item in items),
        "deactivated": sum(item.outcome == "deactivated" for item in items),
        "unfinished": sum(item.outcome in ("failed", "invalid") for item in items),
    }
