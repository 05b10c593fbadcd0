"""One file of a batch: what it holds before it is sent, and how its relay went.

Shared by the batch runner (runner.py) and the machine endpoint's multi-file answer: both
relay each file through services.relay_request, so deduplication, the kept results, the
console's activity and the answer checks apply to every file as to a single upload.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.db import connection
from django.utils import translation
from django.utils.translation import gettext

from portal.licensespring.request_files import RequestFile
from portal.operations.rate_limits import enforce_client_rate_limit
from portal.relay.errors import RelayError
from portal.relay.inspection import inspect_upload
from portal.relay.outcomes import product_name_in
from portal.relay.services import relay_request
from portal.tenants.resolution import Tenant


@dataclass
class Entry:
    """A file's row in the batch's table, its summary.csv and the machine endpoint's JSON."""

    filename: str
    kind: str = ""  # activation, deactivation, or "" for a file that is no request file
    computer: str = ""
    product: str = ""  # the product's name where the tenant knows it, else its code
    product_code: str = ""
    license_label: str = ""
    warnings: list[str] = field(default_factory=list)
    outcome: str = ""  # activated, deactivated, failed, invalid (cannot be sent: never sent)
    code: str = ""
    message: str = ""
    reference: str = ""
    result_token: str = ""
    license_file: bytes = b""
    retry_after: int | None = None


def describe_file(*, tenant: Tenant, filename: str, data: bytes) -> Entry:
    """What a file holds, read here without sending anything (relay.inspection, as the
    upload page's check step); a file that cannot be sent comes back with outcome "invalid"
    and the reason in words."""
    inspection = inspect_upload(tenant=tenant, data=data, filename=filename)
    entry = Entry(
        filename,
        kind=inspection.kind if inspection.can_send else "",
        computer=inspection.computer or _hardware_label(inspection.request_file),
        product=inspection.product,
        product_code=inspection.request_file.product if inspection.request_file else "",
        license_label=inspection.license_label,
        warnings=list(inspection.warnings),
    )
    if inspection.can_send:
        return entry
    entry.outcome = "invalid"
    if inspection.error is not None:
        entry.code, entry.message = inspection.error.code, str(inspection.error.message)
    elif inspection.kind == "license":
        entry.code = "license_file"
        entry.message = gettext(
            "This is a license file, not a request file: it goes to the offline computer."
        )
    else:  # made for another vendor: its warning says so
        entry.code, entry.message = "wrong_vendor", " ".join(entry.warnings)
        entry.warnings = []
    return entry


def relay_file(*, tenant: Tenant, entry: Entry, data: bytes) -> Entry:
    """Relay one file and fill in its outcome (the entry is changed and returned)."""
    try:
        result = relay_request(tenant=tenant, data=data, filename=entry.filename)
    except RelayError as error:
        return refuse(entry, error)
    if result.kind == "activation":
        entry.outcome, entry.license_file = "activated", bytes(result.license_file)
    else:
        entry.outcome = "deactivated"
    entry.code, entry.message, entry.result_token = "", "", result.token
    # The answer names the product: the same name whichever file of the batch finished first.
    entry.product = _named_product(result.summary, entry.product_code) or entry.product
    return entry


def _named_product(summary: dict, product_code: str) -> str:
    return product_name_in(summary, product_code) or summary.get("product_name") or ""


def relay_files(*, tenant: Tenant, client: str, files: list[tuple[str, bytes]]) -> list[Entry]:
    """Relay these (file name, content) pairs now, PORTAL_BATCH_CONCURRENCY at a time, each
    counted by the rate limiter as one upload; their entries, in the files' order. A file
    over the rate limit is not sent: its entry has the seconds to wait before sending again."""
    relay = partial(_relay_now, tenant, client, translation.get_language())
    if connection.in_atomic_block:
        # The caller's open transaction holds rows (and on SQLite the write lock) that other
        # threads cannot use before it commits: relay one file after the other, here.
        return [relay(named_file) for named_file in files]

    def relay_in_pool(named_file: tuple[str, bytes]) -> Entry:
        try:
            return relay(named_file)
        finally:
            connection.close()  # this pool thread's own

    workers = min(settings.PORTAL_BATCH_CONCURRENCY, len(files)) or 1
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="relay-files") as pool:
        return list(pool.map(relay_in_pool, files))


def _relay_now(tenant: Tenant, client: str, language: str, named_file: tuple[str, bytes]) -> Entry:
    filename, data = named_file
    with translation.override(language):
        entry = describe_file(tenant=tenant, filename=filename, data=data)
        if entry.outcome == "invalid":
            return entry
        try:
            enforce_client_rate_limit(client, tenant_slug=tenant.slug)
        except RelayError as error:
            return refuse(entry, error)
        return relay_file(tenant=tenant, entry=entry, data=data)


def refuse(entry: Entry, error: RelayError) -> Entry:
    entry.outcome, entry.code, entry.message = "failed", error.code, str(error.message)
    entry.reference, entry.retry_after = error.reference or "", error.retry_after
    return entry


def outcome_label(outcome: str) -> str:
    """The outcome in words, for summary.csv and the machine endpoint (the table has its own)."""
    labels = {
        "activated": gettext("License file ready"),
        "deactivated": gettext("Computer deactivated"),
        "failed": gettext("Not completed"),
        "invalid": gettext("Not sent"),
    }
    return labels.get(outcome, gettext("Waiting"))


def _hardware_label(request_file: RequestFile | None) -> str:
    """A computer without a host name in its file, by the start of its hardware id."""
    return request_file.hardware_id[:16] if request_file else ""
