"""The process's License API client: one for all threads, built from settings."""

from __future__ import annotations

import threading
import time

import pytest

from portal.relay import upstream as upstream_client
from portal.relay.errors import RelayError
from portal.relay.services import relay_request
from portal.tenants.resolution import default_tenant
from tests.factories import make_request_file


@pytest.fixture(autouse=True)
def _fresh_client():
    upstream_client.set_client(None)
    yield
    upstream_client.set_client(None)


def test_get_client_builds_one_client_for_all_threads() -> None:
    clients = []
    start = threading.Barrier(8)

    def fetch() -> None:
        start.wait()
        clients.append(upstream_client.get_client())

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(clients) == 8
    assert all(client is clients[0] for client in clients)


def test_set_client_none_closes_the_client_and_the_next_use_builds_a_fresh_one() -> None:
    first = upstream_client.get_client()

    upstream_client.set_client(None)

    assert first.is_closed
    assert upstream_client.get_client() is not first


@pytest.mark.django_db
def test_a_relay_ends_at_the_deadline_the_settings_give(faulty_upstream, settings) -> None:
    settings.LICENSE_API_DEADLINE = 0.5
    faulty_upstream.inject("hang")

    started = time.monotonic()
    with pytest.raises(RelayError) as caught:
        relay_request(tenant=default_tenant(), data=make_request_file().encode())

    assert (caught.value.status, caught.value.code) == (504, "service_timeout")
    assert caught.value.detail == "No complete answer within 0.5 s"
    assert time.monotonic() - started < 3
