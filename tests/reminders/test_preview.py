"""The 7-day preview: figures per day and step, one day's customers (paginated), one
customer's days on demand; always the planner's own simulation."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from reminders import services, views
from reminders.selectors import reminders_preview, reminders_preview_summary
from tests.factories import make_invoice, make_reminder_customer

pytestmark = pytest.mark.django_db
D = datetime.date
START = D(2026, 11, 19)  # tomorrow for the frozen clock (Wed 18 Nov 2026)


def a_ledger(size: int) -> list:
    """Customers at different points of the scenario over the week: first steps due on
    different days, a partly paid one, a second step due after a run, a letter."""
    customers = []
    for i in range(size):
        customer = make_reminder_customer(f"PV{i:03d}", cc="cc@pv.example" if i % 4 == 0 else None)
        due = START - datetime.timedelta(days=(i * 3) % 40)
        make_invoice(customer, issue_date=due - datetime.timedelta(days=30), due_date=due)
        make_invoice(
            customer,
            issue_date=due - datetime.timedelta(days=60),
            due_date=due - datetime.timedelta(days=25 + i % 9),
            amount=f"{200 + 37 * i}.00",
            plan="50_50" if i % 3 == 0 else "single",
        )
        customers.append(customer)
    # Runs some days ago: the next steps follow the scenario's spacing from them.
    for day in (D(2026, 10, 23), D(2026, 10, 30), D(2026, 11, 6), D(2026, 11, 13)):
        services.reminders_run(run_date=day)
    return customers


def expected_counts(preview) -> dict:
    """Per day, {(action, step position): (customers, installments, amounts)} from the
    full simulation."""
    out = {}
    for day in preview.days:
        counts: dict = {}

        def add(action, step, items, counts=counts):
            customers, installments, amounts = counts.get((action, step.position), (0, 0, {}))
            for i in items:
                cur = i.installment.currency
                amounts[cur] = amounts.get(cur, Decimal(0)) + i.installment.amount_left
            counts[(action, step.position)] = (customers + 1, installments + len(items), amounts)

        for plan in day.plans:
            if plan.emails:
                add("email", plan.email_step, plan.emails)
            if plan.letters:
                add("letter", max((i.step for i in plan.letters), key=lambda s: s.position),
                    plan.letters)  # fmt: skip
            for step_id in dict.fromkeys(i.step.id for i in plan.tasks):
                group = [i for i in plan.tasks if i.step.id == step_id]
                add(group[0].step.action, group[0].step, group)
        out[day.day] = counts
    return out


def test_summary_is_the_simulation_counted(finance_user, company_profile):
    a_ledger(14)
    full = reminders_preview(user=finance_user, start=START, days=7)
    summary = reminders_preview_summary(user=finance_user, start=START, days=7)
    got = {
        d.day: {
            (c.action, c.step.position): (c.customers, c.installments, c.amounts) for c in d.counts
        }
        for d in summary.days
    }
    assert got == expected_counts(full)
    assert sum(len(c) for c in got.values()) >= 3  # several steps over the week
    assert [d.business_day for d in summary.days] == [True, True, False, False, True, True, True]
    # The first day with anything is listed, one line per action of each customer.
    first = next(d for d in full.days if d.plans)
    assert summary.listed_day == first.day
    listed = {(line.customer_id, line.action) for line in summary.lines}
    assert listed == {
        (p.customer.id, action)
        for p in first.plans
        for action, items in (("email", p.emails), ("letter", p.letters))
        if items
    } | {(p.customer.id, i.step.action) for p in first.plans for i in p.tasks}
    names = [line.name.casefold() for line in summary.lines]
    assert names == sorted(names)


def test_one_customer_alone_has_the_days_it_has_among_all(finance_user, company_profile):
    customers = a_ledger(8)
    full = reminders_preview(user=finance_user, start=START, days=7)
    for customer in customers[:4]:
        alone = reminders_preview(user=finance_user, start=START, days=7, customer_id=customer.pk)

        def shape(preview, pk=customer.pk):
            return [
                (d.day, p.email_step and p.email_step.id, [i.installment.id for i in p.emails],
                 [i.installment.id for i in p.letters], [i.installment.id for i in p.tasks])
                for d in preview.days for p in d.plans if p.customer.id == pk
            ]  # fmt: skip

        assert shape(alone) == shape(full)
        assert {p.customer.id for d in alone.days for p in d.plans} <= {customer.pk}


def test_the_page_summarises_lists_a_day_and_shows_a_customer(
    client, finance_user, other_sales_user, company_profile, monkeypatch
):
    customers = a_ledger(6)
    monkeypatch.setattr(views, "PREVIEW_PAGE_SIZE", 2)
    client.force_login(finance_user)
    url = reverse("reminders:preview")
    page = client.get(url)
    assert page.status_code == 200
    summary = page.context["summary"]
    assert len(page.context["lines"]) == 2 and page.context["page"].paginator.count > 2
    assert 'rel="next"' in page.content.decode()
    # Another day, and a day outside the week or no date at all: the default listing.
    other_day = next(d.day for d in summary.days if d.counts and d.day != summary.listed_day)
    assert client.get(url, {"day": other_day.isoformat()}).context["summary"].listed_day == (
        other_day
    )
    for bad in ("2030-01-01", "nonsense", ""):
        assert client.get(url, {"day": bad}).context["summary"].listed_day == summary.listed_day
    # One customer's days: that customer only, with the invoices and recipients.
    customer = customers[0]
    detail = client.get(url, {"customer": customer.pk})
    content = detail.content.decode()
    assert detail.status_code == 200 and customer.name in content
    assert "pv000@client.example" in content and customers[1].name not in content
    assert client.get(url, {"customer": "x1"}).context["summary"] is not None  # ignored
    # Outside a user's scope: not found.
    client.force_login(other_sales_user)
    assert client.get(url, {"customer": customer.pk}).status_code == 404
    assert customer.name not in client.get(url).content.decode()
