import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from receivables.plans import PlanKind, build_plan, split_by_weights

D = Decimal
START = datetime.date(2026, 1, 31)

totals = st.decimals(min_value=D("0.00"), max_value=D("99999999.99"), places=2, allow_nan=False)


@given(
    total=totals,
    kind=st.sampled_from([PlanKind.SINGLE, PlanKind.HALVES, PlanKind.THIRTY_THIRTY_FORTY]),
)
def test_fixed_plans_sum_to_total_to_the_cent(total, kind):
    parts = build_plan(total=total, first_due=START, kind=kind)
    assert sum(p.amount for p in parts) == total
    assert all(p.amount >= 0 and p.amount == p.amount.quantize(D("0.01")) for p in parts)


@given(total=totals, n=st.integers(min_value=1, max_value=120))
def test_monthly_plans_sum_to_total_and_are_within_a_cent_of_each_other(total, n):
    parts = build_plan(total=total, first_due=START, kind=PlanKind.MONTHLY, parts=n)
    assert sum(p.amount for p in parts) == total
    if total:
        assert len(parts) == n
        amounts = [p.amount for p in parts]
        # the last part absorbs the rounding: at most n-1 cents more than the others
        assert max(amounts[:-1] or [amounts[0]]) == min(amounts[:-1] or [amounts[0]])
        assert amounts[-1] - amounts[0] < D("0.01") * n


@given(
    weights=st.lists(st.integers(min_value=1, max_value=1000), min_size=1, max_size=30),
    total=totals,
)
def test_split_by_weights_never_loses_a_cent(weights, total):
    assert sum(split_by_weights(total, weights)) == total


def test_thirty_thirty_forty_dates_and_amounts():
    parts = build_plan(total=D("1000.00"), first_due=START, kind=PlanKind.THIRTY_THIRTY_FORTY)
    assert [(p.due_date, p.amount) for p in parts] == [
        (datetime.date(2026, 1, 31), D("300.00")),
        (datetime.date(2026, 2, 28), D("300.00")),
        (datetime.date(2026, 3, 31), D("400.00")),
    ]


def test_fifty_fifty_odd_cent_goes_to_the_last_part():
    parts = build_plan(total=D("100.01"), first_due=START, kind=PlanKind.HALVES)
    assert [p.amount for p in parts] == [D("50.00"), D("50.01")]


def test_monthly_three_parts_of_one_hundred():
    parts = build_plan(total=D("100.00"), first_due=START, kind=PlanKind.MONTHLY, parts=3)
    assert [p.amount for p in parts] == [D("33.33"), D("33.33"), D("33.34")]


def test_custom_plan_must_sum_to_total():
    with pytest.raises(ValidationError, match=r"sum to 90\.00"):
        build_plan(
            total=D("100.00"),
            first_due=START,
            kind=PlanKind.CUSTOM,
            custom=[(START, D("40.00")), (START + datetime.timedelta(days=30), D("50.00"))],
        )


def test_custom_plan_accepted():
    parts = build_plan(
        total=D("100.00"),
        first_due=START,
        kind=PlanKind.CUSTOM,
        custom=[(START, D("40.00")), (START + datetime.timedelta(days=10), D("60.00"))],
    )
    assert [p.amount for p in parts] == [D("40.00"), D("60.00")]


@pytest.mark.parametrize("bad", [{"kind": PlanKind.MONTHLY, "parts": 0}, {"kind": "weekly"}])
def test_bad_plans_are_refused(bad):
    with pytest.raises(ValidationError):
        build_plan(total=D("10.00"), first_due=START, **bad)
