"""The sandbox's signatures: HMAC with a credential's shared key, RSA with the sandbox key.

The RSA key pair is made on first use and kept at settings.SANDBOX_KEY_PATH (outside git), so
license files stay verifiable across restarts and every worker process signs with one key.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import hmac
import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings


def hmac_b64(key: str, message: str) -> str:
    digest = hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def request_signature(
    shared_key: str, *, date: str, identity: str, hardware_id: str, client: str
) -> str:
    """The offline request signature (protocol spec section 3), also the `offline_signature`."""
    message = f"licenseSpring\ndate: {date}\n{identity}\n{hardware_id}\n{client}"
    return hmac_b64(shared_key, message)


def signatures_match(expected: str, given: object) -> bool:
    return isinstance(given, str) and hmac.compare_digest(expected.encode(), given.encode())


def rsa_sign_b64(message: bytes) -> str:
    """RSA-SHA256, PKCS#1 v1.5, base64: what the SDKs verify with the API's public key."""
    signature = private_key().sign(message, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def public_key_pem() -> bytes:
    return (
        private_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def private_key() -> rsa.RSAPrivateKey:
    return _load_or_create_key(str(settings.SANDBOX_KEY_PATH))


@functools.lru_cache(maxsize=8)
def _load_or_create_key(path_text: str) -> rsa.RSAPrivateKey:
    path = Path(path_text)
    if not path.exists():
        _create_key_file(path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError(f"{path} does not hold an RSA private key")
    return key


def _create_key_file(path: Path) -> None:
    """Write a new key so that concurrent workers end up sharing one.

    The key is written in full to a temporary file, then hard-linked into place: the link
    fails if another process got there first, and then that process's key is the one read.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".sandbox-key-")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        # Another process linked its key first: read that one instead.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
