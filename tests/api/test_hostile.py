"""Hostile JSON posted to every write of the API: whatever comes in, never a 500, and a
refusal (4xx) changes no row of the ledger."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api import schemas as s
from tests.factories import make_invoice
from tests.hostile import strategies as hs
from tests.hostile.ledger import changed, fingerprint

pytestmark = pytest.mark.django_db

WRITES: dict[str, type[s.Schema]] = {
    "POST /api/v1/customers": s.CustomerIn,
    "POST /api/v1/invoices": s.InvoiceIn,
    "PUT /api/v1/invoices/by-number/H-1": s.InvoiceUpsert,
    "POST /api/v1/credit-notes": s.CreditNoteIn,
    "POST /api/v1/payments": s.PaymentIn,
    "POST /api/v1/disputes": s.DisputeIn,
    "POST /api/v1/disputes/{dispute}/resolve": s.DisputeResolveIn,
    "POST /api/v1/promises": s.PromiseIn,
    "POST /api/v1/activities": s.ActivityIn,
}
ALLOWED = {200, 201, 400, 403, 404, 409, 422}


def value_for(name: str, ids: list[int]) -> st.SearchStrategy[Any]:
    scalar = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        hs.hostile_text(300),
    )
    if "date" in name:
        return st.one_of(hs.date_text(), scalar)
    if "amount" in name or name in ("credit_limit", "insured_cover"):
        return st.one_of(hs.amount_text(), scalar)
    if name in ("customer", "invoice", "credited_invoice", "sales_rep"):
        return st.one_of(st.sampled_from(ids), scalar)
    if name in ("invoices", "installments"):
        return st.one_of(st.lists(st.one_of(st.sampled_from(ids), scalar), max_size=4), scalar)
    if name == "plan":
        return st.one_of(
            st.sampled_from(["single", "50_50", "30_30_40", "monthly", "custom"]), scalar
        )
    if name in ("custom", "contacts"):
        item = st.dictionaries(hs.hostile_text(20), scalar, max_size=4)
        return st.one_of(st.lists(item, max_size=3), scalar)
    return scalar


def payloads(schema: type[s.Schema], ids: list[int]) -> st.SearchStrategy[Any]:
    fields = {name: value_for(name, ids) for name in schema.model_fields}
    return st.one_of(
        st.fixed_dictionaries({}, optional=fields),
        st.lists(st.integers(), max_size=3),
        hs.hostile_text(100),
    )


@pytest.mark.parametrize("write", sorted(WRITES))
def test_hostile_json_never_500_and_refusals_change_nothing(write, api_for, finance_user, customer):
    invoice = make_invoice(customer, number="H-0")
    from receivables.models import Dispute

    dispute = Dispute.objects.create(invoice=invoice, reason=Dispute.Reason.PRICE)
    method, url = write.split(" ")
    url = url.replace("{dispute}", str(dispute.pk))
    ids = [customer.pk, invoice.pk, finance_user.pk, 0, 2**63]
    api = api_for(finance_user)

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(payloads(WRITES[write], ids))
    def post(body: Any) -> None:
        raw = json.dumps(body, allow_nan=True).encode()
        with transaction.atomic():
            before = fingerprint()
            response = api.send(method, url, raw=raw)
            assert response.status_code in ALLOWED, (response.status_code, body)
            if response.status_code >= 400:
                assert response["Content-Type"] == "application/problem+json"
                assert not changed(before, fingerprint()), body
            transaction.set_rollback(True)

    post()


LISTS = [
    "/api/v1/customers",
    "/api/v1/invoices",
    "/api/v1/payments",
    "/api/v1/disputes",
    "/api/v1/promises",
    "/api/v1/activities",
    "/api/v1/reminders",
    "/api/v1/imports",
    "/api/v1/aged-balance",
]
PARAMS = ("cursor", "limit", "customer", "status", "kind", "channel", "due_from", "due_to")


@pytest.mark.parametrize("url", LISTS)
def test_hostile_query_strings_never_500(url, api_for, finance_user, customer):
    api = api_for(finance_user)
    values = st.one_of(
        hs.hostile_text(200).map(lambda t: t.replace("\x00", "")),
        hs.date_text(),
        hs.integer_text(),
        st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "2026-13-01"]),
    )
    names = st.sampled_from((*PARAMS, "updated_since", "as_of"))

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.dictionaries(names, values, max_size=4))
    def get(params: dict[str, str]) -> None:
        response = api.get(url, params)
        assert response.status_code in (200, 422), (response.status_code, params)

    get()
