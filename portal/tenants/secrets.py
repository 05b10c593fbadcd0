"""Secrets at rest (tenants' shared keys): Fernet tokens under keys from PORTAL_SECRETS_KEY.

PORTAL_SECRETS_KEY holds one or more comma-separated passphrases, newest first: the newest
encrypts, all of them decrypt, so a key can be rotated by putting the new one in front and
running `manage.py rotate_secrets` before the old one is dropped.

Request files kept for minutes while a user confirms them, or a batch runs, are encrypted the
same way (`encrypt_kept_file`), with one more key derived from SECRET_KEY: a portal that
stores no tenant credentials, and so has no PORTAL_SECRETS_KEY, still takes uploads.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadable(Exception):
    """A stored secret that none of the configured keys can decrypt."""


def encrypt_secret(plaintext: str) -> str:
    return _box().encrypt(plaintext.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        return _box().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("no key in PORTAL_SECRETS_KEY decrypts this secret") from None


def encrypt_kept_file(plaintext: str) -> str:
    return _kept_files_box().encrypt(plaintext.encode()).decode()


def decrypt_kept_file(token: str) -> str:
    try:
        return _kept_files_box().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("no key decrypts this kept file") from None


def rotate_secret(token: str) -> str:
    """The same secret, re-encrypted under the newest key."""
    try:
        return _box().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("no key in PORTAL_SECRETS_KEY decrypts this secret") from None


def _box() -> MultiFernet:
    passphrases = settings.PORTAL_SECRETS_KEYS
    if not passphrases:
        raise ImproperlyConfigured("Set PORTAL_SECRETS_KEY to store tenant credentials.")
    return MultiFernet([Fernet(_fernet_key(passphrase)) for passphrase in passphrases])


def _kept_files_box() -> MultiFernet:
    # PORTAL_SECRETS_KEY's keys first (the newest encrypts), then SECRET_KEY's: files kept before
    # the operator set PORTAL_SECRETS_KEY stay readable until they expire.
    passphrases = [*settings.PORTAL_SECRETS_KEYS, "kept request files:" + settings.SECRET_KEY]
    return MultiFernet([Fernet(_fernet_key(passphrase)) for passphrase in passphrases])


def _fernet_key(passphrase: str) -> bytes:
    # Any long random string works as a passphrase; Fernet wants 32 url-safe base64 bytes.
    return base64.urlsafe_b64encode(hashlib.sha256(passphrase.encode()).digest())
