"""What an uploaded file holds, told before anything is sent upstream (issue 24).

The upload page's check step and the batch list both show an Inspection: the request file
read by the one parser (portal.licensespring.request_files), what this tenant knows about its
product, and warnings in plain words. Nothing here calls the License API or claims a result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from portal.licensespring.license_files import LicenseFile
from portal.licensespring.request_files import RequestFile, RequestFileError, read_request_file
from portal.relay import store
from portal.relay.errors import RelayError, describe_request_file_error
from portal.relay.models import RelayResult
from portal.relay.services import check_allowed
from portal.tenants.resolution import Tenant

InspectionKind = Literal["activation", "deactivation", "license", "invalid"]

PASTED_TEXT = "pasted text"
# Offline files travel for days; past a week the user likely holds an older one by mistake.
_OLD_AFTER = timedelta(days=7)
# Some slack for a computer's clock; an hour ahead is a clock set wrong.
_FUTURE_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class Inspection:
    filename: str
    kind: InspectionKind
    request_file: RequestFile | None = field(default=None, repr=False)
    error: RelayError | None = None
    product: str = ""
    license_label: str = ""  # the key masked but for its last four, or the user's e-mail
    computer: str = ""
    os: str = ""
    sdk: str = ""
    request_date: datetime | None = None
    sync_summary: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    previous_result_url: str | None = None
    license_file: LicenseFile | None = None
    valid_until: datetime | None = None
    # Refused here before any upstream call (another vendor's file): no button to send it.
    other_vendor: bool = False

    @property
    def can_send(self) -> bool:
        return self.kind in ("activation", "deactivation") and not self.other_vendor


def inspect_upload(*, tenant: Tenant, data: bytes | str, filename: str) -> Inspection:
    """Read an upload (file bytes or pasted text) for `tenant`; never raises for a bad file."""
    if not data and not filename:
        return Inspection(filename="", kind="invalid", error=nothing_chosen())
    try:
        request_file = read_request_file(data)
    except RequestFileError as error:
        if error.license_file is not None:
            return _inspect_license_file(tenant, filename, error.license_file)
        return Inspection(filename=filename, kind="invalid", error=_as_relay_error(error))
    return _inspect_request_file(tenant, filename, request_file)


def _inspect_request_file(tenant: Tenant, filename: str, request_file: RequestFile) -> Inspection:
    request_date = parse_file_date(request_file.request_date)
    warnings = _date_warnings(request_date)
    other_vendor = False
    try:
        check_allowed(tenant, request_file)
    except RelayError as refusal:
        if refusal.code != "wrong_vendor":
            return Inspection(filename=filename, kind="invalid", error=refusal)
        other_vendor = True
        warnings.append(refusal.message)
    previous = store.find_kept_result(tenant_slug=tenant.slug, request_file=request_file)
    if previous is not None:
        warnings.append(gettext("This request file was already sent from this portal."))
    return Inspection(
        filename=filename,
        kind=request_file.kind,
        request_file=request_file,
        product=_product_label(tenant, request_file.product),
        license_label=_license_label(request_file.license_key, request_file.username),
        computer=request_file.device.hostname,
        os=request_file.device.os_ver,
        sdk=_sdk_label(request_file),
        request_date=request_date,
        sync_summary=_sync_summary(request_file),
        warnings=tuple(warnings),
        previous_result_url=_result_url(previous),
        other_vendor=other_vendor,
    )


def parse_file_date(text: str) -> datetime | None:
    """A request's or license's date in the forms the SDKs and the API write: RFC 7231
    (Python SDK, documented files), JavaScript's Date text (Node SDK), ISO 8601 (the API)."""
    text = text.split(" (")[0].strip()  # JavaScript may add "(Coordinated Universal Time)"
    for parse in (
        parsedate_to_datetime,
        lambda value: datetime.strptime(value, "%a %b %d %Y %H:%M:%S GMT%z"),
        lambda value: datetime.fromisoformat(value),
    ):
        try:
            moment = parse(text)
        except (TypeError, ValueError, IndexError):
            continue
        if timezone.is_aware(moment):
            return moment
    return None


def _inspect_license_file(tenant: Tenant, filename: str, license_file: LicenseFile) -> Inspection:
    computer = store.find_hostname(tenant_slug=tenant.slug, hardware_id=license_file.hardware_id)
    return Inspection(
        filename=filename,
        kind="license",
        product=license_file.product_label,
        license_label=_license_label(license_file.license_key, license_file.user_email),
        computer=computer,
        license_file=license_file,
        valid_until=parse_file_date(license_file.valid_until),
    )


def nothing_chosen() -> RelayError:
    """The upload form sent with no file chosen and no text pasted."""
    return RelayError(
        400,
        "nothing_chosen",
        gettext(
            "Choose your request file first: drop it on the box above or choose it, or paste "
            "its text. Then check it again."
        ),
    )


def _as_relay_error(error: RequestFileError) -> RelayError:
    status = 413 if error.code == "too_large" else 400
    return RelayError(status, error.code, describe_request_file_error(error.code, error.message))


def _date_warnings(moment: datetime | None) -> list[str]:
    if moment is None:
        return []
    now = timezone.now()
    if moment < now - _OLD_AFTER:
        return [
            gettext(
                "This request file was made more than a week ago. If your software has saved "
                "a newer one since, upload that one instead."
            )
        ]
    if moment > now + _FUTURE_AFTER:
        return [
            gettext(
                "This request file is dated in the future: the clock of the computer that made "
                "it may be wrong. If the licensing service refuses it, correct that computer's "
                "date and time, then save the request file again."
            )
        ]
    return []


def _product_label(tenant: Tenant, product: str) -> str:
    return store.find_product_name(tenant_slug=tenant.slug, product=product) or product


def _license_label(license_key: str, username: str) -> str:
    if license_key:
        return f"…{license_key[-4:]}" if len(license_key) > 8 else "…"
    return username


def _sdk_label(request_file: RequestFile) -> str:
    device = request_file.device
    app = " ".join(part for part in (device.app_name, device.app_ver) if part)
    return " · ".join(part for part in (device.sdk_ver, app) if part)


def _sync_summary(request_file: RequestFile) -> tuple[str, ...]:
    if request_file.kind != "deactivation":
        return ()
    lines = []
    if request_file.consumptions is not None:
        uses = request_file.consumptions
        text = ngettext("%(uses)s use of the license", "%(uses)s uses of the license", uses)
        lines.append(text % {"uses": uses})
    for item in request_file.feature_consumptions:
        uses = item.local_consumption
        text = ngettext(
            "%(uses)s use of the feature %(code)s", "%(uses)s uses of the feature %(code)s", uses
        )
        lines.append(text % {"code": item.code, "uses": uses})
    for name, value in request_file.variables:
        lines.append(
            gettext("Device setting %(name)s = %(value)s") % {"name": name, "value": value}
        )
    return tuple(lines)


def _result_url(result: RelayResult | None) -> str | None:
    if result is None:
        return None
    return reverse("portal:result", kwargs={"token": result.token})
