"""The sandbox's page at /sandbox/: demo keys, users and the seats they hold (sandbox/views.py)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client
from django.urls import clear_url_caches

import offline_portal.urls
from tests.factories import post_file, read_vector, seed_demo


@pytest.fixture(scope="module")
def key_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sandbox") / "sandbox_key.pem"


@pytest.fixture
def demo(settings: object, key_path: Path, db: None) -> None:
    seed_demo(settings, key_path)


def test_sandbox_page_lists_api_keys_licenses_and_users(client: Client, demo: None) -> None:
    response = client.get("/sandbox/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "3f0b1b7e-5c1a-4d2e-9a77-0c1d2e3f4a5b" in page
    for identity in ("FUH3-4E7A-LZJL-7JTP", "alice@example.com", "SUIT-0000-0000-0001"):
        assert identity in page
    assert "demo-shared-key-0123456789abcdef" not in page
    assert "s3cret-Pa55" not in page


def test_sandbox_page_has_no_inline_script_or_style(client: Client, demo: None) -> None:
    page = client.get("/sandbox/").content.decode()
    content = page[page.index('<main id="main"') :]

    assert "<script" not in content
    assert "style=" not in content
    assert '<th scope="col">' in content


def test_sandbox_page_shows_a_seat_taken_and_freed(client: Client, demo: None) -> None:
    post_file(client, "activate_offline", read_vector("py_activate_key.req"))
    taken = client.get("/sandbox/").content.decode()

    post_file(client, "deactivate_offline", read_vector("py_deactivate_key_consumption.req"))
    freed = client.get("/sandbox/").content.decode()

    assert "lab-pc-01" in taken
    assert "lab-pc-01" not in freed
    assert "3 of 100 consumptions" in freed


def test_sandbox_page_offers_a_sample_file_form_with_labels(client: Client, demo: None) -> None:
    page = client.get("/sandbox/").content.decode()

    assert "Make a sample request file" in page
    assert 'action="/sandbox/sample-file"' in page
    assert "csrfmiddlewaretoken" in page
    for field in ("license", "password", "computer_name", "consumptions", "feature_code"):
        assert f'for="id_{field}"' in page
    assert "<legend>Request type</legend>" in page
    assert 'href="/sandbox/reset"' in page


def test_upload_page_links_to_the_sample_file_form(client: Client, demo: None) -> None:
    page = client.get("/").content.decode()

    assert "No request file?" in page
    assert '<a href="/sandbox/#sample-file">Make a sample one</a>' in page


@pytest.fixture
def sandbox_off(settings: object) -> Iterator[None]:
    """The portal's URLs as a start with SANDBOX_ENABLED off builds them."""
    enabled = settings.SANDBOX_ENABLED
    settings.SANDBOX_ENABLED = False
    importlib.reload(offline_portal.urls)
    clear_url_caches()
    yield
    settings.SANDBOX_ENABLED = enabled
    importlib.reload(offline_portal.urls)
    clear_url_caches()


@pytest.mark.parametrize("path", ["/sandbox/", "/sandbox/sample-file", "/sandbox/reset"])
def test_sandbox_pages_do_not_exist_when_the_sandbox_is_off(
    client: Client, demo: None, sandbox_off: None, path: str
) -> None:
    assert client.get(path).status_code == 404
    assert client.post(path).status_code == 404


def test_upload_page_has_no_sample_link_when_the_sandbox_is_off(
    client: Client, demo: None, sandbox_off: None
) -> None:
    page = client.get("/").content.decode()

    assert "No request file?" not in page
    assert "/sandbox/" not in page
