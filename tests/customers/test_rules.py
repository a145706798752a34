"""Business rules have a name in the code and the templates only display them: a pause in
force, a balance beyond the credit limit or the insured cover, a late payer, a dispute
waiting too long. Each is pinned at its edge here, on the rule and on the page."""

import datetime
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from receivables import kpis
from receivables.models import Dispute, Installment
from tests.factories import CustomerFactory, make_invoice
from workplaces.selectors import dashboard

D = Decimal
DAY = datetime.timedelta(days=1)
pytestmark = pytest.mark.calendar  # data built from today


def test_a_pause_is_in_force_until_its_last_day_included():
    day = datetime.date(2026, 11, 18)
    assert Customer(reminders_paused_until=day).reminders_paused_on(day)
    assert Customer(reminders_paused_until=day).reminders_paused_on(day - DAY)
    assert not Customer(reminders_paused_until=day).reminders_paused_on(day + DAY)
    assert not Customer(reminders_paused_until=None).reminders_paused_on(day)


@pytest.mark.django_db
@pytest.mark.parametrize("paused_days", [-1, 0, 1, None])
def test_the_pause_shown_is_the_pause_the_reminders_obey(paused_days):
    """The page's rule and the daily run's ("may be reminded", in SQL) agree at the edge."""
    today = timezone.localdate()
    until = None if paused_days is None else today + paused_days * DAY
    customer = CustomerFactory(reminders_paused_until=until)
    make_invoice(customer, issue_date=today - 40 * DAY, due_date=today - 10 * DAY)
    remindable = Installment.objects.remindable(on=today, grace_days=0)
    assert customer.reminders_paused_on(today) is not remindable.exists()


@pytest.mark.parametrize(
    ("limit", "balance", "beyond"),
    [
        (None, D("1e9"), False),
        (D("100.00"), D("100.00"), False),
        (D("100.00"), D("100.01"), True),
        (D("0.00"), D("0.00"), False),
        (D("0.00"), D("-5.00"), False),
        (D("0.00"), D("0.01"), True),
    ],
)
def test_beyond_a_limit_means_strictly_above_it(limit, balance, beyond):
    assert Customer(credit_limit=limit).exceeds_credit_limit(balance) is beyond
    assert Customer(insured_cover=limit).exceeds_insured_cover(balance) is beyond


def test_a_late_payer_pays_more_than_fifteen_days_late_on_average():
    assert kpis.LATE_PAYER_DAYS == 15
    assert not kpis.is_late_payer(None)
    assert not kpis.is_late_payer(D("15.0"))
    assert kpis.is_late_payer(D("15.1"))


@pytest.mark.django_db
@pytest.mark.parametrize(("opened_days_ago", "waiting_long"), [(30, False), (31, True)])
def test_a_dispute_waits_too_long_after_thirty_days(opened_days_ago, waiting_long):
    assert dashboard.DISPUTE_WAITING_DAYS == 30
    today = timezone.localdate()
    dispute = Dispute.objects.create(
        invoice=make_invoice(), reason=Dispute.Reason.OTHER, opened_at=timezone.now()
    )
    Dispute.objects.filter(pk=dispute.pk).update(opened_at=timezone.now() - opened_days_ago * DAY)
    dispute.refresh_from_db()
    (row,) = dashboard.decorate("disputes", [dispute], today)
    assert row.waiting_long is waiting_long


@pytest.fixture
def en_client(client, finance_user):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(finance_user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("limit", "shown"), [(D("1000.00"), False), (D("999.99"), True), (None, False)]
)
def test_the_pages_show_the_credit_limit_rule(en_client, limit, shown):
    customer = CustomerFactory(credit_limit=limit, insured_cover=limit)
    make_invoice(customer, issue_date=timezone.localdate() - 40 * DAY, amount="1000.00")
    html = en_client.get(customer.get_absolute_url()).content.decode()
    assert ("Over credit limit" in html) is shown
    assert ("Over insured cover" in html) is shown
    section = en_client.get(reverse("workplaces:dashboard_section", args=["credit"]))
    assert (customer.name in section.content.decode()) is shown
    if shown:
        (item,) = section.context["items"]
        assert item.over_credit_limit and item.over_insured_cover


@pytest.mark.django_db
@pytest.mark.parametrize(("until", "shown"), [(0, True), (-1, False)])
def test_the_pages_show_a_pause_in_force_today(en_client, until, shown):
    today = timezone.localdate()
    customer = CustomerFactory(reminders_paused_until=today + until * DAY)
    make_invoice(customer, issue_date=today - 40 * DAY, due_date=today - 10 * DAY)
    html = en_client.get(customer.get_absolute_url()).content.decode()
    assert ('<span class="badge badge-warning">Reminders paused until' in html) is shown
    sales = en_client.get(reverse("workplaces:sales"))
    (row,) = [c for c in sales.context["page"] if c.pk == customer.pk]
    assert row.reminders_paused is shown
    assert ("paused until" in sales.content.decode()) is shown


RULE_FIELDS = re.compile(
    r"\b(credit_limit|insured_cover|reminders_paused_until|average_days_late|age_days)\b"
)
THRESHOLD = re.compile(r"[<>]=?\s*-?(\d+(?:\.\d+)?)")


def test_templates_decide_no_business_rule():
    """No ``{% if %}`` compares a rule's fields (showing them when set is display), nor
    anything with a threshold beyond 0 and 1 (signs and pagination are display)."""
    offenders = []
    for path in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        for tag in re.findall(r"{%\s*(?:el)?if\b(.*?)%}", path.read_text()):
            thresholds = [n for n in THRESHOLD.findall(tag) if n not in ("0", "1")]
            if (RULE_FIELDS.search(tag) and re.search("[<>]", tag)) or thresholds:
                offenders.append(f"{path.name}: {{% if{tag}%}}")
    assert offenders == []
