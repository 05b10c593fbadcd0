"""What each relay leaves behind for the people who run and sell the software: one structured
log line, the Prometheus metrics, and the vendor console's activity row."""

from __future__ import annotations

import logging
import time

from portal.console.activity import record_activity
from portal.licensespring import client as license_api
from portal.licensespring.request_files import RequestFile
from portal.operations import metrics
from portal.relay.errors import RelayError
from portal.tenants.resolution import Tenant

logger = logging.getLogger("portal.relay")


def report_relay(
    tenant: Tenant,
    request_file: RequestFile | None,
    reference: str,
    started: float,
    *,
    outcome: str = "",
    endpoint: str | None = None,
    upstream: license_api.UpstreamResponse | None = None,
    error: license_api.LicenseApiError | None = None,
    relay_error: RelayError | None = None,
) -> None:
    """One structured log line (JSON, see portal/logging.py) and the metrics of each relay.
    `status` and `code` are what the user got, `upstream_*` what the License API said. Never
    a key, a password or a whole license key: the license key shows its last four only."""
    answer = error or upstream
    line = {
        "event": "relay",
        "reference": reference,
        "tenant": tenant.slug,
        "kind": request_file.kind if request_file else None,
        "product": request_file.product if request_file else None,
        "license": _describe_license(request_file),
        "endpoint": endpoint,
        "outcome": outcome or ("error" if error else "ok"),
        "status": relay_error.status if relay_error else 200,
        "code": relay_error.code if relay_error else None,
        "upstream_status": error.status if error else (upstream.status if upstream else None),
        "upstream_code": error.code if error else None,
        "upstream_ms": round(answer.elapsed_ms, 1) if answer else None,
        "token_ms": answer.token_ms if answer else None,
        "total_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    logger.info("relay %s %s", line["outcome"], reference, extra=line)
    metrics.record_relay(
        tenant=tenant.slug,
        kind=line["kind"],
        outcome=line["outcome"],
        code=line["code"],
        endpoint=endpoint,
        upstream_ms=line["upstream_ms"],
        total_ms=line["total_ms"],
        token_ms=line["token_ms"],
    )
    record_activity(tenant.pk, request_file, line)  # the vendor's console; never raises


def _describe_license(request_file: RequestFile | None) -> str | None:
    if request_file is None:
        return None
    return _mask(request_file.license_key) if request_file.license_key else "user"


def _mask(license_key: str) -> str:
    return f"***{license_key[-4:]}" if len(license_key) > 8 else "***"
