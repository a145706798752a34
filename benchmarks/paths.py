"""The hot paths read by people: the aged balance, every page of issue #13 through
Django's test client, and the daily escalation decision; each beside its floor."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

from benchmarks import floors
from benchmarks.measure import measure
from benchmarks.report import Row


@dataclass(frozen=True)
class Page:
    name: str
    url: str
    user: str  # "finance" or "rep"
    htmx: bool = False


def pages(*, customer_id: int, invoice_id: int) -> list[Page]:
    """The pages of issue #13's table."""
    return [
        Page("finance dashboard", "/customers/dashboard/", "finance"),
        Page("dashboard totals (htmx)", "/customers/dashboard/?part=totals", "finance", True),
        Page("customer list by balance", "/customers/?sort=-balance", "finance"),
        Page("customer list by overdue", "/customers/?sort=-overdue", "finance"),
        Page("invoice list", "/receivables/invoices/", "finance"),
        Page("invoice list, overdue", "/receivables/invoices/?status=overdue", "finance"),
        Page("aged balance page", "/receivables/aged-balance/", "finance"),
        Page("aged balance CSV", "/receivables/aged-balance.csv", "finance"),
        Page("manager reports", "/reports/", "finance"),
        Page("customer page", f"/customers/{customer_id}/", "finance"),
        Page("invoice page", f"/receivables/invoices/{invoice_id}/", "finance"),
        Page("7-day reminders preview", "/reminders/preview/", "finance"),
        Page("sales rep's home", "/customers/mine/", "rep"),
        Page("sales rep's aged balance", "/receivables/aged-balance/", "rep"),
    ]


def today() -> datetime.date:
    from django.utils import timezone

    return timezone.localdate()


def previous_month_end(day: datetime.date) -> datetime.date:
    return day.replace(day=1) - datetime.timedelta(days=1)


def bench_user(name: str):
    from django.contrib.auth.models import User

    from benchmarks.data import USER_PREFIX

    return User.objects.get(username=USER_PREFIX + name)


# --- the aged balance -------------------------------------------------------------------


def aged_balance_rows(repeat: int) -> list[Row]:
    from receivables.selectors import aged_balance

    day = today()
    month_end = previous_month_end(day)
    rep = bench_user("rep00")
    cases: list[tuple[str, datetime.date, object]] = [
        ("aged balance, today", day, None),
        (f"aged balance, {month_end}", month_end, None),
        ("aged balance, today, one sales rep", day, rep),
    ]
    rows = []
    for label, as_of, user in cases:
        subject = measure(
            lambda as_of=as_of, user=user: aged_balance(user=user, as_of=as_of, today=day).totals,
            repeat=repeat,
        )
        floor = measure(
            lambda as_of=as_of, user=user: floors.aged_balance_totals(
                as_of=as_of, today=day, rep_id=user.pk if user else None
            ),
            repeat=repeat,
        )
        rows.append(Row(label, subject, floor, note="totals per bucket compared"))
    return rows


# --- pages ------------------------------------------------------------------------------


@contextmanager
def web_settings():
    """The project's settings as served, but with the benchmark's URLs (the floor view
    beside the real ones), the test client's host name, plain HTTP and static files
    without a manifest (nothing was collected)."""
    from django.conf import settings
    from django.test import override_settings

    with override_settings(
        ROOT_URLCONF="benchmarks.urls",
        ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],
        SECURE_SSL_REDIRECT=False,
        STORAGES=settings.STORAGES
        | {"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}},
    ):
        yield


def clients() -> dict[str, object]:
    from django.test import Client

    result = {}
    for key, name in (("finance", "finance"), ("rep", "rep00")):
        client = Client(raise_request_exception=False)  # a 500 is an answer, not a crash
        client.force_login(bench_user(name))
        result[key] = client
    return result


def sample_ids() -> tuple[int, int]:
    """The customer with the most invoices (the heaviest customer page) and the first
    invoice in three installments."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT customer_id FROM receivables_invoice GROUP BY customer_id "
            "ORDER BY count(*) DESC, customer_id LIMIT 1"
        )
        customer = cursor.fetchone()[0]
        cursor.execute("SELECT min(invoice_id) FROM receivables_installment WHERE sequence = 3")
        invoice = cursor.fetchone()[0] or 1
    return customer, invoice


def _getter(client, url: str, htmx: bool) -> Callable[[], int]:
    headers = {"HX-Request": "true"} if htmx else {}

    def get() -> int:
        response = client.get(url, headers=headers)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        else:
            len(response.content)
        return response.status_code

    return get


def page_query_counts() -> dict[str, int | None]:
    """Each page's query count (one request each, after a warm-up request)."""
    with web_settings():
        by_user = clients()
        customer, invoice = sample_ids()
        counts = {}
        for page in pages(customer_id=customer, invoice_id=invoice):
            counts[page.name] = measure(
                _getter(by_user[page.user], page.url, page.htmx), repeat=1
            ).queries
    return counts


def page_rows(
    repeat: int,
    small_counts: dict[str, int | None] | None = None,
    on_row: Callable[[Row], None] | None = None,
) -> list[Row]:
    """Every page beside the minimal view requested by the same user; the answer compared
    is the HTTP status (200 for both). ``on_row`` is told of each row when measured."""
    rows = []
    with web_settings():
        by_user = clients()
        customer, invoice = sample_ids()
        floor_url = f"/__bench__/floor/?pk={customer}"
        floor_of = {
            user: measure(_getter(client, floor_url, False), repeat=repeat)
            for user, client in by_user.items()
        }
        for page in pages(customer_id=customer, invoice_id=invoice):
            subject = measure(_getter(by_user[page.user], page.url, page.htmx), repeat=repeat)
            rows.append(
                Row(
                    page.name,
                    subject,
                    floor_of[page.user],
                    queries_small=(small_counts or {}).get(page.name),
                )
            )
            if on_row is not None:
                on_row(rows[-1])
    return rows


# --- the daily escalation decision ------------------------------------------------------


def run_day(day: datetime.date) -> datetime.date:
    """The day itself if reminders leave on it, else the next day they do."""
    from reminders.run.plan import is_business_day

    while not is_business_day(day):
        day += datetime.timedelta(days=1)
    return day


def planned_first_steps(result) -> tuple[int, object]:
    """(installments planned, their amount left) of a dry run's plans."""
    from core.money import ZERO

    items = [i for p in result.plans for i in (*p.emails, *p.letters, *p.tasks)]
    return len(items), sum((i.installment.amount_left for i in items), ZERO)


def escalation_row(repeat: int, queries_small: int | None = None) -> Row:
    from reminders.services import reminders_dry_run

    day = run_day(today())
    subject = measure(
        lambda: planned_first_steps(reminders_dry_run(run_date=day)), repeat=repeat, memory=True
    )
    floor = measure(lambda: floors.due_for_first_step(day), repeat=repeat, memory=True)
    return Row(
        f"daily escalation decision (dry run {day})",
        subject,
        floor,
        queries_small=queries_small,
        note="installments planned and their amount left compared",
    )


def escalation_queries() -> int | None:
    from reminders.services import reminders_dry_run

    day = run_day(today())
    return measure(lambda: reminders_dry_run(run_date=day), repeat=1, warmup=False).queries
