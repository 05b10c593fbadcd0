"""The License API's business rules for offline activation and deactivation.

Each operation runs in one transaction and locks the license rows it counts seats on, so that
concurrent activations cannot exceed `max_activations`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.db.models import F

from sandbox.errors import ApiError
from sandbox.models import Device, Feature, License, Product, UsageSync
from sandbox.request_files import RequestFile


@dataclass(frozen=True)
class Activation:
    license: License
    device: Device


def activate_offline(request_file: RequestFile, *, bundle: bool, now: datetime) -> list[Activation]:
    """Bind the file's hardware id to the license (one seat per product of a bundle)."""
    with transaction.atomic():
        product = _find_product(request_file, bundle=bundle)
        license = _find_license(product, request_file, need_password=True)
        _check_usable(license, now)
        seat_licenses = _lock_seat_licenses(license)
        return [
            Activation(seat_license, _take_seat(seat_license, request_file, now))
            for seat_license in seat_licenses
        ]


def deactivate_offline(request_file: RequestFile, *, bundle: bool, now: datetime) -> None:
    """Free the device's seat(s) and keep the usage that the file carried."""
    with transaction.atomic():
        product = _find_product(request_file, bundle=bundle)
        license = _find_license(product, request_file, need_password=False)
        seat_licenses = _lock_seat_licenses(license)
        devices = [
            device
            for seat_license in seat_licenses
            for device in seat_license.devices.filter(
                hardware_id=request_file.hardware_id, active=True
            )
        ]
        if not devices:
            raise ApiError("device_not_found", "an active device matching hardware_id not found")
        for device in devices:
            _free_seat(device, request_file, now)
        _sync_usage(license, devices[0] if not bundle else None, request_file)


def _find_product(request_file: RequestFile, *, bundle: bool) -> Product:
    # On the bundle endpoints a file may name its bundle in bundle_code and a product in it.
    code = (request_file.text("bundle_code") or request_file.product) if bundle else None
    product = Product.objects.filter(short_code=code or request_file.product).first()
    if product is None or (product.is_bundle and not bundle):
        raise ApiError("unknown_product", "provided product was not found")
    if bundle and not product.is_bundle:
        raise ApiError("product_not_bundle", "provided product is not a bundle")
    return product


def _find_license(product: Product, request_file: RequestFile, *, need_password: bool) -> License:
    licenses = License.objects.filter(product=product, bundle_license__isnull=True)
    key = request_file.text("license_key")
    if key:
        license = licenses.filter(license_key=key).first()
    else:
        license = licenses.filter(user_email__iexact=request_file.text("username")).first()
        password = request_file.text("password")
        # Wrong or missing password reads the same as an unknown user: nothing to probe.
        if license and need_password and not check_password(password, license.user_password):
            license = None
    if license is None:
        raise ApiError("license_not_found", "license not found")
    return license


def _check_usable(license: License, now: datetime) -> None:
    if not license.enabled:
        raise ApiError("license_not_enabled", "license is not enabled")
    expired = license.validity_period is not None and license.validity_period < now
    if license.is_trial and expired:
        raise ApiError("trial_expired", "trial period for device has expired")
    if license.license_type in ("time-limited", "subscription") and expired:
        raise ApiError("license_not_active", "license is not active")


def _lock_seat_licenses(license: License) -> list[License]:
    """The licenses that hold seats, locked: the license itself, then a bundle's sublicenses.

    A bundle's own license comes first and holds a seat of its own, because the SDKs load a
    bundle answer only when its first license is the bundle's (Python SDK 4, BundleManager).
    """
    License.objects.select_for_update().filter(pk=license.pk).get()
    sublicenses = (
        License.objects.select_for_update()
        .filter(bundle_license=license)
        .select_related("product")
        .order_by("pk")
    )
    return [license, *sublicenses]


def _take_seat(license: License, request_file: RequestFile, now: datetime) -> Device:
    device, _ = Device.objects.get_or_create(license=license, hardware_id=request_file.hardware_id)
    if not device.active:
        seats_taken = license.devices.filter(active=True).count()
        if not license.allow_unlimited_activations and seats_taken >= license.max_activations:
            raise ApiError(
                "license_activated_max_times", "license is already activated max number of times"
            )
        device.active = True
        device.activated_at = now
        device.deactivated_at = None
    for name, value in request_file.device_info.items():
        if isinstance(value, str) and value:
            setattr(device, name, value[: Device._meta.get_field(name).max_length])
        elif isinstance(value, bool):
            setattr(device, name, value)
    device.variables = {**device.variables, **_variables(request_file)}
    device.save()
    return device


def _free_seat(device: Device, request_file: RequestFile, now: datetime) -> None:
    device.active = False
    device.deactivated_at = now
    device.variables = {**device.variables, **_variables(request_file)}
    device.save()
    License.objects.filter(pk=device.license_id).update(transfer_count=F("transfer_count") + 1)


def _sync_usage(license: License, device: Device | None, request_file: RequestFile) -> None:
    consumptions = request_file.fields.get("consumptions") or 0
    features = [
        {"code": item["code"], "local_consumption": item.get("local_consumption", 0)}
        for item in request_file.fields.get("product_features") or []
    ]
    UsageSync.objects.create(
        license=license,
        device=device,
        consumptions=consumptions,
        feature_consumptions=features,
        variables=_variables(request_file),
    )
    License.objects.filter(pk=license.pk).update(
        total_consumptions=F("total_consumptions") + consumptions
    )
    for item in features:
        Feature.objects.filter(license=license, code=item["code"]).update(
            total_consumptions=F("total_consumptions") + item["local_consumption"]
        )


def _variables(request_file: RequestFile) -> dict[str, str]:
    variables = request_file.fields.get("variables") or {}
    return {str(name): str(value) for name, value in variables.items()}
