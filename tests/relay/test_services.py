"""The relay service: routing, result keeping, error mapping (upstream faked at the transport)."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import httpx
import pytest
from django.db import connection
from django.utils import timezone

from portal.licensespring.request_files import read_request_file
from portal.relay import leases
from portal.relay import store as relay_store
from portal.relay.errors import RelayError
from portal.relay.models import LearnedBundle, RelayResult
from portal.relay.services import find_result, purge_expired_results, relay_request
from portal.tenants.resolution import default_tenant
from tests.factories import LICENSE_BODY, make_request_file, read_vector

pytestmark = pytest.mark.django_db


def test_relay_request_sends_the_file_text_byte_for_byte(upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    text = read_vector("py_activate_key.req")

    relay_request(tenant=default_tenant(), data=text.encode(), filename="ls_activation.req")

    assert upstream.requests[0].content == text.strip().encode()


def test_relay_request_keeps_the_exact_upstream_bytes_as_license_file(upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)

    result = relay_request(tenant=default_tenant(), data=read_vector("node_activate_key.req"))

    assert bytes(result.license_file) == LICENSE_BODY


def test_relay_request_summarizes_the_license_for_the_user(upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)

    result = relay_request(tenant=default_tenant(), data=read_vector("py_activate_key.req"))

    license = result.summary["licenses"][0]
    assert license["product_name"] == "Test Product"
    assert license["license_key"] == "FUH3-4E7A-LZJL-7JTP"
    assert license["license_type"] == "time-limited"
    assert license["expires"] == "2030-01-01T00:00:00Z"
    assert (license["times_activated"], license["max_activations"]) == (1, 3)
    assert license["features"] == ["Export"]


def test_relay_request_same_file_again_gives_same_result_without_second_call(upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    text = read_vector("py_activate_key.req")

    first = relay_request(tenant=default_tenant(), data=text)
    second = relay_request(tenant=default_tenant(), data=text.strip() + "\r\n")

    assert second.token == first.token
    assert len(upstream.requests) == 1


def test_relay_request_failed_call_is_not_kept_so_a_retry_calls_again(upstream):
    upstream.fail("activate_offline", httpx.ReadTimeout("slow"))
    upstream.answer("activate_offline", body=LICENSE_BODY)
    text = read_vector("py_activate_key.req")

    with pytest.raises(RelayError):
        relay_request(tenant=default_tenant(), data=text)
    result = relay_request(tenant=default_tenant(), data=text)

    assert result.state == RelayResult.State.DONE
    assert len(upstream.requests) == 2


def test_relay_request_deactivation_summarizes_the_synced_usage(upstream):
    upstream.answer("deactivate_offline", body='"license_deactivated"')

    result = relay_request(
        tenant=default_tenant(), data=read_vector("py_deactivate_key_consumption.req")
    )

    assert result.kind == "deactivation"
    assert result.summary["synced"] == {
        "consumptions": 3,
        "features": [{"code": "export", "amount": 2}],
        "variables": [{"name": "seat", "value": "7"}],
    }


def test_relay_request_routes_a_configured_bundle_to_the_bundle_endpoint(upstream, settings):
    settings.LICENSE_API_BUNDLE_PRODUCTS = ["SUITE"]
    upstream.answer("activate_bundle_offline", body=b'{"licenses": [{"license_key": "K"}]}')

    relay_request(tenant=default_tenant(), data=make_request_file(product="SUITE"))

    assert upstream.endpoints == ["activate_bundle_offline"]


def test_relay_request_routes_a_file_with_bundle_code_to_the_bundle_endpoint(upstream):
    upstream.answer("deactivate_bundle_offline", body="license_deactivated")

    relay_request(
        tenant=default_tenant(),
        data=make_request_file(kind="deactivation", product="SUITE", bundle_code="SUITE"),
    )

    assert upstream.endpoints == ["deactivate_bundle_offline"]


def test_relay_request_retries_unknown_product_on_the_bundle_endpoint_and_remembers(upstream):
    upstream.error("activate_offline", 400, "unknown_product")
    upstream.answer("activate_bundle_offline", body=b'{"licenses": [{"license_key": "K"}]}')

    relay_request(tenant=default_tenant(), data=make_request_file(product="SUITE"))
    relay_request(
        tenant=default_tenant(), data=make_request_file(product="SUITE", hardware_id="other")
    )

    assert upstream.endpoints == [
        "activate_offline",
        "activate_bundle_offline",
        "activate_bundle_offline",
    ]
    assert LearnedBundle.objects.filter(tenant_slug="default", product="SUITE").exists()


def test_relay_request_product_not_bundle_on_retry_keeps_the_original_error(upstream):
    upstream.error("activate_offline", 400, "unknown_product", "Unknown product")
    upstream.error("activate_bundle_offline", 400, "product_not_bundle")

    with pytest.raises(RelayError) as caught:
        relay_request(tenant=default_tenant(), data=make_request_file(product="NOPE"))

    assert caught.value.code == "unknown_product"
    assert caught.value.detail == "Unknown product"
    assert not LearnedBundle.objects.exists()


@pytest.mark.parametrize(
    ("status", "code", "expected_status", "expected_code"),
    [
        (400, "license_activated_max_times", 400, "license_activated_max_times"),
        (400, "some_new_code", 400, "some_new_code"),
        (401, "signature_mismatch", 502, "portal_credentials_refused"),
        (400, "invalid_api_key", 502, "portal_credentials_refused"),
        (403, "api_key_product_not_allowed", 403, "api_key_product_not_allowed"),
        (503, "", 502, "service_unreachable"),
    ],
)
def test_relay_request_maps_upstream_errors(upstream, status, code, expected_status, expected_code):
    upstream.error("activate_offline", status, code)

    with pytest.raises(RelayError) as caught:
        relay_request(tenant=default_tenant(), data=read_vector("py_activate_key.req"))

    assert (caught.value.status, caught.value.code) == (expected_status, expected_code)
    assert caught.value.reference


def test_relay_request_unknown_code_shows_the_upstream_message(upstream):
    upstream.error("activate_offline", 400, "brand_new_code", "Seats are frozen this week")

    with pytest.raises(RelayError) as caught:
        relay_request(tenant=default_tenant(), data=read_vector("py_activate_key.req"))

    assert caught.value.message == "Seats are frozen this week"


def test_relay_request_refuses_a_file_for_another_vendor_before_any_call(upstream):
    other = make_request_file(api_key="11111111-2222-3333-4444-555555555555")

    with pytest.raises(RelayError) as caught:
        relay_request(tenant=default_tenant(), data=other)

    assert caught.value.code == "wrong_vendor"
    assert upstream.requests == []


def test_relay_request_refuses_an_unreadable_file_before_any_call(upstream):
    with pytest.raises(RelayError) as caught:
        relay_request(tenant=default_tenant(), data=b"definitely not a request file")

    assert (caught.value.status, caught.value.code) == (400, "not_base64")
    assert upstream.requests == []


def test_relay_request_a_timeout_becomes_504(upstream):
    upstream.fail("activate_offline", httpx.ReadTimeout("slow"))

    with pytest.raises(RelayError) as caught:
        relay_request(tenant=default_tenant(), data=read_vector("py_activate_key.req"))

    assert (caught.value.status, caught.value.code) == (504, "service_timeout")


def test_relay_request_an_activation_answer_that_is_not_a_license_becomes_502(upstream):
    upstream.answer("activate_offline", body=b"<html>maintenance</html>")

    with pytest.raises(RelayError) as caught:
        relay_request(tenant=default_tenant(), data=read_vector("py_activate_key.req"))

    assert caught.value.status == 502
    assert not RelayResult.objects.exists()


def test_find_result_is_none_once_expired(upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    result = relay_request(tenant=default_tenant(), data=read_vector("py_activate_key.req"))
    RelayResult.objects.filter(pk=result.pk).update(expires_at=timezone.now() - timedelta(1))

    assert find_result(tenant=default_tenant(), token=result.token) is None
    assert purge_expired_results() == 1


def test_find_result_ignores_another_tenants_result(upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    result = relay_request(tenant=default_tenant(), data=read_vector("py_activate_key.req"))
    RelayResult.objects.filter(pk=result.pk).update(tenant_slug="acme")

    assert find_result(tenant=default_tenant(), token=result.token) is None


def upload_twice_while_the_first_call_waits(upstream, *, wait_seconds: float) -> list:
    """The same file uploaded by two threads: the second while the first's License API call
    is held `wait_seconds`; the results, in the order they finished."""
    release = threading.Event()

    def slow_answer(request: httpx.Request) -> httpx.Response:
        release.wait(wait_seconds + 10)
        return httpx.Response(200, content=LICENSE_BODY)

    upstream.answers["activate_offline"] = [slow_answer]
    text = read_vector("py_activate_key.req")
    results: list[RelayResult] = []

    def upload() -> None:
        results.append(relay_request(tenant=default_tenant(), data=text))
        connection.close()

    first = threading.Thread(target=upload)
    first.start()
    while not upstream.requests:
        threading.Event().wait(0.01)
    second = threading.Thread(target=upload)
    second.start()
    threading.Event().wait(wait_seconds)
    release.set()
    first.join(wait_seconds + 15)
    second.join(wait_seconds + 15)
    return results


@pytest.mark.django_db(transaction=True)
def test_relay_request_waits_for_a_call_already_under_way_instead_of_calling_again(upstream):
    results = upload_twice_while_the_first_call_waits(upstream, wait_seconds=0.3)

    assert len(upstream.requests) == 1
    assert len(results) == 2
    assert results[0].token == results[1].token


def test_relay_request_same_file_after_expiry_calls_again(upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    text = read_vector("py_activate_key.req")
    first = relay_request(tenant=default_tenant(), data=text)
    RelayResult.objects.filter(pk=first.pk).update(expires_at=timezone.now() - timedelta(1))

    second = relay_request(tenant=default_tenant(), data=text)

    assert second.token != first.token
    assert len(upstream.requests) == 2


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (pooled): make test-postgres"
)
@pytest.mark.django_db(transaction=True)
def test_no_database_connection_is_held_while_the_license_api_answers(upstream):
    held_during_call: list[bool] = []

    def answer(request: httpx.Request) -> httpx.Response:
        held_during_call.append(connection.connection is not None)
        return httpx.Response(200, content=LICENSE_BODY)

    upstream.answers["activate_offline"] = [answer]

    result = relay_request(tenant=default_tenant(), data=read_vector("py_activate_key.req"))

    assert held_during_call == [False]
    assert find_result(tenant=default_tenant(), token=result.token) is not None


def _second_license() -> bytes:
    return LICENSE_BODY.replace(b'"times_activated": 1', b'"times_activated": 2')


def test_relay_request_activation_after_deactivating_that_computer_calls_again(upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    upstream.answer("activate_offline", body=_second_license())
    upstream.answer("deactivate_offline", body="license_deactivated")
    activation = read_vector("py_activate_key.req")
    relay_request(tenant=default_tenant(), data=activation)
    relay_request(tenant=default_tenant(), data=read_vector("py_deactivate_key_consumption.req"))

    again = relay_request(tenant=default_tenant(), data=activation)

    assert upstream.endpoints == ["activate_offline", "deactivate_offline", "activate_offline"]
    assert bytes(again.license_file) == _second_license()
    assert bytes(find_result(tenant=default_tenant(), token=again.token).license_file) == (
        _second_license()
    )


def test_relay_request_deactivation_after_activating_that_computer_again_calls_again(upstream):
    upstream.answer("deactivate_offline", body="license_deactivated")
    upstream.answer("activate_offline", body=LICENSE_BODY)
    deactivation = make_request_file(kind="deactivation", hardware_id="pc-1")
    relay_request(tenant=default_tenant(), data=deactivation)
    relay_request(tenant=default_tenant(), data=make_request_file(hardware_id="pc-1"))

    relay_request(tenant=default_tenant(), data=deactivation)

    assert upstream.endpoints == ["deactivate_offline", "activate_offline", "deactivate_offline"]


@pytest.mark.django_db(transaction=True)
def test_an_activation_and_a_deactivation_of_one_computer_finishing_together_are_never_both_kept(
    upstream,
):
    """Each drops the other's kept result: in whatever order the two finish, uploading either
    file again never hands back a result the other made untrue (a license for a freed seat)."""
    both_answered = threading.Barrier(2)

    def together(body: bytes):
        def answer(request: httpx.Request) -> httpx.Response:
            both_answered.wait(10)  # the two answers come back at the same moment
            return httpx.Response(200, content=body)

        return answer

    upstream.answers["activate_offline"] = [together(LICENSE_BODY)]
    upstream.answers["deactivate_offline"] = [together(b"license_deactivated")]

    def upload(text: str) -> None:
        relay_request(tenant=default_tenant(), data=text)
        connection.close()

    both_kept = []
    for computer in range(20):
        files = [
            make_request_file(hardware_id=f"pc-{computer}"),
            make_request_file(kind="deactivation", hardware_id=f"pc-{computer}"),
        ]
        threads = [threading.Thread(target=upload, args=(text,)) for text in files]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        kept = [
            relay_store.find_kept_result(
                tenant_slug=default_tenant().slug, request_file=read_request_file(text)
            )
            for text in files
        ]
        both_kept.append(None not in kept)

    assert len(upstream.requests) == 40
    assert not any(both_kept)


def test_relay_request_deactivating_a_bundle_drops_its_kept_activations(upstream, settings):
    settings.LICENSE_API_BUNDLE_PRODUCTS = ["SUITE"]
    upstream.answer("activate_bundle_offline", body=b'{"licenses": [{"license_key": "K"}]}')
    upstream.answer("deactivate_bundle_offline", body="license_deactivated")
    bundle = {"license_key": "SUIT-0000-0000-0001", "hardware_id": "pc-1"}
    activation = make_request_file(product="SUITE", **bundle)
    relay_request(tenant=default_tenant(), data=activation)
    deactivation = make_request_file(
        kind="deactivation", product="SUITE", bundle_code="SUITE", **bundle
    )
    relay_request(tenant=default_tenant(), data=deactivation)

    relay_request(tenant=default_tenant(), data=activation)

    assert upstream.endpoints.count("activate_bundle_offline") == 2


def test_relay_request_deactivating_another_computer_keeps_the_activation(upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    upstream.answer("deactivate_offline", body="license_deactivated")
    activation = make_request_file(hardware_id="pc-1")
    first = relay_request(tenant=default_tenant(), data=activation)
    relay_request(
        tenant=default_tenant(), data=make_request_file(kind="deactivation", hardware_id="pc-2")
    )

    again = relay_request(tenant=default_tenant(), data=activation)

    assert again.token == first.token
    assert upstream.endpoints == ["activate_offline", "deactivate_offline"]


def test_relay_request_deactivating_another_license_keeps_the_activation(upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    upstream.answer("deactivate_offline", body="license_deactivated")
    activation = make_request_file(hardware_id="pc-1")
    relay_request(tenant=default_tenant(), data=activation)
    other_license = make_request_file(
        kind="deactivation", hardware_id="pc-1", license_key="OTHR-0000-0000-0001"
    )
    relay_request(tenant=default_tenant(), data=other_license)

    relay_request(tenant=default_tenant(), data=activation)

    assert upstream.endpoints == ["activate_offline", "deactivate_offline"]


def test_relay_request_failed_deactivation_keeps_the_activation(upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    upstream.error("deactivate_offline", 400, "device_not_found")
    activation = read_vector("py_activate_key.req")
    relay_request(tenant=default_tenant(), data=activation)
    with pytest.raises(RelayError):
        relay_request(
            tenant=default_tenant(), data=read_vector("py_deactivate_key_consumption.req")
        )

    relay_request(tenant=default_tenant(), data=activation)

    assert upstream.endpoints == ["activate_offline", "deactivate_offline"]


def test_relay_result_keeps_no_license_key_or_user_name_in_clear(upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)

    result = relay_request(tenant=default_tenant(), data=read_vector("py_activate_user.req"))

    stored = RelayResult.objects.filter(pk=result.pk).values().get()
    assert "alice@example.com" not in json.dumps({k: str(v) for k, v in stored.items()})


def test_relay_request_reused_result_names_the_file_just_uploaded(upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    text = read_vector("py_activate_key.req")
    first = relay_request(tenant=default_tenant(), data=text, filename="monday.req")

    again = relay_request(tenant=default_tenant(), data=text, filename="tuesday.req")

    assert again.token == first.token
    assert again.filename == "tuesday.req"
    assert find_result(tenant=default_tenant(), token=first.token).filename == "tuesday.req"


def test_relay_request_takes_over_a_claim_its_owner_stopped_renewing(upstream, settings):
    """A worker killed mid-relay leaves its claim behind, renewed by no one."""
    settings.PORTAL_CLAIM_LEASE_SECONDS = 1
    upstream.answer("activate_offline", body=LICENSE_BODY)
    text = read_vector("py_activate_key.req")
    orphan = relay_store.claim(
        tenant_slug="default", request_file=read_request_file(text), filename="x.req"
    )
    leases.drop(orphan.pk)  # as if its process had died
    started = time.monotonic()

    result = relay_request(tenant=default_tenant(), data=text)

    assert result.state == RelayResult.State.DONE
    assert bytes(result.license_file) == LICENSE_BODY
    assert len(upstream.requests) == 1
    assert time.monotonic() - started < 10


@pytest.mark.django_db(transaction=True)
def test_relay_request_a_live_claim_outlasts_its_lease_while_the_call_runs(upstream, settings):
    settings.PORTAL_CLAIM_LEASE_SECONDS = 1
    # Three leases: renewed, else the second upload would have called the License API.
    results = upload_twice_while_the_first_call_waits(upstream, wait_seconds=3)

    assert len(upstream.requests) == 1
    assert [result.token for result in results] == [results[0].token] * 2
