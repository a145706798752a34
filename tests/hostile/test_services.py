"""The ledger's services called with hostile values, where no form reaches them: a custom
installment plan (its parts' dates and amounts) is built only by the services."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from receivables import services
from receivables.plans import PlanKind
from tests.factories import make_reminder_customer
from tests.hostile import strategies as hs
from tests.hostile.ledger import changed, fingerprint

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]

NUMBERS = itertools.count()


@pytest.fixture
def customer(db):
    return make_reminder_customer("411SVC")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)
@given(
    issue=hs.any_date(),
    due=hs.any_date(),
    amount=hs.any_amount(),
    parts=st.lists(st.tuples(hs.any_date(), hs.any_amount()), min_size=0, max_size=5),
    plan=st.sampled_from(list(PlanKind)),
    count=st.one_of(st.none(), st.integers(min_value=-5, max_value=500)),
    confirmed=st.booleans(),
)
@example(
    issue=hs.FIRST_DAY, due=hs.LAST_DAY, amount=Decimal("1e20"), parts=[], plan=PlanKind.MONTHLY,
    count=120, confirmed=True,
)  # fmt: skip
def test_invoice_create_with_any_plan(customer, issue, due, amount, parts, plan, count, confirmed):
    with transaction.atomic():
        before = fingerprint()
        try:
            services.invoice_create(
                customer=customer,
                number=f"SVC-{next(NUMBERS)}",
                issue_date=issue,
                due_date=due,
                amount=amount,
                plan=plan,
                parts=count,
                custom=parts,
                confirmed=confirmed,
            )
        except ValidationError as error:
            assert error.messages
            assert not changed(before, fingerprint())
        transaction.set_rollback(True)
