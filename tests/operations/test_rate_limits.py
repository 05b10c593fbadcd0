"""The rate limit on uploads and the API, per client address and tenant, kept in the database."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import RequestFactory

from portal.operations import rate_limits
from portal.operations.models import RateLimitCounter
from portal.operations.rate_limits import (
    client_address,
    enforce_check_rate_limit,
    enforce_rate_limit,
)
from portal.relay.errors import RelayError
from tests.factories import LICENSE_BODY, read_vector

pytestmark = pytest.mark.django_db

NOW = 1_800_000_030.0  # 30 s into a 60 s window
API = "/api/v1/requests"


@pytest.fixture(autouse=True)
def _limit_of_two_a_minute(settings, monkeypatch) -> None:
    settings.PORTAL_RATE_LIMIT = 2
    settings.PORTAL_RATE_LIMIT_WINDOW = 60
    settings.PORTAL_TRUSTED_PROXY_COUNT = 0
    monkeypatch.setattr(rate_limits, "time", SimpleNamespace(time=lambda: NOW))


def _post_api(client, **extra: str):
    return client.post(API, data="nonsense", content_type="text/plain", **extra)


def _post_page(client, **extra: str):
    return client.post("/", {"request_text": "nonsense"}, **extra)


def _request(remote_addr: str = "203.0.113.7", forwarded: str = ""):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    return RequestFactory().post("/", REMOTE_ADDR=remote_addr, **extra)


def test_uploads_within_the_limit_are_answered(client):
    assert [_post_page(client).status_code for _ in range(2)] == [400, 400]


def test_upload_over_the_limit_gets_429_with_retry_after_and_a_plain_message(client):
    _post_page(client)
    _post_page(client)

    response = _post_page(client)

    html = response.content.decode()
    assert response.status_code == 429
    assert response["Retry-After"] == "30"
    assert "Too many requests from your network" in html
    assert "You can try again in 30 seconds" in html


def test_upload_over_the_limit_with_htmx_gets_the_error_panel(client):
    _post_page(client)
    _post_page(client)

    response = _post_page(client, HTTP_HX_REQUEST="true")

    assert response.status_code == 429
    assert response.content.decode().lstrip().startswith("<section")


def test_api_over_the_limit_gets_429_json_with_retry_after(client):
    _post_api(client)
    _post_api(client)

    response = _post_api(client)

    assert response.status_code == 429
    assert response["Retry-After"] == "30"
    assert response.json() == {
        "status": 429,
        "code": "rate_limited",
        "message": rate_limits.MESSAGE,
        "retryable": True,
    }


def test_page_and_api_share_one_budget(client):
    _post_page(client)
    _post_api(client)

    assert _post_api(client).status_code == 429


def test_refused_request_makes_no_upstream_call(client, upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    text = read_vector("py_activate_key.req")
    _post_api(client)
    _post_api(client)

    response = client.post(API, data=text, content_type="text/plain")

    assert response.status_code == 429
    assert upstream.requests == []


def test_each_client_address_has_its_own_budget(client):
    _post_api(client, REMOTE_ADDR="203.0.113.7")
    _post_api(client, REMOTE_ADDR="203.0.113.7")

    assert _post_api(client, REMOTE_ADDR="203.0.113.8").status_code == 400


def test_each_tenant_has_its_own_budget():
    request = _request()
    enforce_rate_limit(request, tenant_slug="acme")
    enforce_rate_limit(request, tenant_slug="acme")

    enforce_rate_limit(request, tenant_slug="globex")  # does not raise


def test_request_over_the_limit_raises_a_429_relay_error():
    request = _request()
    enforce_rate_limit(request, tenant_slug="acme")
    enforce_rate_limit(request, tenant_slug="acme")

    with pytest.raises(RelayError) as refusal:
        enforce_rate_limit(request, tenant_slug="acme")

    assert (refusal.value.status, refusal.value.code) == (429, "rate_limited")
    assert refusal.value.retry_after == 30


def test_next_window_starts_a_fresh_count(monkeypatch):
    request = _request()
    enforce_rate_limit(request, tenant_slug="acme")
    enforce_rate_limit(request, tenant_slug="acme")
    monkeypatch.setattr(rate_limits, "time", SimpleNamespace(time=lambda: NOW + 60))

    enforce_rate_limit(request, tenant_slug="acme")  # does not raise


def test_limit_of_zero_turns_the_limit_off(client, settings):
    settings.PORTAL_RATE_LIMIT = 0

    assert {_post_api(client).status_code for _ in range(5)} == {400}
    assert RateLimitCounter.objects.count() == 0


def test_finished_windows_are_purged_when_a_new_one_starts():
    RateLimitCounter.objects.create(
        bucket="acme|198.51.100.1|0", hits=9, expires_at=datetime(2020, 1, 1, tzinfo=UTC)
    )

    enforce_rate_limit(_request(), tenant_slug="acme")

    assert list(RateLimitCounter.objects.values_list("bucket", flat=True)) == [
        "acme|203.0.113.7|1800000000"
    ]


def test_the_window_just_ended_is_kept_until_a_window_later(monkeypatch):
    """A request counted in the last moment of a window reads its count back after the
    next window has begun: the new window's first hit must not delete that row under it."""
    just_ended = "acme|198.51.100.1|1799999940"
    RateLimitCounter.objects.create(
        bucket=just_ended, hits=3, expires_at=datetime.fromtimestamp(1_800_000_000, UTC)
    )

    enforce_rate_limit(_request(), tenant_slug="acme")
    kept = RateLimitCounter.objects.filter(bucket=just_ended).exists()
    monkeypatch.setattr(rate_limits, "time", SimpleNamespace(time=lambda: NOW + 60))
    enforce_rate_limit(_request(), tenant_slug="acme")

    assert kept
    assert not RateLimitCounter.objects.filter(bucket=just_ended).exists()


def test_counter_expires_at_the_end_of_its_window():
    enforce_rate_limit(_request(), tenant_slug="acme")

    counter = RateLimitCounter.objects.get()
    assert counter.expires_at == datetime.fromtimestamp(1_800_000_060, UTC)


def test_client_address_is_the_peer_address_by_default():
    assert client_address(_request("203.0.113.7", forwarded="198.51.100.9")) == "203.0.113.7"


def test_client_address_is_the_entry_the_trusted_proxy_added(settings):
    settings.PORTAL_TRUSTED_PROXY_COUNT = 1

    request = _request("10.0.0.2", forwarded="6.6.6.6, 198.51.100.9")

    assert client_address(request) == "198.51.100.9"


def test_client_address_behind_two_proxies_skips_the_inner_one(settings):
    settings.PORTAL_TRUSTED_PROXY_COUNT = 2

    request = _request("10.0.0.3", forwarded="6.6.6.6, 198.51.100.9, 10.0.0.2")

    assert client_address(request) == "198.51.100.9"


def test_client_address_is_the_peer_when_the_forwarded_chain_is_short(settings):
    settings.PORTAL_TRUSTED_PROXY_COUNT = 2

    assert client_address(_request("10.0.0.3", forwarded="198.51.100.9")) == "10.0.0.3"


def test_client_address_ignores_a_forwarded_entry_that_is_no_address(settings):
    settings.PORTAL_TRUSTED_PROXY_COUNT = 1

    assert client_address(_request("10.0.0.2", forwarded="not-an-ip")) == "10.0.0.2"


def test_ipv6_clients_count_by_their_64_network():
    request = _request("2001:db8:1:2:aaaa:bbbb:cccc:dddd")

    assert client_address(request) == "2001:db8:1:2::/64"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: concurrency")
def test_concurrent_requests_lose_no_count(settings):
    settings.PORTAL_RATE_LIMIT = 1000

    answered = _eight_clients_at_once(_request())

    assert answered.count(True) == 160
    assert RateLimitCounter.objects.get().hits == 160


def test_a_refused_batch_uses_none_of_the_budget(settings):
    """A batch over what is left of the window is refused whole, and the files that still fit
    may be checked: the refused ones were not counted."""
    settings.PORTAL_CHECK_RATE_LIMIT = 5
    request = _request()
    enforce_check_rate_limit(request, tenant_slug="acme", files=3)

    with pytest.raises(RelayError):
        enforce_check_rate_limit(request, tenant_slug="acme", files=3)
    enforce_check_rate_limit(request, tenant_slug="acme", files=2)  # does not raise

    with pytest.raises(RelayError):
        enforce_check_rate_limit(request, tenant_slug="acme", files=1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: concurrency")
def test_concurrent_requests_at_the_limit_let_exactly_the_limit_through(settings):
    settings.PORTAL_RATE_LIMIT = 100

    answered = _eight_clients_at_once(_request())

    assert answered.count(True) == 100
    assert RateLimitCounter.objects.get().hits == 100


def _eight_clients_at_once(request) -> list[bool]:
    """20 requests from each of 8 threads, each on its own connection: whether each was let
    through."""
    answered: list[bool] = []

    def hit() -> None:
        for _ in range(20):
            try:
                enforce_rate_limit(request, tenant_slug="acme")
                answered.append(True)
            except RelayError:
                answered.append(False)
        connection.close()

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answered
