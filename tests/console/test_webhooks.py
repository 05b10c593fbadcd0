"""Webhooks: each relay once, signed; a failing receiver retried; uploads never wait on it."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
from datetime import timedelta

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from portal.console import webhooks
from portal.console.models import WebhookDelivery
from tests.console.conftest import ACME
from tests.factories import LICENSE_BODY, make_request_file

pytestmark = pytest.mark.django_db


class Receiver:
    """A webhook receiver behind httpx.MockTransport that checks signatures as a vendor would."""

    def __init__(self) -> None:
        self.secret = ""
        self.events: list[dict] = []
        self.failures_to_come = 0
        self.calls = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.failures_to_come:
            self.failures_to_come -= 1
            return httpx.Response(503)
        stamp, signature = re.fullmatch(
            r"t=(\d+),v1=([0-9a-f]{64})", request.headers["X-Portal-Signature"]
        ).groups()
        message = stamp.encode() + b"." + request.content
        expected = hmac.new(self.secret.encode(), message, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            return httpx.Response(400)
        self.events.append(json.loads(request.content))
        return httpx.Response(204)


@pytest.fixture
def receiver(acme_owner) -> Receiver:
    receiver = Receiver()
    webhooks.set_transport(httpx.MockTransport(receiver.handle))
    page = acme_owner.post("/console/webhook/", {"url": "https://hooks.acme.test/in"})
    receiver.secret = re.search(r'class="webhook-secret">(whsec_[\w-]+)<', page.content.decode())[1]
    yield receiver
    webhooks.set_transport(None)


def upload(text: str) -> int:
    file = SimpleUploadedFile("ls_activation.req", text.encode())
    return Client().post("/", {"file": file}, HTTP_HOST=ACME).status_code


def deliver() -> None:
    call_command("deliver_webhooks", stdout=io.StringIO())


def test_webhook_receiver_gets_each_relay_once_signed(receiver, upstream) -> None:
    upstream.answer("activate_offline", body=LICENSE_BODY)
    upload(make_request_file(license_key="AAAA-BBBB-CCCC-1111"))
    upload(make_request_file(license_key="AAAA-BBBB-CCCC-2222"))

    deliver()
    deliver()

    assert [event["license"] for event in receiver.events] == ["…1111", "…2222"]
    assert {event["outcome"] for event in receiver.events} == {"ok"}


def test_failing_receiver_is_retried_and_then_succeeds(receiver, upstream, acme_owner) -> None:
    upstream.answer("activate_offline", body=LICENSE_BODY)
    receiver.failures_to_come = 1
    upload(make_request_file())

    deliver()
    assert receiver.events == []
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    deliver()

    assert len(receiver.events) == 1
    assert receiver.calls == 2
    assert "delivered" in acme_owner.get("/console/webhook/").content.decode()


def test_upload_never_waits_on_the_webhook(receiver, upstream) -> None:
    upstream.answer("activate_offline", body=LICENSE_BODY)

    assert upload(make_request_file()) == 303  # to the result page
    assert receiver.calls == 0


def test_send_again_delivers_an_event_once_more(receiver, upstream, acme_owner) -> None:
    upstream.answer("activate_offline", body=LICENSE_BODY)
    upload(make_request_file())
    deliver()
    delivery = WebhookDelivery.objects.get()

    acme_owner.post(f"/console/webhook/deliveries/{delivery.pk}/send-again", {})
    deliver()

    assert len(receiver.events) == 2


def test_webhook_refuses_a_plain_http_url(acme_owner) -> None:
    page = acme_owner.post("/console/webhook/", {"url": "http://hooks.acme.test/in"})

    assert "whsec_" not in page.content.decode()
    assert page.status_code == 200
