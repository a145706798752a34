"""Late interest and the recovery indemnity: hand-computed cases, property tests against a
day-by-day model of the rules, and the selector over the ledger."""

import datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from receivables.interest import (
    RECOVERY_INDEMNITY,
    DueAmount,
    MissingReferenceRateError,
    RateTable,
    customer_late_claims,
    half_year_label,
    half_years_between,
    late_interest,
    load_rate_table,
)
from receivables.models import Dispute, ReferenceRate
from receivables.services import invoice_cancel
from tests.factories import CustomerFactory, make_invoice, make_payment

D = datetime.date
SEED = RateTable(
    (
        (D(2022, 1, 1), Decimal("0.00")),
        (D(2022, 7, 1), Decimal("0.00")),
        (D(2023, 1, 1), Decimal("2.50")),
        (D(2023, 7, 1), Decimal("4.00")),
        (D(2024, 1, 1), Decimal("4.50")),
        (D(2024, 7, 1), Decimal("4.25")),
        (D(2025, 1, 1), Decimal("3.15")),
        (D(2025, 7, 1), Decimal("2.15")),
        (D(2026, 1, 1), Decimal("2.15")),
    )
)


def due(amount: str, due_date: datetime.date, *payments: tuple[datetime.date, str]) -> DueAmount:
    return DueAmount(due_date, Decimal(amount), tuple((d, Decimal(a)) for d, a in payments))


def periods(result) -> list[tuple]:
    return [(p.start, p.end, p.days, p.base, p.rate) for p in result.periods]


# --- hand-computed cases --------------------------------------------------------------------


def test_design_example_two_half_years():
    # 1000 € due 10 June 2025, unpaid on 20 July: 20 days (11-30 June) at 3.15 + 10 and
    # 20 days (1-20 July) at 2.15 + 10.
    # 1000 x 13.15 x 20 / 36500 = 7.2054… ; 1000 x 12.15 x 20 / 36500 = 6.6575… ; 13.8630 -> 13.86
    result = late_interest([due("1000.00", D(2025, 6, 10))], as_of=D(2025, 7, 20), rates=SEED)
    assert periods(result) == [
        (D(2025, 6, 11), D(2025, 6, 30), 20, Decimal("1000.00"), Decimal("13.15")),
        (D(2025, 7, 1), D(2025, 7, 20), 20, Decimal("1000.00"), Decimal("12.15")),
    ]
    assert [p.reference_rate for p in result.periods] == [Decimal("3.15"), Decimal("2.15")]
    assert [p.interest for p in result.periods] == [Decimal("7.21"), Decimal("6.66")]
    assert result.interest == Decimal("13.86")
    assert result.rates == (Decimal("13.15"), Decimal("12.15"))


def test_partial_payment_in_the_middle_stops_interest_on_the_part_paid():
    # 400 paid on 20 June: the 400 bears 10 days (20 - 10), the 600 bears 40 days.
    # 1000x13.15x10 + 600x13.15x10 + 600x12.15x20 = 131500 + 78900 + 145800 = 356200
    # 356200 / 36500 = 9.7589… -> 9.76
    result = late_interest(
        [due("1000.00", D(2025, 6, 10), (D(2025, 6, 20), "400.00"))],
        as_of=D(2025, 7, 20),
        rates=SEED,
    )
    assert periods(result) == [
        (D(2025, 6, 11), D(2025, 6, 20), 10, Decimal("1000.00"), Decimal("13.15")),
        (D(2025, 6, 21), D(2025, 6, 30), 10, Decimal("600.00"), Decimal("13.15")),
        (D(2025, 7, 1), D(2025, 7, 20), 20, Decimal("600.00"), Decimal("12.15")),
    ]
    assert result.interest == Decimal("9.76")


def test_days_are_the_difference_of_dates():
    # Due 10 March, paid 20 March: 10 days. 1000 x 13.15 x 10 / 36500 = 3.6027… -> 3.60
    result = late_interest(
        [due("1000.00", D(2025, 3, 10), (D(2025, 3, 20), "1000.00"))],
        as_of=D(2025, 12, 31),
        rates=SEED,
    )
    assert periods(result) == [
        (D(2025, 3, 11), D(2025, 3, 20), 10, Decimal("1000.00"), Decimal("13.15"))
    ]
    assert result.interest == Decimal("3.60")


def test_payment_before_due_date_and_on_due_date_owes_nothing():
    on_time = due("500.00", D(2025, 3, 10), (D(2025, 3, 10), "500.00"))
    early = due("500.00", D(2025, 3, 10), (D(2025, 2, 1), "500.00"))
    result = late_interest([on_time, early], as_of=D(2025, 6, 1), rates=SEED)
    assert result.periods == ()
    assert result.interest == Decimal("0.00")


def test_not_yet_due_and_due_today_owe_nothing():
    result = late_interest(
        [due("500.00", D(2025, 3, 10)), due("500.00", D(2025, 4, 1))],
        as_of=D(2025, 3, 10),
        rates=SEED,
    )
    assert result.interest == Decimal("0.00")


def test_installments_add_up_when_they_fall_due():
    # 500 due 31 Jan, 500 due 28 Feb 2025, as of 10 March:
    # 500 x 13.15 x 28 + 1000 x 13.15 x 10 = 184100 + 131500 = 315600 / 36500 = 8.6465… -> 8.65
    result = late_interest(
        [due("500.00", D(2025, 1, 31)), due("500.00", D(2025, 2, 28))],
        as_of=D(2025, 3, 10),
        rates=SEED,
    )
    assert periods(result) == [
        (D(2025, 2, 1), D(2025, 2, 28), 28, Decimal("500.00"), Decimal("13.15")),
        (D(2025, 3, 1), D(2025, 3, 10), 10, Decimal("1000.00"), Decimal("13.15")),
    ]
    assert result.interest == Decimal("8.65")


def test_contract_rate_replaces_the_legal_rate():
    # 1000 x 12 x 40 / 36500 = 13.1506… -> 13.15, one period, no ECB reference.
    result = late_interest(
        [due("1000.00", D(2025, 6, 10))],
        as_of=D(2025, 7, 20),
        rates=SEED,
        contract_rate=Decimal("12.00"),
    )
    assert periods(result) == [
        (D(2025, 6, 11), D(2025, 7, 20), 40, Decimal("1000.00"), Decimal("12.00"))
    ]
    assert result.periods[0].reference_rate is None
    assert result.interest == Decimal("13.15")


def test_a_365_day_year_even_in_a_leap_year():
    # 28 Feb 2024 due; days 29 Feb and 1 Mar: 1000 x 14.50 x 2 / 36500 = 0.7945… -> 0.79
    result = late_interest([due("1000.00", D(2024, 2, 28))], as_of=D(2024, 3, 1), rates=SEED)
    assert result.periods[0].days == 2
    assert result.interest == Decimal("0.79")


def test_a_year_long_delay_across_three_half_years():
    # 2000 due 15 Nov 2023 as of 15 Jan 2025:
    # 2023 H2 (16 Nov-31 Dec, 46 d) at 14.00; 2024 H1 (182 d) at 14.50;
    # 2024 H2 (184 d) at 14.25; 2025 H1 (1-15 Jan, 15 d) at 13.15.
    # 2000 x (644 + 2639 + 2622 + 197.25) = 12,204,500 / 36500 = 334.369… -> 334.37
    result = late_interest([due("2000.00", D(2023, 11, 15))], as_of=D(2025, 1, 15), rates=SEED)
    assert [(p.days, p.rate) for p in result.periods] == [
        (46, Decimal("14.00")),
        (182, Decimal("14.50")),
        (184, Decimal("14.25")),
        (15, Decimal("13.15")),
    ]
    numerator = 2000 * (
        Decimal("14.00") * 46
        + Decimal("14.50") * 182
        + Decimal("14.25") * 184
        + Decimal("13.15") * 15
    )
    expected = (numerator / 36500).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert result.interest == expected == Decimal("334.37")


def test_equal_rates_on_both_sides_of_new_year_merge_into_one_period():
    # 2025 H2 and 2026 H1 are both 2.15: one period at 12.15.
    result = late_interest([due("100.00", D(2025, 12, 1))], as_of=D(2026, 1, 31), rates=SEED)
    assert periods(result) == [
        (D(2025, 12, 2), D(2026, 1, 31), 61, Decimal("100.00"), Decimal("12.15"))
    ]


def test_rate_of_half_year_is_the_one_in_force_on_its_first_day():
    # An ECB change on 11 June applies from the next half-year only.
    table = RateTable(((D(2025, 1, 1), Decimal("3.15")), (D(2025, 6, 11), Decimal("2.15"))))
    result = late_interest([due("1000.00", D(2025, 6, 1))], as_of=D(2025, 7, 2), rates=table)
    assert [(p.days, p.rate) for p in result.periods] == [
        (29, Decimal("13.15")),
        (2, Decimal("12.15")),
    ]
    assert not table.is_confirmed(D(2025, 7, 2))
    assert table.is_confirmed(D(2025, 3, 2))


def test_missing_rate_is_an_error_naming_the_half_year():
    with pytest.raises(MissingReferenceRateError) as err:
        late_interest([due("1000.00", D(2021, 12, 1))], as_of=D(2022, 1, 10), rates=SEED)
    assert err.value.half_year_start == D(2021, 7, 1)


# --- property tests against a day-by-day model ------------------------------------------------


def day_by_day(dues: list[DueAmount], as_of: datetime.date, contract_rate=None) -> Decimal:
    """The rules read literally: every day D from the day after a due date to ``as_of``
    bears interest on what was unpaid at the end of D - 1, at the rate of D's half-year."""
    total = Decimal(0)
    start = min((d.due_date for d in dues), default=as_of) + datetime.timedelta(days=1)
    day = start
    while day <= as_of:
        base = sum(
            (d.unpaid_after(day - datetime.timedelta(days=1)) for d in dues if d.due_date < day),
            Decimal(0),
        )
        if base > 0:
            rate = contract_rate if contract_rate is not None else SEED.ecb_rate_for(day) + 10
            total += base * rate
        day += datetime.timedelta(days=1)
    return (total / 36500).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


cents = st.integers(min_value=1, max_value=5_000_000).map(lambda c: Decimal(c) / 100)
days_2022_2026 = st.dates(min_value=D(2022, 1, 1), max_value=D(2026, 12, 31))


@st.composite
def installments(draw) -> DueAmount:
    due_date = draw(days_2022_2026)
    amount = draw(cents)
    left = amount
    allocations = []
    for _ in range(draw(st.integers(0, 3))):
        if left <= 0:
            break
        part = min(left, draw(cents))
        allocations.append((draw(days_2022_2026), part))
        left -= part
    return DueAmount(due_date, amount, tuple(allocations))


@settings(max_examples=150, deadline=None)
@given(
    dues=st.lists(installments(), min_size=1, max_size=4),
    as_of=days_2022_2026,
    contract=st.one_of(st.none(), st.sampled_from([Decimal("8.00"), Decimal("12.37")])),
)
def test_matches_the_day_by_day_model(dues, as_of, contract):
    result = late_interest(dues, as_of=as_of, rates=SEED, contract_rate=contract)
    assert result.interest == day_by_day(dues, as_of, contract)
    # Periods are ordered, disjoint, inside the interest window, never on a zero base.
    for before, after in zip(result.periods, result.periods[1:], strict=False):
        assert before.end < after.start
    for p in result.periods:
        assert p.base > 0 and p.days >= 1 and p.end <= as_of
        if contract is None:
            for start in half_years_between(p.start, p.end):
                assert SEED.ecb_rate_for(start) + 10 == p.rate
        else:
            assert p.rate == contract
    # Rounded once: the total is the rounding of the exact sum of the periods.
    exact = sum((p.exact_interest for p in result.periods), Decimal(0))
    assert abs(result.interest - exact) <= Decimal("0.005")


@settings(max_examples=80, deadline=None)
@given(due_=installments(), as_of=days_2022_2026, extra_day=days_2022_2026, part=cents)
def test_a_further_payment_never_increases_interest(due_, as_of, extra_day, part):
    before = late_interest([due_], as_of=as_of, rates=SEED).interest
    left = due_.amount - sum((a for _, a in due_.allocations), Decimal(0))
    if left <= 0:
        return
    paid_more = DueAmount(
        due_.due_date, due_.amount, (*due_.allocations, (extra_day, min(part, left)))
    )
    assert late_interest([paid_more], as_of=as_of, rates=SEED).interest <= before


@settings(max_examples=60, deadline=None)
@given(due_=installments(), as_of=days_2022_2026, later=st.integers(1, 400))
def test_interest_already_accrued_stays_due(due_, as_of, later):
    """Interest never decreases as time passes, whatever is paid in between."""
    first = late_interest([due_], as_of=as_of, rates=SEED).interest
    then = as_of + datetime.timedelta(days=later)
    if then > D(2026, 12, 31):
        return
    assert late_interest([due_], as_of=then, rates=SEED).interest >= first


# --- the selector over the ledger ---------------------------------------------------------------


@pytest.mark.django_db
def test_seeded_rate_table_matches_design():
    table = load_rate_table()
    assert table == SEED or set(SEED.entries) <= set(table.entries)
    assert ReferenceRate.objects.in_force_on(D(2025, 9, 1)).rate == Decimal("2.15")


@pytest.mark.django_db
def test_customer_claim_with_partial_payment_and_indemnity():
    customer = CustomerFactory()
    make_invoice(
        customer, number="F-1", issue_date=D(2025, 5, 10), due_date=D(2025, 6, 10), amount="1000"
    )
    make_payment(customer, date=D(2025, 6, 20), amount="400.00")
    claim = customer_late_claims(customer=customer, as_of=D(2025, 7, 20))
    (inv,) = claim.invoices
    assert (inv.amount, inv.paid, inv.left, inv.overdue_left) == (
        Decimal("1000.00"),
        Decimal("400.00"),
        Decimal("600.00"),
        Decimal("600.00"),
    )
    assert inv.days_late == 40
    assert inv.interest.interest == Decimal("9.76")
    assert inv.indemnity == RECOVERY_INDEMNITY == Decimal("40.00")
    assert claim.total == Decimal("649.76")
    assert claim.unconfirmed_half_years == ()


@pytest.mark.django_db
def test_claim_ignores_later_payments_paid_disputed_cancelled_and_future_invoices():
    customer = CustomerFactory()
    make_invoice(
        customer, number="LATE", issue_date=D(2025, 5, 10), due_date=D(2025, 6, 10), amount="1000"
    )
    disputed = make_invoice(
        customer, number="DISP", issue_date=D(2025, 5, 1), due_date=D(2025, 6, 1), amount="50"
    )
    Dispute.objects.create(invoice=disputed, reason=Dispute.Reason.PRICE)
    cancelled = make_invoice(
        customer, number="CANC", issue_date=D(2025, 5, 1), due_date=D(2025, 6, 1), amount="70"
    )
    invoice_cancel(invoice=cancelled, reason="Mistyped")
    make_invoice(
        customer, number="LATER", issue_date=D(2025, 8, 1), due_date=D(2025, 9, 1), amount="80"
    )
    make_invoice(
        customer,
        number="PLAN",
        issue_date=D(2025, 6, 1),
        due_date=D(2025, 6, 30),
        amount="900",
        plan="monthly",
        parts=3,
    )
    # Paid in August, after the as-of date: it does not count yet.
    make_payment(customer, date=D(2025, 8, 5), amount="1000.00")
    claim = customer_late_claims(customer=customer, as_of=D(2025, 7, 20))
    assert [c.invoice.number for c in claim.invoices] == ["LATE", "PLAN"]
    late, plan = claim.invoices
    assert late.overdue_left == Decimal("1000.00") and late.interest.interest == Decimal("13.86")
    # Only the first third (due 30 June) is overdue on 20 July.
    assert plan.overdue_left == Decimal("300.00")
    assert plan.not_yet_due == Decimal("600.00")
    assert plan.days_late == 20
    # 300 x 12.15 x 20 / 36500 = 1.9972… -> 2.00
    assert plan.interest.interest == Decimal("2.00")
    assert claim.indemnities == Decimal("80.00")
    assert claim.principal == Decimal("1300.00")
    # Disputed invoices can be listed on request (the recovery file).
    with_disputed = customer_late_claims(
        customer=customer, as_of=D(2025, 7, 20), include_disputed=True
    )
    assert "DISP" in [c.invoice.number for c in with_disputed.invoices]


@pytest.mark.django_db
def test_claim_queries_are_bounded(django_assert_num_queries):
    customer = CustomerFactory()
    for i in range(5):
        make_invoice(customer, issue_date=D(2025, 1, 1 + i), amount="100", plan="50_50")
    make_payment(customer, date=D(2025, 3, 1), amount="120.00")
    with django_assert_num_queries(4):
        claim = customer_late_claims(customer=customer, as_of=D(2025, 6, 1))
    assert len(claim.invoices) == 5


@pytest.mark.django_db
def test_unconfirmed_half_year_is_reported():
    customer = CustomerFactory()
    make_invoice(customer, issue_date=D(2026, 5, 1), due_date=D(2026, 6, 1), amount="100")
    claim = customer_late_claims(customer=customer, as_of=D(2026, 7, 15))
    # No row starts on 1 July 2026 in the seed: the 2.15 of 1 January is carried over.
    assert claim.unconfirmed_half_years == (D(2026, 7, 1),)
    assert claim.invoices[0].interest.rates == (Decimal("12.15"),)
    with translation.override("en"):
        assert claim.unconfirmed_half_year_labels == ["second half of 2026"]
    with translation.override("fr"):
        assert claim.unconfirmed_half_year_labels == ["second semestre 2026"]
    assert half_year_label(D(2027, 1, 1)).endswith("2027")
