"""Webhooks: each relay of a tenant as a signed JSON event, posted outside the request.

Signature (Stripe-like): `X-Portal-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<body>" with the endpoint's secret>`; receivers reject old timestamps to stop replays.
`manage.py deliver_webhooks` drains the queue (once, or --loop; gunicorn.conf.py starts the loop
beside the workers); nothing here runs in an upload. Each post goes to the address
receivers.check_receiver has just checked, never to one the URL's name resolves to later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
from django.db import transaction
from django.utils import timezone

from portal.console import receivers
from portal.console.models import Activity, WebhookDelivery, WebhookEndpoint
from portal.tenants.secrets import decrypt_secret, encrypt_secret

logger = logging.getLogger("portal.console.webhooks")

RETRY_FOR = timedelta(hours=24)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
BATCH = 100
# A delivery being posted is claimed for this long (its next attempt moved this far ahead), so
# that a second deliverer (another instance, an operator's own command) skips it; far longer
# than one post may take (10 s), and a deliverer that dies mid-post frees it when it lapses.
CLAIM_FOR = timedelta(minutes=2)

_transport: httpx.BaseTransport | None = None


def set_transport(transport: httpx.BaseTransport | None) -> None:
    """Tests: send through a fake transport instead of the network."""
    global _transport
    _transport = transport


def set_endpoint(*, tenant_pk: int, url: str) -> str | None:
    """Point the tenant's webhook at `url`; return a new secret when one was made (to show
    once), None when the endpoint existed and keeps its secret. Starts from now, not history."""
    latest = Activity.objects.filter(tenant_id=tenant_pk).order_by("-pk").first()
    endpoint = WebhookEndpoint.objects.filter(tenant_id=tenant_pk).first()
    if endpoint is not None:
        endpoint.url = url
        endpoint.save(update_fields=["url"])
        return None
    secret = "whsec_" + secrets.token_urlsafe(32)
    WebhookEndpoint.objects.create(
        tenant_id=tenant_pk,
        url=url,
        secret_encrypted=encrypt_secret(secret),
        last_activity_id=latest.pk if latest else 0,
    )
    return secret


def sign(secret: str, body: bytes, timestamp: int) -> str:
    message = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event_body(activity: Activity) -> bytes:
    event = {
        "type": "relay",
        "time": activity.at.isoformat(),
        "kind": activity.kind,
        "product": activity.product,
        "license": activity.license,
        "computer": activity.computer,
        "outcome": activity.outcome,
        "code": activity.code,
        "reference": activity.reference,
        "upstream_ms": activity.upstream_ms,
    }
    return json.dumps(event, ensure_ascii=False).encode()


def deliver_due() -> int:
    """Queue new activity, then post every delivery that is due; return how many were sent."""
    _enqueue_new_activity()
    sent = 0
    with httpx.Client(transport=_transport, timeout=10.0, follow_redirects=False) as client:
        for delivery in _claim_due():
            sent += _attempt(client, delivery)
    return sent


def _claim_due() -> Iterator[WebhookDelivery]:
    """Each due delivery, claimed just before its post by a conditional update: of two
    deliverers that read the same row, one moves its next attempt and the other finds it moved."""
    due = WebhookDelivery.objects.filter(
        delivered_at=None, gave_up=False, next_attempt_at__lte=timezone.now()
    ).order_by("next_attempt_at")
    for pk, due_at in list(due.values_list("pk", "next_attempt_at")[:BATCH]):
        claimed = WebhookDelivery.objects.filter(
            pk=pk, next_attempt_at=due_at, delivered_at=None
        ).update(next_attempt_at=timezone.now() + CLAIM_FOR)
        if claimed:
            yield WebhookDelivery.objects.select_related("endpoint", "activity").get(pk=pk)


def send_again(*, tenant_pk: int, delivery_pk: int) -> bool:
    return bool(
        WebhookDelivery.objects.filter(pk=delivery_pk, endpoint__tenant_id=tenant_pk).update(
            next_attempt_at=timezone.now(), gave_up=False, delivered_at=None
        )
    )


@transaction.atomic
def _enqueue_new_activity() -> None:
    now = timezone.now()
    for endpoint in WebhookEndpoint.objects.select_for_update():
        new = Activity.objects.filter(
            tenant_id=endpoint.tenant_id, pk__gt=endpoint.last_activity_id
        ).order_by("pk")[: BATCH * 10]
        rows = [WebhookDelivery(endpoint=endpoint, activity=a, next_attempt_at=now) for a in new]
        if rows:
            WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
            endpoint.last_activity_id = rows[-1].activity_id
            endpoint.save(update_fields=["last_activity_id"])


def _attempt(client: httpx.Client, delivery: WebhookDelivery) -> int:
    body = event_body(delivery.activity)
    secret = decrypt_secret(delivery.endpoint.secret_encrypted)
    headers = {
        "Content-Type": "application/json",
        "X-Portal-Signature": sign(secret, body, int(time.time())),
        "User-Agent": "OfflinePortal-Webhook/1",
    }
    delivery.attempts += 1
    try:
        response = _post(client, delivery.endpoint.url, body, headers)
        delivery.last_status, delivery.last_error = response.status_code, ""
        ok = response.is_success
    except receivers.ReceiverRefused:
        delivery.last_status, delivery.last_error = None, "address refused"
        ok = False
    except httpx.HTTPError as error:
        delivery.last_status, delivery.last_error = None, type(error).__name__
        ok = False
    now = timezone.now()
    if ok:
        delivery.delivered_at = now
    else:
        wait = min(FIRST_RETRY * 2 ** (delivery.attempts - 1), LONGEST_WAIT)
        delivery.next_attempt_at = now + wait
        delivery.gave_up = now + wait > delivery.created_at + RETRY_FOR
    delivery.save()
    return int(ok)


def _post(client: httpx.Client, url: str, body: bytes, headers: dict) -> httpx.Response:
    """Post to the address just checked, naming the URL's host in the Host header and in TLS
    (SNI, and the certificate must be issued to it), as a post to the URL itself would."""
    receiver = receivers.check_receiver(url)
    named = httpx.URL(url)
    extensions = {}
    if receiver.host != receiver.address:
        extensions["sni_hostname"] = named.raw_host.decode("ascii")
    return client.post(
        named.copy_with(host=receiver.address),
        content=body,
        headers={**headers, "Host": named.netloc.decode("ascii")},
        extensions=extensions,
    )
