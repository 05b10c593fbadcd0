"""The sandbox's response signatures, checked as the SDKs check them (protocol spec, section 4),
and its RSA key file (sandbox/signing.py, sandbox/license_objects.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from django.test import Client

from sandbox import signing
from tests.factories import (
    API_KEY,
    SHARED_KEY,
    fetch_public_key,
    hmac_b64,
    make_request_file,
    post_file,
    read_vector,
    signed_v2_text,
    verify,
)


def test_public_key_is_served_as_pem(client: Client, demo: None) -> None:
    response = client.get("/sandbox/public-key.pem")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-pem-file"
    assert response.content.startswith(b"-----BEGIN PUBLIC KEY-----")


def test_license_signature_verifies_with_the_public_key(client: Client, demo: None) -> None:
    body = post_file(client, "activate_offline", read_vector("py_activate_key.req")).json()
    message = f"{body['hardware_id']}#FUH3-4E7A-LZJL-7JTP#".lower().encode()

    verify(fetch_public_key(client), body["license_signature"], message)


def test_license_signature_covers_username_and_validity(client: Client, demo: None) -> None:
    body = post_file(client, "activate_offline", read_vector("py_activate_user.req")).json()
    hardware_id = "0035969ec53f6e7f0fb40f08cc9ed4783aa99c2000cf1ebe4187c10dd0d8370f"
    message = f"{hardware_id}#alice@example.com#2030-01-01T00:00:00.000Z".lower().encode()

    verify(fetch_public_key(client), body["license_signature"], message)


@pytest.mark.parametrize("vector", ["py_activate_key.req", "py_activate_user.req"])
def test_license_signature_v2_verifies_over_the_body_without_signatures(
    client: Client, demo: None, vector: str
) -> None:
    response = post_file(client, "activate_offline", read_vector(vector))

    signature = response.json()["license_signature_v2"]
    verify(fetch_public_key(client), signature, signed_v2_text(response.content))


def test_license_signature_v2_fails_for_a_changed_body(client: Client, demo: None) -> None:
    response = post_file(client, "activate_offline", read_vector("py_activate_key.req"))
    tampered = response.content.replace(b'"max_activations":3', b'"max_activations":30')

    with pytest.raises(InvalidSignature):
        verify(
            fetch_public_key(client),
            response.json()["license_signature_v2"],
            signed_v2_text(tampered),
        )


def test_offline_signature_is_the_request_hmac_with_the_response_date(
    client: Client, demo: None
) -> None:
    body = post_file(client, "activate_offline", read_vector("node_activate_key.req")).json()

    message = (
        f"licenseSpring\ndate: {body['date']}\nFUH3-4E7A-LZJL-7JTP\nnode-hwid-7f3a9c\n{API_KEY}"
    )
    assert body["offline_signature"] == hmac_b64(SHARED_KEY, message)


def test_bundle_signature_v2_verifies_over_the_licenses_list(client: Client, demo: None) -> None:
    text = make_request_file(product="SUITE", license_key="SUIT-0000-0000-0001")
    body = post_file(client, "activate_bundle_offline", text).json()

    licenses_text = json.dumps(body["licenses"], separators=(",", ":")).encode()
    verify(fetch_public_key(client), body["bundle_signature_v2"], licenses_text)
    assert body["licenses"][0]["product_details"]["short_code"] == "SUITE"


def test_bundle_licenses_carry_their_own_signatures(client: Client, demo: None) -> None:
    text = make_request_file(
        product="SUITE", license_key="SUIT-0000-0000-0001", hardware_id="suite-hw"
    )
    body = post_file(client, "activate_bundle_offline", text).json()

    key = fetch_public_key(client)
    for item in body["licenses"]:
        verify(key, item["license_signature"], b"suite-hw#suit-0000-0000-0001#")
        verify(key, item["license_signature_v2"], signed_v2_text(json.dumps(item).encode()))


def test_private_key_is_made_on_first_use_and_kept_across_restarts(
    settings: object, tmp_path: Path
) -> None:
    settings.SANDBOX_KEY_PATH = tmp_path / "keys" / "sandbox.pem"

    first = signing.public_key_pem()

    assert settings.SANDBOX_KEY_PATH.exists()
    assert oct(settings.SANDBOX_KEY_PATH.stat().st_mode & 0o777) == "0o600"
    restarted = _KeyReader(settings.SANDBOX_KEY_PATH)
    restarted.go()
    assert restarted.key() == first


def test_workers_making_the_key_at_once_all_sign_with_one(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "sandbox.pem"
    workers = [_KeyReader(path) for _ in range(4)]
    assert not path.exists()
    for worker in workers:
        worker.go()  # each finds no key file and makes one of its own, at the same moment

    keys = {worker.key() for worker in workers}

    assert len(keys) == 1
    assert serialization.load_pem_public_key(keys.pop())
    assert os.listdir(path.parent) == ["sandbox.pem"]  # no half-written key left behind


REPO = Path(__file__).resolve().parents[2]
_READER = """
import sys
from sandbox import signing
print("ready", flush=True)
sys.stdin.readline()
sys.stdout.buffer.write(signing.public_key_pem())
"""


class _KeyReader:
    """A new Python process (a restarted portal, or one of several workers) with
    SANDBOX_KEY_PATH set to `path`, ready to ask the sandbox for its public key on go()."""

    def __init__(self, path: Path) -> None:
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "offline_portal.settings",
            "PORTAL_DEV_DEFAULTS": "true",
            "SANDBOX_KEY_PATH": str(path),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-c", _READER],
            cwd=REPO,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.process.stdout.readline() == b"ready\n", self.process.stderr.read()

    def go(self) -> None:
        self.process.stdin.write(b"go\n")
        self.process.stdin.flush()

    def key(self) -> bytes:
        output, errors = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, errors.decode(errors="replace")
        return output
