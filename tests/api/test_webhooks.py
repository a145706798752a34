"""Webhooks: an event written by a service in its transaction, delivered after commit to
a local HTTP server with a valid Standard Webhooks signature, retried after a 500."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import threading
from collections.abc import Iterator

import pytest

from core import webhooks
from core.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db


class Receiver(http.server.BaseHTTPRequestHandler):
    answers: list[int] = []
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        status = type(self).answers.pop(0) if type(self).answers else 200
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[Receiver]]]:
    handler = type("Handler", (Receiver,), {"answers": [500], "received": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    finally:
        server.shutdown()
        server.server_close()


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does (the README's recipe)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [s.removeprefix("v1,") for s in headers["webhook-signature"].split()]
    return any(hmac.compare_digest(expected, s) for s in given)


def test_a_payment_through_the_api_is_told_signed_and_retried_after_a_500(
    receiver, api_for, finance_user, customer, clock, django_capture_on_commit_callbacks
):
    url, handler = receiver
    secret = webhooks.new_secret()
    endpoint = WebhookEndpoint.objects.create(url=url, secret=secret, events=["payment.received"])
    api = api_for(finance_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/payments",
            {"customer": customer.pk, "date": "2026-11-17", "amount": "25.00"},
        )
    assert response.status_code == 201
    # The first attempt ran after commit (the worker runs tasks inline in tests): a 500.
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert (delivery.attempts, delivery.last_status_code) == (1, 500)
    assert webhooks.deliver_due() == 0  # not due yet: backoff
    clock.shift(seconds=webhooks.RETRY_DELAYS[0] + 1)
    assert webhooks.deliver_due() == 1
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert [entry["status"] for entry in delivery.log] == [500, 200]
    assert len(handler.received) == 2
    for headers, body in handler.received:
        assert verify(secret, headers, body)
        assert not verify(webhooks.new_secret(), headers, body)
    payload = json.loads(handler.received[-1][1])
    assert payload["type"] == "payment.received"
    assert payload["data"]["amount"] == "25.00"
    assert handler.received[0][0]["webhook-id"] == handler.received[1][0]["webhook-id"]


def test_nothing_is_recorded_when_no_endpoint_wants_it(api_for, finance_user, customer):
    WebhookEndpoint.objects.create(
        url="http://127.0.0.1:9/", secret=webhooks.new_secret(), events=["dispute.opened"]
    )
    api_for(finance_user).post(
        "/api/v1/payments", {"customer": customer.pk, "date": "2026-11-17", "amount": "25.00"}
    )
    assert not WebhookEvent.objects.exists()


def test_a_refused_request_tells_nothing(api_for, finance_user, customer):
    WebhookEndpoint.objects.create(url="http://127.0.0.1:9/", secret=webhooks.new_secret())
    refused = api_for(finance_user).post(
        "/api/v1/payments", {"customer": customer.pk, "date": "2099-01-01", "amount": "25.00"}
    )
    assert refused.status_code == 422
    assert not WebhookEvent.objects.exists()


def test_only_http_urls_are_called_and_redirects_are_not_followed(receiver):
    status, detail = webhooks._post("file:///etc/passwd", b"{}", {})
    assert status is None and "refused" in detail


def test_given_up_after_the_last_retry(settings, customer, clock):
    settings.WEBHOOK_RETRY_DELAYS = (1,)
    endpoint = WebhookEndpoint.objects.create(
        url="http://127.0.0.1:9/", secret=webhooks.new_secret()
    )
    event = webhooks.emit("dispute.opened", {"dispute": 1})
    assert event is not None
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert webhooks.deliver(delivery.pk) == WebhookDelivery.Status.PENDING
    assert webhooks.deliver(delivery.pk) == WebhookDelivery.Status.FAILED


def test_the_admin_registers_endpoints_and_reads_their_delivery_log(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "x")
    client.force_login(admin)
    add = client.get("/admin/core/webhookendpoint/add/")
    assert add.status_code == 200
    assert "whsec_" in add.content.decode()  # a fresh secret is proposed
    refused = client.post(
        "/admin/core/webhookendpoint/add/",
        {"url": "ftp://example.com/", "secret": "whsec_x", "active": "on"},
    )
    assert refused.status_code == 200 and not WebhookEndpoint.objects.exists()
    endpoint = WebhookEndpoint.objects.create(
        url="http://127.0.0.1:9/", secret=webhooks.new_secret()
    )
    webhooks.emit("dispute.opened", {"dispute": 1})
    assert client.get(f"/admin/core/webhookendpoint/{endpoint.pk}/change/").status_code == 200
    assert client.get("/admin/core/webhookdelivery/").status_code == 200
    assert client.get("/admin/core/apitoken/").status_code == 200
