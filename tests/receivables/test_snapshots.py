"""Monthly aged-balance snapshots: the task and its schedule, immutability and
idempotence, the downloads, and requesting one for a past month end from the page."""

import csv
import datetime
import importlib
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule
from pypdf import PdfReader

from core import access
from receivables import kpis, snapshots, tasks
from receivables.models import AgedBalanceSnapshot, AgedBalanceSnapshotRow, CompanyProfile
from receivables.selectors import aged_balance
from tests.factories import CustomerFactory, make_invoice, make_payment, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]  # data built from today
D = Decimal
d = datetime.date
MARCH_END = d(2026, 3, 31)
PARIS = ZoneInfo("Europe/Paris")
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
HTMX = {"HTTP_HX_REQUEST": "true"}
EXPECTED_CSV = (
    "customer_ref,customer_name,not_due,d1_30,d31_60,d61_90,d90_plus,total\n"
    "A,Alpha,0.00,0.00,600.00,0.00,0.00,600.00\n"
    "B,Beta,250.50,0.00,0.00,0.00,99.99,350.49\n"
    "C,Gamma,0.00,1234.56,0.00,0.00,0.00,1234.56\n"
    "TOTAL,,250.50,1234.56,600.00,0.00,99.99,2185.05\n"
)


@pytest.fixture
def ledger(sales_user, other_sales_user):
    """As of 31 March 2026: A owes 600.00 of 1000.00 due 9 Feb (50 days); B owes
    250.50 not due and 99.99 due 31 Oct 2025 (151 days); C owes 1234.56 due 3 Mar (28
    days) and pays it on 5 April (after the month end); D's invoice is issued in April;
    E has paid everything. Customers of two sales reps and of none."""
    a = CustomerFactory(customer_ref="A", name="Alpha", sales_rep=sales_user)
    b = CustomerFactory(customer_ref="B", name="Beta", sales_rep=other_sales_user)
    c = CustomerFactory(customer_ref="C", name="Gamma", sales_rep=None)
    dd = CustomerFactory(customer_ref="D", name="Delta")
    e = CustomerFactory(customer_ref="E", name="Epsilon")
    make_invoice(a, number="A1", issue_date=d(2026, 1, 10), due_date=d(2026, 2, 9), amount="1000")
    make_payment(a, date=d(2026, 3, 15), amount="400.00")
    make_invoice(
        b, number="B0", issue_date=d(2025, 10, 1), due_date=d(2025, 10, 31), amount="99.99"
    )
    make_invoice(b, number="B1", issue_date=d(2026, 3, 20), due_date=d(2026, 4, 19), amount="250.5")
    make_invoice(c, number="C1", issue_date=d(2026, 2, 1), due_date=d(2026, 3, 3), amount="1234.56")
    make_payment(c, date=d(2026, 4, 5), amount="1234.56")
    make_invoice(dd, number="D1", issue_date=d(2026, 4, 2), due_date=d(2026, 5, 2), amount="500")
    make_invoice(e, number="E1", issue_date=d(2026, 1, 5), due_date=d(2026, 2, 4), amount="80")
    make_payment(e, date=d(2026, 2, 1), amount="80.00")
    return {"A": a, "B": b, "C": c, "D": dd, "E": e}


def stored_rows(snapshot) -> list[tuple]:
    return list(
        AgedBalanceSnapshotRow.objects.filter(snapshot=snapshot)
        .order_by("customer_ref")
        .values_list(
            "customer_ref",
            "customer_name",
            "not_due",
            "d1_30",
            "d31_60",
            "d61_90",
            "d90_plus",
            "total",
        )
    )


EXPECTED_ROWS = [
    ("A", "Alpha", D("0.00"), D("0.00"), D("600.00"), D("0.00"), D("0.00"), D("600.00")),
    ("B", "Beta", D("250.50"), D("0.00"), D("0.00"), D("0.00"), D("99.99"), D("350.49")),
    ("C", "Gamma", D("0.00"), D("1234.56"), D("0.00"), D("0.00"), D("0.00"), D("1234.56")),
]


# --- The task and the service ----------------------------------------------------------


def test_monthly_task_stores_the_previous_month_end(ledger):
    result = tasks.take_monthly_snapshot(today="2026-04-01")
    snapshot = AgedBalanceSnapshot.objects.get()
    assert result["as_of"] == "2026-03-31" and result["status"] == "done"
    assert snapshot.as_of == MARCH_END
    assert snapshot.created_by is None
    assert (snapshot.status, snapshot.progress, snapshot.error) == ("done", 100, "")
    assert snapshot.completed_at is not None
    assert stored_rows(snapshot) == EXPECTED_ROWS
    assert snapshot.customer_count == 3
    assert (
        snapshot.not_due,
        snapshot.d1_30,
        snapshot.d31_60,
        snapshot.d61_90,
        snapshot.d90_plus,
        snapshot.total,
    ) == (D("250.50"), D("1234.56"), D("600.00"), D("0.00"), D("99.99"), D("2185.05"))
    # The same figures as the live aged balance of the whole ledger on that date.
    live = aged_balance(user=None, as_of=MARCH_END)
    assert [r["customer_ref"] for r in live.rows] == ["A", "B", "C"]
    assert live.totals["total"] == snapshot.total
    customers = dict(
        AgedBalanceSnapshotRow.objects.filter(snapshot=snapshot).values_list(
            "customer_ref", "customer_id"
        )
    )
    assert customers == {"A": ledger["A"].pk, "B": ledger["B"].pk, "C": ledger["C"].pk}


def test_task_uses_the_intended_run_date_then_today(ledger, clock):
    tasks.take_monthly_snapshot(scheduled_for="2026-05-01T04:00:00+00:00")
    assert AgedBalanceSnapshot.objects.get().as_of == d(2026, 4, 30)
    clock.move_to("2026-03-02T06:00")
    tasks.take_monthly_snapshot()
    assert set(AgedBalanceSnapshot.objects.values_list("as_of", flat=True)) == {
        d(2026, 4, 30),
        d(2026, 2, 28),
    }


def test_month_end_helpers():
    assert snapshots.previous_month_end(d(2026, 3, 1)) == d(2026, 2, 28)
    assert snapshots.previous_month_end(d(2024, 3, 31)) == d(2024, 2, 29)
    assert snapshots.previous_month_end(d(2026, 1, 15)) == d(2025, 12, 31)
    assert snapshots.is_month_end(d(2026, 2, 28))
    assert not snapshots.is_month_end(d(2024, 2, 28))


def test_rerunning_is_idempotent(ledger, django_assert_max_num_queries):
    first = snapshots.snapshot_take_month_end(today=d(2026, 4, 1))
    with django_assert_max_num_queries(2):
        again = tasks.take_monthly_snapshot(today="2026-04-20")
    assert again["snapshot"] == first.pk
    assert AgedBalanceSnapshot.objects.count() == 1
    assert AgedBalanceSnapshotRow.objects.count() == 3


def test_a_done_snapshot_never_changes(ledger, manager_user):
    snapshot = snapshots.snapshot_take_month_end(today=d(2026, 4, 1))
    # A payment recorded later but dated before the month end changes the live aged
    # balance of that date...
    make_payment(ledger["B"], date=d(2026, 3, 30), amount="99.99")
    assert aged_balance(user=None, as_of=MARCH_END).totals["total"] == D("2085.06")
    # ...but neither the schedule, nor a build, nor a request touches the snapshot.
    snapshots.snapshot_take_month_end(today=d(2026, 4, 2))
    snapshots.snapshot_build(snapshot_id=snapshot.pk)
    again, queued = snapshots.snapshot_request(
        as_of=MARCH_END, user=manager_user, today=d(2026, 4, 2)
    )
    assert (again.pk, queued) == (snapshot.pk, False)
    assert stored_rows(snapshot) == EXPECTED_ROWS
    snapshot.refresh_from_db()
    assert snapshot.total == D("2185.05")
    assert snapshot.created_by is None
    # Writing over it is refused outright.
    with pytest.raises(snapshots.SnapshotImmutableError):
        snapshots.snapshot_store(snapshot=snapshot, ab=aged_balance(user=None, as_of=MARCH_END))
    assert AgedBalanceSnapshotRow.objects.count() == 3


def test_a_failed_build_is_recorded_and_can_be_requested_again(
    ledger, manager_user, monkeypatch, django_capture_on_commit_callbacks
):
    def boom(**kwargs):
        raise RuntimeError("database went away")

    snapshot = AgedBalanceSnapshot.objects.create(as_of=MARCH_END, created_by=manager_user)
    monkeypatch.setattr(snapshots, "aged_balance", boom)
    with pytest.raises(RuntimeError):
        snapshots.snapshot_build(snapshot_id=snapshot.pk)
    snapshot.refresh_from_db()
    assert snapshot.status == "failed"
    assert "database went away" in snapshot.error
    assert not AgedBalanceSnapshotRow.objects.exists()

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        again, queued = snapshots.snapshot_request(
            as_of=MARCH_END, user=manager_user, today=d(2026, 4, 2)
        )
    assert queued and again.pk == snapshot.pk
    snapshot.refresh_from_db()
    assert snapshot.status == "done"
    assert stored_rows(snapshot) == EXPECTED_ROWS


@pytest.mark.parametrize(
    ("as_of", "code"),
    [
        (d(2026, 4, 30), "future"),
        (d(2026, 3, 30), "not_month_end"),
        (d(2026, 4, 15), "not_month_end"),
    ],
)
def test_only_past_month_ends_may_be_requested(manager_user, as_of, code):
    with pytest.raises(ValidationError) as excinfo:
        snapshots.snapshot_request(as_of=as_of, user=manager_user, today=d(2026, 4, 15))
    assert excinfo.value.code == code
    assert not AgedBalanceSnapshot.objects.exists()


def test_the_current_month_end_waits_for_tomorrow(manager_user):
    with pytest.raises(ValidationError) as excinfo:
        snapshots.snapshot_request(as_of=MARCH_END, user=manager_user, today=MARCH_END)
    assert excinfo.value.code == "month_not_over"


# --- The schedule ----------------------------------------------------------------------


def test_the_monthly_schedule_exists_after_migrations():
    schedule = Schedule.objects.get(name="monthly-aged-balance-snapshot")
    assert schedule.func == "receivables.tasks.take_monthly_snapshot"
    assert schedule.schedule_type == Schedule.MONTHLY
    assert schedule.repeats == -1
    assert schedule.intended_date_kwarg == "scheduled_for"
    assert schedule.next_run.astimezone(PARIS).time() == datetime.time(6, 0)
    assert schedule.next_run.astimezone(PARIS).day == 1


def test_the_migration_schedules_the_next_first_of_the_month(clock):
    """The migration's next run, computed today (the test database was migrated at the
    real time, so the migration's function is run again at the frozen one)."""
    migration = importlib.import_module("receivables.migrations.0004_monthly_snapshot_schedule")
    migration.create_schedule(django_apps, None)
    schedule = Schedule.objects.get(name="monthly-aged-balance-snapshot")
    first = kpis.month_end(clock.today) + datetime.timedelta(days=1)
    assert schedule.next_run == datetime.datetime(first.year, first.month, 1, 6, tzinfo=PARIS)
    assert schedule.next_run > timezone.now()


def test_the_schedule_keeps_six_am_paris_across_dst():
    schedule = Schedule(schedule_type=Schedule.MONTHLY)
    march = datetime.datetime(2026, 3, 1, 6, 0, tzinfo=PARIS)  # winter time
    april = schedule.calculate_next_run(march.astimezone(datetime.UTC))
    assert april.astimezone(PARIS) == datetime.datetime(2026, 4, 1, 6, 0, tzinfo=PARIS)


# --- Pages and downloads ---------------------------------------------------------------


@pytest.fixture
def done_snapshot(ledger):
    return snapshots.snapshot_take_month_end(today=d(2026, 4, 1))


@pytest.fixture
def manager_client(client, manager_user):
    client.force_login(manager_user)
    return client


def download(snapshot, fmt: str) -> str:
    return reverse(f"reports:snapshot_{fmt}", args=[snapshot.pk])


def test_csv_download(manager_client, done_snapshot):
    response = manager_client.get(download(done_snapshot, "csv"), **EN)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="aged-balance-snapshot-2026-03-31.csv"' in response["Content-Disposition"]
    assert response.content.decode() == EXPECTED_CSV


def test_xlsx_download(manager_client, done_snapshot):
    response = manager_client.get(download(done_snapshot, "xlsx"))
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    expected = list(csv.reader(io.StringIO(EXPECTED_CSV)))
    assert values[0] == expected[0]
    for got, want in zip(values[1:], expected[1:], strict=True):
        assert got[:2] == [want[0], want[1] or None]
        assert [D(str(v)).quantize(D("0.01")) for v in got[2:]] == [D(v) for v in want[2:]]


def test_pdf_download(manager_client, done_snapshot):
    response = manager_client.get(download(done_snapshot, "pdf"), **EN)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Aged balance as of" in text
    for figure in ("2,185.05", "1,234.56", "350.49", "99.99", "Gamma"):
        assert figure in text


def test_pdf_names_the_company_from_its_one_profile(manager_client, done_snapshot, settings):
    """The creditor's name comes from the company profile, the one place it is kept (there
    is no setting for it)."""
    CompanyProfile.objects.create(name="Ateliers Martin SARL")
    assert not hasattr(settings, "RELANCE_COMPANY_NAME")
    response = manager_client.get(download(done_snapshot, "pdf"), **EN)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Ateliers Martin SARL" in text


def test_downloads_wait_until_done(manager_client, manager_user):
    pending = AgedBalanceSnapshot.objects.create(as_of=MARCH_END, created_by=manager_user)
    assert manager_client.get(download(pending, "csv")).status_code == 404


@pytest.mark.parametrize("role", [access.SALES, None])
def test_sales_reps_and_others_are_refused(client, done_snapshot, role):
    client.force_login(make_user(role, f"refused_{role}"))
    urls = [
        reverse("reports:home"),
        reverse("reports:snapshot_detail", args=[done_snapshot.pk]),
        *(download(done_snapshot, fmt) for fmt in ("csv", "xlsx", "pdf")),
    ]
    for url in urls:
        assert client.get(url).status_code == 403, url
    response = client.post(reverse("reports:snapshot_create"), {"as_of": "2026-02-28"})
    assert response.status_code == 403
    assert AgedBalanceSnapshot.objects.count() == 1


def test_anonymous_users_are_sent_to_the_login_page(client, done_snapshot):
    response = client.get(download(done_snapshot, "csv"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_finance_may_download(client, finance_user, done_snapshot):
    client.force_login(finance_user)
    assert client.get(download(done_snapshot, "csv"), **EN).content.decode() == EXPECTED_CSV


def test_requesting_a_past_month_end_from_the_page(
    manager_client, ledger, manager_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = manager_client.post(
            reverse("reports:snapshot_create"), {"as_of": "2026-03-31"}, **EN
        )
    snapshot = AgedBalanceSnapshot.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:snapshot_detail", args=[snapshot.pk])
    assert (snapshot.status, snapshot.created_by) == ("pending", manager_user)
    assert len(callbacks) == 1  # the task is queued only once the row is committed

    # While it waits, the page polls a small fragment every 2 seconds.
    page = manager_client.get(response["Location"], **EN).content.decode()
    assert "is being prepared" in page
    assert 'hx-trigger="every 2s"' in page
    fragment = manager_client.get(response["Location"], **EN, **HTMX)
    assert fragment["Vary"] and "HX-Request" in fragment["Vary"]
    body = fragment.content.decode()
    assert "<html" not in body
    assert 'id="snapshot-status"' in body and 'hx-trigger="every 2s"' in body
    assert "<progress" in body

    callbacks[0]()  # the queued task, run synchronously (Q_CLUSTER sync under pytest)
    snapshot.refresh_from_db()
    assert snapshot.status == "done"
    assert stored_rows(snapshot) == EXPECTED_ROWS
    body = manager_client.get(response["Location"], **EN, **HTMX).content.decode()
    assert "hx-trigger" not in body  # done: the polling stops
    assert "2,185.05" in body and "Gamma" in body
    assert download(snapshot, "pdf") in body


def test_requesting_an_existing_month_end_shows_it(manager_client, done_snapshot, monkeypatch):
    queued = []
    monkeypatch.setattr(snapshots, "_queue_build", queued.append)
    response = manager_client.post(
        reverse("reports:snapshot_create"), {"as_of": "2026-03-31"}, follow=True, **EN
    )
    assert response.redirect_chain[-1][0] == reverse(
        "reports:snapshot_detail", args=[done_snapshot.pk]
    )
    assert "already exists" in response.content.decode()
    assert queued == []
    assert AgedBalanceSnapshot.objects.count() == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2999-12-31", "is in the future"),
        ("2026-03-30", "is not the last day of a month"),
        ("31/03/2026x", "Enter a valid date"),
        ("", "Enter a month end"),
    ],
)
def test_bad_dates_are_refused_with_a_clear_message(manager_client, value, message):
    response = manager_client.post(reverse("reports:snapshot_create"), {"as_of": value}, **EN)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AgedBalanceSnapshot.objects.exists()


def test_dashboard_lists_snapshots(manager_client, done_snapshot):
    page = manager_client.get(reverse("reports:home"), **EN).content.decode()
    assert reverse("reports:snapshot_detail", args=[done_snapshot.pk]) in page
    assert download(done_snapshot, "xlsx") in page
    assert "Monthly schedule" in page
