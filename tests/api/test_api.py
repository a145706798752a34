"""The API's "done when": the OpenAPI document, the ledger through the API matching the
pages, idempotent retries, scope, problem documents, tokens and their limits."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openapi_spec_validator import validate

from core.models import ApiToken
from core.tokens import digest_of
from receivables.models import Invoice, Payment
from tests.factories import make_invoice
from tests.test_permission_matrix import MATRIX, all_routes

pytestmark = pytest.mark.django_db
BASE = "/api/v1"


def test_the_openapi_document_validates_and_has_every_route(client):
    response = client.get(f"{BASE}/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)  # raises on an invalid OpenAPI 3 document
    in_matrix = {name for _method, name in MATRIX}
    api_routes = [r for r in all_routes() if r.name and r.name.startswith("api:")]
    assert len(api_routes) > 15
    own_pages = {"api:openapi-json", "api:openapi-view", "api:api-root"}
    for route in api_routes:
        assert route.name in in_matrix, route.name
        if route.name in own_pages:
            continue
        path = "/" + route.route.replace("<int:", "{").replace("<", "{").replace(">", "}")
        assert path.rstrip("/") in document["paths"], path


def test_the_docs_page_is_served_from_static_files(client):
    page = client.get(f"{BASE}/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()


@pytest.mark.calendar
def test_customer_invoice_plan_partial_payment_and_aged_balance_as_the_page(
    api_for, finance_user, client, clock
):
    api = api_for(finance_user)
    today = clock.today
    day = datetime.timedelta(days=1)
    created = api.post(
        f"{BASE}/customers",
        {
            "customer_ref": "411API",
            "name": "API SAS",
            "contacts": [{"name": "Compta", "email": "compta@example.com"}],
        },
    )
    assert created.status_code == 201, created.content
    customer = created.json()
    assert customer["contacts"][0]["email"] == "compta@example.com"
    invoice = api.post(
        f"{BASE}/invoices",
        {
            "customer": customer["id"],
            "number": "API-1",
            "issue_date": str(today - 70 * day),
            "due_date": str(today - 40 * day),
            "amount": "1000.00",
            "plan": "30_30_40",
        },
    )
    assert invoice.status_code == 201, invoice.content
    parts = invoice.json()["installments"]
    assert [p["amount"] for p in parts] == ["300.00", "300.00", "400.00"]
    paid = api.post(
        f"{BASE}/payments",
        {"customer": customer["id"], "date": str(today - day), "amount": "450.00"},
    )
    assert paid.status_code == 201, paid.content
    assert [a["amount"] for a in paid.json()["allocations"]] == ["300.00", "150.00"]
    ours = api.get(f"{BASE}/aged-balance", {"as_of": str(today)}).json()
    client.force_login(finance_user)
    page = client.get(reverse("receivables:aged_balance"), {"as_of": str(today)})
    page_row = next(r for r in page.context["ab"].rows if r["customer_ref"] == "411API")
    api_row = next(r for r in ours["rows"] if r["customer_ref"] == "411API")
    for bucket in ("not_due", "d1_30", "d31_60", "d61_90", "d90_plus", "total"):
        assert Decimal(api_row[bucket]) == page_row[bucket], bucket
    assert Decimal(api_row["total"]) == Decimal("550.00")
    assert Decimal(ours["totals"]["total"]) == page.context["ab"].totals["total"]


def test_a_retried_post_with_the_same_key_creates_one_invoice(api_for, finance_user, customer):
    api = api_for(finance_user)
    body = {
        "customer": customer.pk,
        "number": "IDEM-1",
        "issue_date": "2026-11-01",
        "due_date": "2026-12-01",
        "amount": "120.00",
    }
    first = api.post(f"{BASE}/invoices", body, **{"Idempotency-Key": "k-1"})
    again = api.post(f"{BASE}/invoices", body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    assert again["Idempotent-Replayed"] == "true"
    assert Invoice.objects.filter(number="IDEM-1").count() == 1
    other = api.post(f"{BASE}/invoices", body | {"amount": "130.00"}, **{"Idempotency-Key": "k-1"})
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert Invoice.objects.filter(number="IDEM-1").get().amount == Decimal("120.00")


def test_a_sales_reps_token_gets_404_on_another_reps_invoice(
    api_for, sales_user, other_sales_user, customer
):
    invoice = make_invoice(customer, number="REP-1")
    assert api_for(sales_user).get(f"{BASE}/invoices/{invoice.pk}").status_code == 200
    theirs = api_for(other_sales_user)
    response = theirs.get(f"{BASE}/invoices/{invoice.pk}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert theirs.get(f"{BASE}/invoices").json()["items"] == []
    assert theirs.get(f"{BASE}/customers/{customer.pk}").status_code == 404


def test_a_bad_payload_gets_a_problem_naming_each_field(api_for, finance_user, customer):
    response = api_for(finance_user).post(
        f"{BASE}/invoices",
        {
            "customer": customer.pk,
            "number": "BAD-1",
            "issue_date": "2026-11-01",
            "due_date": "not a date",
            "amount": "12.345",
            "plan": "40_60",
        },
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert {"type", "title", "status", "detail", "errors"} <= set(problem)
    assert {e["field"] for e in problem["errors"]} == {"due_date", "amount", "plan"}
    assert not Invoice.objects.filter(number="BAD-1").exists()


def test_a_service_refusal_names_the_field(api_for, finance_user, customer):
    make_invoice(customer, number="DUP-1")
    response = api_for(finance_user).post(
        f"{BASE}/invoices",
        {
            "customer": customer.pk,
            "number": "DUP-1",
            "issue_date": "2026-11-01",
            "due_date": "2026-10-01",
            "amount": "10.00",
        },
    )
    assert response.status_code == 422
    assert "due_date" in {e["field"] for e in response.json()["errors"]}


def test_malformed_json_is_a_problem_not_a_500(api_for, finance_user):
    response = api_for(finance_user).send("POST", f"{BASE}/payments", raw=b"{nope")
    assert response.status_code in (400, 422)
    assert response["Content-Type"] == "application/problem+json"


def test_managers_and_read_only_tokens_cannot_write(api_for, manager_user, finance_user, customer):
    body = {"customer": customer.pk, "date": "2026-11-10", "amount": "10.00"}
    assert api_for(manager_user).post(f"{BASE}/payments", body).status_code == 403
    read_only = api_for(finance_user, read_only=True)
    assert read_only.get(f"{BASE}/payments").status_code == 200
    assert read_only.post(f"{BASE}/payments", body).status_code == 403
    assert not Payment.objects.exists()


def test_no_token_a_revoked_or_expired_one_is_401(api_for, finance_user, client, clock):
    assert client.get(f"{BASE}/customers").status_code == 401
    api = api_for(finance_user, expires_on=clock.today)
    assert api.get(f"{BASE}/customers").status_code == 200
    clock.shift(days=1)
    assert api.get(f"{BASE}/customers").status_code == 401
    fresh = api_for(finance_user)
    ApiToken.objects.filter(digest=digest_of(fresh.token)).update(revoked_at="2026-11-18T10:00Z")
    response = fresh.get(f"{BASE}/customers")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_the_rate_limit_answers_429_with_retry_after(api_for, finance_user, settings):
    settings.API_RATE_LIMIT = 3
    api = api_for(finance_user)
    statuses = [api.get(f"{BASE}/customers").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = api.get(f"{BASE}/customers")
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert limited.json()["status"] == 429
    # Another token has its own count.
    assert api_for(finance_user).get(f"{BASE}/customers").status_code == 200


def test_cursor_pagination_walks_every_row_once(api_for, finance_user, customer):
    for n in range(5):
        make_invoice(customer, number=f"PAGE-{n}")
    api = api_for(finance_user)
    seen, cursor = [], None
    while True:
        page = api.get(f"{BASE}/invoices", {"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200
        body = page.json()
        seen += [i["number"] for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == [f"PAGE-{n}" for n in range(5)]
    bad = api.get(f"{BASE}/invoices", {"cursor": "garbage!"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "cursor"


def test_filters(api_for, finance_user, customer, clock):
    day = datetime.timedelta(days=1)
    make_invoice(
        customer, number="F-1", issue_date=clock.today - 60 * day, due_date=clock.today - 30 * day
    )
    make_invoice(customer, number="F-2", issue_date=clock.today, due_date=clock.today + 30 * day)
    api = api_for(finance_user)

    def numbers(**params):
        return sorted(i["number"] for i in api.get(f"{BASE}/invoices", params).json()["items"])

    assert numbers(status="overdue") == ["F-1"]
    assert numbers(due_from=str(clock.today)) == ["F-2"]
    assert numbers(due_to=str(clock.today), customer=customer.pk) == ["F-1"]
    assert numbers(updated_since=(timezone.now() - datetime.timedelta(minutes=1)).isoformat()) == [
        "F-1",
        "F-2",
    ]


def test_put_upserts_an_invoice_by_number(api_for, finance_user, customer):
    api = api_for(finance_user)
    body = {
        "customer": customer.pk,
        "issue_date": "2026-11-01",
        "due_date": "2026-12-01",
        "amount": "200.00",
    }
    first = api.put(f"{BASE}/invoices/by-number/SYNC-1", body)
    assert first.status_code == 201, first.content
    same = api.put(f"{BASE}/invoices/by-number/SYNC-1", body)
    assert same.status_code == 200
    changed = api.put(f"{BASE}/invoices/by-number/SYNC-1", body | {"amount": "250.00"})
    assert changed.status_code == 200, changed.content
    assert Invoice.objects.get(number="SYNC-1").amount == Decimal("250.00")
    assert Invoice.objects.filter(number="SYNC-1").count() == 1


def test_a_sales_rep_records_a_promise_on_their_customer_only(
    api_for, sales_user, other_sales_user, customer
):
    make_invoice(customer, number="PR-1")
    body = {"customer": customer.pk, "promised_date": "2026-11-30", "amount": "1000.00"}
    recorded = api_for(sales_user).post(f"{BASE}/promises", body)
    assert recorded.status_code == 201, recorded.content
    refused = api_for(other_sales_user).post(f"{BASE}/promises", body)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "customer"


def test_idempotency_keys_are_forgotten_after_a_week(api_for, finance_user, customer, clock):
    from core.models import IdempotencyRecord
    from core.tokens import idempotency_purge

    api = api_for(finance_user)
    body = {"customer": customer.pk, "date": "2026-11-17", "amount": "5.00"}
    assert api.post(f"{BASE}/payments", body, **{"Idempotency-Key": "p"}).status_code == 201
    assert idempotency_purge() == 0
    clock.shift(days=8)
    assert idempotency_purge() == 1
    assert not IdempotencyRecord.objects.exists()
