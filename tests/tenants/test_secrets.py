"""Secrets at rest: encrypted under PORTAL_SECRETS_KEY, rotated newest-first."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.tenants.secrets import SecretUnreadable, decrypt_secret, encrypt_secret, rotate_secret


def test_encrypt_secret_round_trips_and_hides_the_plaintext():
    token = encrypt_secret("demo-shared-key")

    assert "demo-shared-key" not in token
    assert decrypt_secret(token) == "demo-shared-key"


def test_decrypt_secret_reads_a_token_made_under_an_older_key(settings):
    settings.PORTAL_SECRETS_KEYS = ["old-key"]
    token = encrypt_secret("s")
    settings.PORTAL_SECRETS_KEYS = ["new-key", "old-key"]

    assert decrypt_secret(token) == "s"


def test_rotate_secret_moves_a_token_to_the_newest_key(settings):
    settings.PORTAL_SECRETS_KEYS = ["old-key"]
    token = encrypt_secret("s")
    settings.PORTAL_SECRETS_KEYS = ["new-key", "old-key"]
    rotated = rotate_secret(token)
    settings.PORTAL_SECRETS_KEYS = ["new-key"]

    assert decrypt_secret(rotated) == "s"


def test_decrypt_secret_without_the_right_key_says_so(settings):
    settings.PORTAL_SECRETS_KEYS = ["one"]
    token = encrypt_secret("s")
    settings.PORTAL_SECRETS_KEYS = ["two"]

    with pytest.raises(SecretUnreadable):
        decrypt_secret(token)


def test_encrypt_secret_without_any_key_is_a_configuration_error(settings):
    settings.PORTAL_SECRETS_KEYS = []

    with pytest.raises(ImproperlyConfigured):
        encrypt_secret("s")
