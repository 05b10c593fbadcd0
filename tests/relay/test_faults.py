"""The relay with a misbehaving License API (the fake server's faults, issue 20): the user
gets a typed error with a plain message within the deadline, and the next upload on the same
client gets its own license."""

from __future__ import annotations

import json
import time

import pytest

from portal.relay.errors import UNREACHABLE, UPSTREAM_MESSAGES, RelayError
from portal.relay.models import RelayResult
from portal.relay.services import relay_request
from portal.tenants.resolution import default_tenant
from tests.factories import FAULT_DEADLINE, make_request_file

pytestmark = pytest.mark.django_db

TOO_SLOW = UPSTREAM_MESSAGES["service_timeout"]
UNUSABLE = UPSTREAM_MESSAGES["unexpected_answer"]


def upload(hardware_id: str) -> RelayResult:
    text = make_request_file(hardware_id=hardware_id, request_id=f"request-{hardware_id}")
    return relay_request(tenant=default_tenant(), data=text.encode(), filename="a.req")


def upload_failing(hardware_id: str) -> RelayError:
    with pytest.raises(RelayError) as caught:
        upload(hardware_id)
    return caught.value


def hardware_id_of(result: RelayResult) -> str:
    return json.loads(bytes(result.license_file))["hardware_id"]


@pytest.mark.parametrize(
    ("fault", "status", "code", "message"),
    [
        ("hang", 504, "service_timeout", TOO_SLOW),
        ("drip", 504, "service_timeout", TOO_SLOW),
        ("interim_forever", 504, "service_timeout", TOO_SLOW),
        ("close_mid_answer", 502, "service_unreachable", UNREACHABLE),
        ("malformed_framing", 502, "service_unreachable", UNREACHABLE),
        ("deep_json", 502, "unexpected_answer", UNUSABLE),
        ("wrong_types", 502, "unexpected_answer", UNUSABLE),
        ("huge_body", 502, "unexpected_answer", UNUSABLE),
    ],
)
def test_relay_request_under_a_fault_gives_a_typed_error_then_the_next_upload_works(
    faulty_upstream, fault: str, status: int, code: str, message: str
) -> None:
    faulty_upstream.inject(fault)

    started = time.monotonic()
    error = upload_failing("first")
    elapsed = time.monotonic() - started
    result = upload("next")

    assert (error.status, error.code, error.message) == (status, code, message)
    assert elapsed <= FAULT_DEADLINE + 2.5
    assert hardware_id_of(result) == "next"


def test_relay_request_never_takes_a_late_answer_for_the_next_users_license(
    faulty_upstream,
) -> None:
    faulty_upstream.inject("late_answer")

    first = upload("first")
    error = upload_failing("second")
    third = upload("third")
    second_again = upload("second")

    assert hardware_id_of(first) == "first"
    assert (error.status, error.code, error.message) == (502, "mismatched_answer", UNREACHABLE)
    assert hardware_id_of(third) == "third"
    assert hardware_id_of(second_again) == "second"
