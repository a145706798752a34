"""Webhooks: events told to the URLs an administrator registered, signed as the
Standard Webhooks convention says.

- :func:`emit` is what a service calls: it writes the event (the outbox) and one
  delivery per endpoint that wants it, in the service's own transaction, and queues their
  delivery on the django-q2 worker once that transaction commits (nothing is told of a
  change that was rolled back, and nothing is lost when the worker is down: the rows
  wait).
- :func:`deliver` makes one attempt: a POST of the JSON body with the headers
  ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` (``v1,`` and the
  base64 HMAC-SHA256 of ``id.timestamp.body`` keyed with the endpoint's secret), http(s)
  only, with a timeout, redirects refused. A 2xx answer delivers it; anything else is
  logged and tried again after :data:`RETRY_DELAYS` (the schedule's
  :func:`deliver_due` picks them up), then given up.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.request
import uuid
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from core.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

EVENT_TYPES: tuple[str, ...] = (
    "invoice.paid",
    "payment.received",
    "reminder.sent",
    "notice.approved",
    "notice.posted",
    "promise.recorded",
    "promise.broken",
    "dispute.opened",
    "dispute.resolved",
)
# Seconds to wait after the 1st, 2nd… failed attempt; after the last, it is given up.
RETRY_DELAYS: tuple[int, ...] = (60, 300, 1800, 7200, 18000, 36000)
TIMEOUT_SECONDS = 10


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value of ``body`` (Standard Webhooks, "v1")."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _endpoints() -> list[tuple[int, list[str]]]:
    """The active endpoints and their events: one small indexed query per event, so a
    change in the admin is seen at once by every process (web and worker)."""
    return list(WebhookEndpoint.objects.filter(active=True).values_list("pk", "events"))


def emit(event_type: str, data: dict[str, Any]) -> WebhookEvent | None:
    """Record that ``event_type`` happened (``data``: its JSON-able facts) for every
    endpoint that wants it, in the caller's transaction; delivered after commit."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"Unknown webhook event {event_type!r}")
    wanted = [pk for pk, events in _endpoints() if not events or event_type in events]
    if not wanted:
        return None
    now = timezone.now()
    event = WebhookEvent.objects.create(
        uid=f"msg_{uuid.uuid4().hex}",
        type=event_type,
        payload={
            "type": event_type,
            "timestamp": now.isoformat(),
            "data": json.loads(json.dumps(data, cls=DjangoJSONEncoder)),
        },
        created_at=now,
    )
    # Queued at once after commit; should that fail, the schedule takes it up later.
    later = now + datetime.timedelta(seconds=RETRY_DELAYS[0])
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint_id=pk, event=event, next_attempt_at=later) for pk in wanted
    )
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: _queue(ids))
    return event


def _queue(ids: list[int]) -> None:
    from django_q.tasks import async_task

    for pk in ids:
        async_task("core.webhooks.deliver", pk, task_name=f"webhook-{pk}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a 3xx is an answer like any other: not delivered


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """POST ``body``; (status, what to log). Only http(s) URLs are ever opened."""
    if not url.lower().startswith(("http://", "https://")):
        return None, "refused: only http and https URLs are called"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    timeout = getattr(settings, "WEBHOOK_TIMEOUT", TIMEOUT_SECONDS)
    try:
        with _opener.open(request, timeout=timeout) as response:
            return response.status, response.read(500).decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read(500).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError) as error:
        return None, f"{type(error).__name__}: {error}"[:500]


def deliver(delivery_id: int) -> str:
    """One attempt at a pending delivery (the worker's task); returns its status."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .select_related("endpoint", "event")
            .filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
            .first()
        )
        if delivery is None:
            return "skipped"
        event, endpoint = delivery.event, delivery.endpoint
        body = json.dumps(event.payload, separators=(",", ":")).encode()
        timestamp = int(timezone.now().timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": "Relance-Webhooks/1",
            "webhook-id": event.uid,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(endpoint.secret, event.uid, timestamp, body),
        }
        status, detail = _post(endpoint.url, body, headers)
        now = timezone.now()
        delivery.attempts += 1
        delivery.last_status_code = status
        delivery.log = [
            *delivery.log,
            {"at": now.isoformat(), "status": status, "response": detail[:200]},
        ][-20:]
        if status is not None and 200 <= status < 300:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
            delivery.last_error = ""
        else:
            delivery.last_error = detail
            delays = getattr(settings, "WEBHOOK_RETRY_DELAYS", RETRY_DELAYS)
            if delivery.attempts > len(delays):
                delivery.status = WebhookDelivery.Status.FAILED
                delivery.next_attempt_at = None
            else:
                wait = datetime.timedelta(seconds=delays[delivery.attempts - 1])
                delivery.next_attempt_at = now + wait
        delivery.save()
        return delivery.status


def deliver_due(limit: int = 200) -> int:
    """The schedule's task: attempt every pending delivery whose next attempt is due."""
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        deliver(pk)
    return len(due)
