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
from tests.console.conftest import ACME, GLOBEX, PUBLIC_ADDRESS
from tests.factories import LICENSE_BODY, make_request_file

pytestmark = pytest.mark.django_db


class Receiver:
    """A webhook receiver behind httpx.MockTransport that checks signatures as a vendor would."""

    def __init__(self) -> None:
        self.secret = ""
        self.events: list[dict] = []
        self.failures_to_come = 0
        self.calls = 0
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        self.requests.append(request)
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
def receiver(acme_owner, resolver) -> Receiver:
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


PRIVATE_ADDRESSES = [
    "127.0.0.1",  # loopback
    "10.1.2.3",  # private
    "172.16.0.9",
    "192.168.1.20",
    "100.64.0.1",  # shared (carrier NAT)
    "169.254.169.254",  # link-local: cloud metadata services
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "0.0.0.0",  # unspecified
    "::1",
    "fc00::1",  # unique local
    "fe80::1",  # link-local
    "ff02::1",  # multicast
    "::",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "2002:7f00:1::",  # 6to4 around 127.0.0.1
]


def _url_for(address: str) -> str:
    return f"https://[{address}]/in" if ":" in address else f"https://{address}/in"


@pytest.mark.parametrize(
    "url",
    [_url_for(address) for address in PRIVATE_ADDRESSES]
    + [
        "https://localhost/in",
        "https://LOCALHOST./in",
        "https://hooks.localhost/in",
        "https://2130706433/in",  # 127.0.0.1 as one number
        "https://0x7f.1/in",
        "https://0177.0.0.1/in",
        "https://internal.acme.test/in",  # a name that resolves to 10.0.0.5
        "https://split.acme.test/in",  # one public and one private address
    ],
)
def test_webhook_url_on_a_private_address_is_refused_when_saved(acme_owner, resolver, url) -> None:
    resolver.names["internal.acme.test"] = ["10.0.0.5"]
    resolver.names["split.acme.test"] = [PUBLIC_ADDRESS, "192.168.0.7"]

    page = acme_owner.post("/console/webhook/", {"url": url}).content.decode()

    assert "points at a private or local address" in page
    assert "whsec_" not in page
    assert "10.0.0.5" not in page and "192.168.0.7" not in page


def test_webhook_url_on_a_public_address_is_accepted(acme_owner, resolver) -> None:
    page = acme_owner.post("/console/webhook/", {"url": "https://hooks.acme.test/in"})

    assert "whsec_" in page.content.decode()


def test_webhook_url_whose_name_is_unknown_is_refused(acme_owner, resolver) -> None:
    page = acme_owner.post("/console/webhook/", {"url": "https://nowhere.acme.test/in"})

    assert "host name could not be found" in page.content.decode()


@pytest.mark.parametrize("address", PRIVATE_ADDRESSES)
def test_delivery_is_refused_when_the_name_now_resolves_to_a_private_address(
    receiver, resolver, upstream, acme_owner, address
) -> None:
    upstream.answer("activate_offline", body=LICENSE_BODY)
    upload(make_request_file())
    resolver.names["hooks.acme.test"] = [address]

    deliver()

    assert receiver.calls == 0
    assert "address refused" in acme_owner.get("/console/webhook/").content.decode()
    assert WebhookDelivery.objects.get().delivered_at is None


def test_delivery_connects_to_the_address_it_checked(receiver, upstream) -> None:
    upstream.answer("activate_offline", body=LICENSE_BODY)
    upload(make_request_file())

    deliver()

    (request,) = receiver.requests
    assert request.url.host == PUBLIC_ADDRESS
    assert request.url.path == "/in"
    assert request.headers["Host"] == "hooks.acme.test"
    assert request.extensions["sni_hostname"] == "hooks.acme.test"


def test_private_receiver_is_allowed_when_the_operator_allows_it(
    acme_owner, resolver, upstream, settings
) -> None:
    settings.PORTAL_WEBHOOK_ALLOW_PRIVATE = True
    receiver = Receiver()
    webhooks.set_transport(httpx.MockTransport(receiver.handle))
    page = acme_owner.post("/console/webhook/", {"url": "https://10.0.0.5/in"}).content.decode()
    receiver.secret = re.search(r'class="webhook-secret">(whsec_[\w-]+)<', page)[1]
    upstream.answer("activate_offline", body=LICENSE_BODY)
    upload(make_request_file())

    deliver()
    webhooks.set_transport(None)

    assert len(receiver.events) == 1
    assert receiver.requests[0].url.host == "10.0.0.5"


def test_send_again_of_another_tenants_delivery_is_a_404(
    receiver, acme_owner, globex_owner, upstream
) -> None:
    upstream.answer("activate_offline", body=LICENSE_BODY)
    globex_owner.post("/console/webhook/", {"url": "https://hooks.acme.test/globex"})
    file = SimpleUploadedFile("ls_activation.req", make_request_file().encode())
    Client().post("/", {"file": file}, HTTP_HOST=GLOBEX)
    deliver()
    theirs = WebhookDelivery.objects.get()

    answer = acme_owner.post(f"/console/webhook/deliveries/{theirs.pk}/send-again", {})
    deliver()

    assert answer.status_code == 404
    assert WebhookDelivery.objects.get().attempts == 1
    assert "/globex" not in acme_owner.get("/console/webhook/").content.decode()


def test_a_second_deliverer_skips_a_delivery_being_posted(receiver, upstream) -> None:
    upstream.answer("activate_offline", body=LICENSE_BODY)
    upload(make_request_file())
    sent_meanwhile = []

    def another_deliverer_runs_meanwhile(request: httpx.Request) -> httpx.Response:
        if not sent_meanwhile:  # as a second server's delivery process would, mid-post
            sent_meanwhile.append(webhooks.deliver_due())
        return receiver.handle(request)

    webhooks.set_transport(httpx.MockTransport(another_deliverer_runs_meanwhile))
    deliver()

    assert sent_meanwhile == [0]
    assert len(receiver.events) == 1
