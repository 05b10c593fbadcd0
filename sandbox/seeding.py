"""Loading a seed document (contract: "Sandbox seed") into the sandbox, idempotently.

Rows are matched by natural keys and updated in place, so running a seed twice leaves the same
rows. Unknown keys are ignored; missing optional values take defaults. Usage state (devices,
consumption totals) is never reset by a seed: `make run` reseeds on every start; the sandbox
page's reset button clears it.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils.dateparse import parse_date, parse_datetime

from sandbox.models import Credential, Device, Feature, License, OAuthClient, Product, UsageSync


class SeedError(ValueError):
    """A seed document that cannot be loaded; the message names the culprit."""


def seed_sandbox(document: dict[str, object]) -> dict[str, int]:
    """Load the document; return how many entries of each kind it held."""
    credentials = _entries(document, "credentials")
    products = _entries(document, "products")
    licenses = _entries(document, "licenses")
    oauth_clients = _entries(document, "oauth_clients")
    with transaction.atomic():
        for entry in credentials:
            _seed_credential(entry)
        for entry in products:
            _seed_product(entry)
        # Bundles may list products defined after them, so link once all exist.
        for entry in products:
            _link_bundle(entry)
        for entry in licenses:
            _seed_license(entry)
        for entry in oauth_clients:
            _seed_oauth_client(entry)
    return {
        "credentials": len(credentials),
        "products": len(products),
        "licenses": len(licenses),
        "oauth_clients": len(oauth_clients),
    }


def reset_sandbox() -> None:
    """Back to the state a seed leaves: every seat free, no usage synced, no transfers."""
    with transaction.atomic():
        UsageSync.objects.all().delete()
        Device.objects.all().delete()
        License.objects.update(total_consumptions=0, transfer_count=0)
        Feature.objects.update(total_consumptions=0)


def _entries(document: dict[str, object], name: str) -> list[dict[str, object]]:
    entries = document.get(name) or []
    if not isinstance(entries, list) or not all(isinstance(item, dict) for item in entries):
        raise SeedError(f"{name} must be a list of objects")
    return entries


def _seed_credential(entry: dict[str, object]) -> None:
    api_key, shared_key = _text(entry, "api_key"), _text(entry, "shared_key")
    if not api_key or not shared_key:
        raise SeedError("a credential needs api_key and shared_key")
    Credential.objects.update_or_create(api_key=api_key, defaults={"shared_key": shared_key})


def _seed_oauth_client(entry: dict[str, object]) -> None:
    """A client; one that names a license (`product` and `license_key` or `user.email`,
    as licenses are named) reaches that license only."""
    client_id, client_secret = _text(entry, "client_id"), _text(entry, "client_secret")
    if not client_id or not client_secret:
        raise SeedError("an OAuth client needs client_id and client_secret")
    license = None
    if entry.get("product") is not None:
        licenses = License.objects.filter(product=_product(entry["product"]), bundle_license=None)
        license = licenses.filter(**_license_lookup(entry)).first()
        if license is None:
            raise SeedError(f"OAuth client {client_id}: no such license")
    OAuthClient.objects.update_or_create(
        client_id=client_id, defaults={"client_secret": client_secret, "license": license}
    )


def _seed_product(entry: dict[str, object]) -> None:
    short_code = _text(entry, "short_code")
    if not short_code:
        raise SeedError("a product needs a short_code")
    method = _text(entry, "authorization_method") or "license-key"
    if method not in dict(Product.AUTHORIZATION_METHODS):
        raise SeedError(f"product {short_code}: unknown authorization_method {method!r}")
    defaults = {
        "name": _text(entry, "name") or short_code,
        "authorization_method": method,
        "is_bundle": bool(entry.get("bundle")),
        "prevent_vm": bool(entry.get("prevent_vm", False)),
        "trial_days": _number(entry, "trial_days", 0),
        "allow_overages": bool(entry.get("allow_overages", False)),
        "max_overages": _number(entry, "max_overages", 0),
        "floating_timeout": _number(entry, "floating_timeout", 120),
    }
    Product.objects.update_or_create(short_code=short_code, defaults=defaults)


def _link_bundle(entry: dict[str, object]) -> None:
    codes = entry.get("bundle") or []
    if not isinstance(codes, list):
        raise SeedError(f"product {entry['short_code']}: bundle must list short codes")
    bundle = Product.objects.get(short_code=entry["short_code"])
    bundle.bundle_products.set([_product(code) for code in codes])


def _seed_license(entry: dict[str, object]) -> None:
    product = _product(entry.get("product"))
    lookup = _license_lookup(entry)
    defaults = _license_values(entry)
    license, _ = License.objects.update_or_create(
        product=product, **lookup, defaults={**defaults, "bundle_license": None}
    )
    _set_password(license, entry)
    _seed_features(license, entry)
    # A bundle license grants every product of the bundle: one sublicense each holds seats.
    for member in product.bundle_products.all():
        sublicense, _ = License.objects.update_or_create(
            product=member,
            **lookup,
            defaults={
                **defaults,
                "bundle_license": license,
                "user_password": license.user_password,
            },
        )
        _seed_features(sublicense, entry)


def _license_lookup(entry: dict[str, object]) -> dict[str, str]:
    key = _text(entry, "license_key")
    user = entry.get("user") if isinstance(entry.get("user"), dict) else {}
    if key:
        return {"license_key": key}
    if _text(user, "email"):
        return {"user_email": _text(user, "email")}
    raise SeedError(f"a license of {entry.get('product')} needs license_key or user.email")


def _license_values(entry: dict[str, object]) -> dict[str, object]:
    license_type = _text(entry, "license_type") or "perpetual"
    if license_type not in dict(License.LICENSE_TYPES):
        raise SeedError(f"unknown license_type {license_type!r}")
    user = entry.get("user") if isinstance(entry.get("user"), dict) else {}
    customer = entry.get("customer") if isinstance(entry.get("customer"), dict) else {}
    return {
        "license_type": license_type,
        "validity_period": _moment(entry.get("validity_period")),
        "is_trial": bool(entry.get("is_trial", False)),
        "enabled": bool(entry.get("enabled", True)),
        "max_activations": _number(entry, "max_activations", 1),
        "allow_unlimited_activations": bool(entry.get("allow_unlimited_activations", False)),
        "max_consumptions": _number(entry, "max_consumptions", 0),
        "allow_overages": bool(entry.get("allow_overages", False)),
        "max_overages": _number(entry, "max_overages", 0),
        "prevent_vm": bool(entry.get("prevent_vm", False)),
        "user_first_name": _text(user, "first_name"),
        "user_last_name": _text(user, "last_name"),
        "customer_email": _text(customer, "email") or _text(user, "email"),
        "customer_first_name": _text(customer, "first_name"),
        "customer_last_name": _text(customer, "last_name"),
        "customer_company_name": _text(customer, "company_name"),
        "customer_phone": _text(customer, "phone"),
        "customer_reference": _text(customer, "reference"),
    }


def _set_password(license: License, entry: dict[str, object]) -> None:
    user = entry.get("user") if isinstance(entry.get("user"), dict) else {}
    password = _text(user, "password")
    # Rehash only on a change, so a reseed leaves the row as it was.
    if password and not check_password(password, license.user_password):
        license.user_password = make_password(password)
        license.save(update_fields=["user_password"])


def _seed_features(license: License, entry: dict[str, object]) -> None:
    for feature in _entries(entry, "features"):
        code = _text(feature, "code")
        if not code:
            raise SeedError(f"a feature of {license} needs a code")
        feature_type = _text(feature, "feature_type") or "activation"
        if feature_type not in dict(Feature.FEATURE_TYPES):
            raise SeedError(f"feature {code}: unknown feature_type {feature_type!r}")
        defaults = {
            "name": _text(feature, "name") or code,
            "feature_type": feature_type,
            "max_consumption": _number(feature, "max_consumption", 0),
        }
        Feature.objects.update_or_create(license=license, code=code, defaults=defaults)


def _product(code: object) -> Product:
    product = Product.objects.filter(short_code=code).first() if isinstance(code, str) else None
    if product is None:
        raise SeedError(f"unknown product {code!r}")
    return product


def _text(entry: dict[str, object], name: str) -> str:
    value = entry.get(name)
    return value.strip() if isinstance(value, str) else ""


def _number(entry: dict[str, object], name: str, default: int) -> int:
    value = entry.get(name, default)
    if value is None:
        return default
    if type(value) is not int or value < 0:
        raise SeedError(f"{name} must be a whole number, not {value!r}")
    return value


def _moment(value: object) -> datetime | None:
    """An ISO 8601 date-time (UTC when no offset) or date (midnight UTC), or None."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise SeedError(f"not a date: {value!r}")
    try:
        moment = parse_datetime(value)
        if moment is None and (day := parse_date(value)):
            moment = datetime.combine(day, time.min)
    except ValueError:
        moment = None
    if moment is None:
        raise SeedError(f"not a date: {value!r}")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
