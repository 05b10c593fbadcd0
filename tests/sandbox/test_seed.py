"""`python manage.py sandbox_seed FILE.json` (sandbox/seeding.py, the management command)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.core.management.base import CommandError

from sandbox.models import Credential, Device, Feature, License, Product
from tests.factories import DEMO_SEED

pytestmark = pytest.mark.django_db

MODELS = (Credential, Product, License, Feature)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: object) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(document: dict | Path, tmp_path: Path) -> str:
    if isinstance(document, dict):
        path = tmp_path / "seed.json"
        path.write_text(json.dumps(document), encoding="utf-8")
    else:
        path = document
    out = io.StringIO()
    call_command("sandbox_seed", str(path), stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def test_sandbox_seed_loads_the_demo(tmp_path: Path) -> None:
    output = seed(DEMO_SEED, tmp_path)

    assert "1 credentials, 3 products, 7 licenses" in output
    assert Credential.objects.get().shared_key == "demo-shared-key-0123456789abcdef"
    assert set(
        Product.objects.get(short_code="SUITE").bundle_products.values_list("short_code", flat=True)
    ) == {"TP", "TPU"}
    license = License.objects.get(product__short_code="TP", license_key="FUH3-4E7A-LZJL-7JTP")
    assert (license.max_activations, license.max_consumptions) == (3, 100)


def test_sandbox_seed_is_idempotent(tmp_path: Path) -> None:
    seed(DEMO_SEED, tmp_path)
    first = counts()
    password_hash = License.objects.get(user_email="alice@example.com").user_password

    seed(DEMO_SEED, tmp_path)

    assert counts() == first
    assert License.objects.get(user_email="alice@example.com").user_password == password_hash


def test_sandbox_seed_updates_values_in_place(tmp_path: Path) -> None:
    document = {
        "products": [{"short_code": "TP"}],
        "licenses": [{"product": "TP", "license_key": "K-1", "max_activations": 1}],
    }
    seed(document, tmp_path)
    document["licenses"][0]["max_activations"] = 5

    seed(document, tmp_path)

    assert License.objects.get(license_key="K-1").max_activations == 5
    assert License.objects.count() == 1


def test_sandbox_seed_ignores_unknown_keys_and_fills_defaults(tmp_path: Path) -> None:
    document = {
        "comment": "anything",
        "products": [{"short_code": "TP", "colour": "blue"}],
        "licenses": [{"product": "TP", "license_key": "K-1", "shoe_size": 44}],
    }

    seed(document, tmp_path)

    product = Product.objects.get()
    license = License.objects.get()
    assert (product.name, product.authorization_method) == ("TP", "license-key")
    assert (license.license_type, license.max_activations, license.enabled) == (
        "perpetual",
        1,
        True,
    )


def test_sandbox_seed_stores_passwords_hashed(tmp_path: Path) -> None:
    seed(DEMO_SEED, tmp_path)

    license = License.objects.get(user_email="alice@example.com")
    assert "s3cret-Pa55" not in license.user_password
    assert check_password("s3cret-Pa55", license.user_password)


def test_sandbox_seed_makes_a_sublicense_per_bundle_product(tmp_path: Path) -> None:
    seed(DEMO_SEED, tmp_path)

    bundle = License.objects.get(product__short_code="SUITE")
    assert sorted(bundle.sublicenses.values_list("product__short_code", flat=True)) == [
        "TP",
        "TPU",
    ]
    assert set(bundle.sublicenses.values_list("license_key", flat=True)) == {"SUIT-0000-0000-0001"}


def test_sandbox_seed_keeps_usage_state(tmp_path: Path) -> None:
    seed(DEMO_SEED, tmp_path)
    license = License.objects.get(license_key="FUH3-4E7A-LZJL-7JTP")
    Device.objects.create(license=license, hardware_id="hw-1", active=True)
    License.objects.filter(pk=license.pk).update(total_consumptions=7)

    seed(DEMO_SEED, tmp_path)

    license.refresh_from_db()
    assert license.total_consumptions == 7
    assert license.devices.get().active


@pytest.mark.parametrize(
    "document",
    [
        {"licenses": [{"product": "NOPE", "license_key": "K-1"}]},
        {"products": [{"short_code": "TP"}], "licenses": [{"product": "TP"}]},
        {"products": [{"short_code": "TP", "authorization_method": "magic"}]},
        {
            "products": [{"short_code": "TP"}],
            "licenses": [{"product": "TP", "license_key": "K", "validity_period": "someday"}],
        },
        {"credentials": [{"api_key": "only-half"}]},
    ],
)
def test_sandbox_seed_refuses_a_broken_document(document: dict, tmp_path: Path) -> None:
    with pytest.raises(CommandError):
        seed(document, tmp_path)

    assert sum(counts().values()) == 0


def test_sandbox_seed_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError):
        seed(tmp_path / "missing.json", tmp_path)
