"""core.money: one column type, one formatter, read the same in emails, letters and pages."""

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import models
from django.template import Context, Template
from django.utils import translation

from core.money import MoneyField, format_money, to_cents
from receivables.models import CompanyProfile
from reminders.emails import Recipients, TemplateBook, render_email
from reminders.letters.context import build_letter_context
from reminders.models import ScenarioStep
from reminders.run.state import InstallmentState
from tests.factories import CustomerFactory, make_invoice, make_payment

D = Decimal
NB, NNB = "\u00a0", "\u202f"


# --- the formatter -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "language", "currency", "expected"),
    [
        ("1234.5", "fr", "EUR", f"1{NNB}234,50{NB}€"),
        ("1234567.5", "fr", "EUR", f"1{NNB}234{NNB}567,50{NB}€"),
        ("-1234.5", "fr", "EUR", f"-1{NNB}234,50{NB}€"),
        ("1234.5", "en", "EUR", "€1,234.50"),
        ("-1234.5", "en", "EUR", "-€1,234.50"),
        ("-40", "en", "EUR", "-€40.00"),
        ("0", "en", "EUR", "€0.00"),
        ("-0.00", "fr", "EUR", f"0,00{NB}€"),
        ("-0.004", "en", "EUR", "€0.00"),
        ("0.005", "en", "EUR", "€0.01"),
        ("1234.5", "en", "USD", "$1,234.50"),
        ("-1234.5", "en", "CHF", f"-1,234.50{NB}CHF"),
        ("1234.5", "fr", "CHF", f"1{NNB}234,50{NB}CHF"),
        ("1234.5", "fr-fr", "EUR", f"1{NNB}234,50{NB}€"),
        ("1234.5", "en-gb", "EUR", "€1,234.50"),
        (1234, "en", "EUR", "€1,234.00"),
    ],
)
def test_format_money(amount, language, currency, expected):
    assert format_money(Decimal(amount), language, currency) == expected


def test_format_money_whole_units_round_half_up():
    assert format_money(D("1234.50"), "fr", places=0) == f"1{NNB}235{NB}€"
    assert format_money(D("-1234.49"), "en", places=0) == "-€1,234"


def test_to_cents():
    assert to_cents(None) == D("0.00")
    assert to_cents(1.1) == D("1.10")
    assert str(to_cents(D("2"))) == "2.00"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", f"-1{NNB}234,50{NB}€|12,00{NB}$|||1{NNB}235{NB}€"),
        ("en", "-€1,234.50|$12.00|||€1,235"),
    ],
)
def test_the_money_filter_formats_in_the_active_language(language, expected):
    template = Template(
        "{% load money %}{{ a|money }}|{{ b|money:'USD' }}|{{ none|money }}"
        "|{{ text|money }}|{{ c|money_whole:currency }}"
    )
    context = Context(
        {"a": D("-1234.5"), "b": 12, "none": None, "text": "abc", "c": D("1234.5"),
         "currency": "EUR"}
    )  # fmt: skip
    with translation.override(language):
        assert template.render(context) == expected


# --- the column type ---------------------------------------------------------------------


def test_money_field_keeps_the_precision_out_of_migrations():
    _name, path, _args, kwargs = MoneyField("amount", default=D("0")).deconstruct()
    assert path == "core.money.MoneyField"
    assert kwargs == {"verbose_name": "amount", "default": D("0")}
    field = MoneyField()
    assert (field.max_digits, field.decimal_places) == (14, 2)
    assert MoneyField(max_digits=16).deconstruct()[3] == {"max_digits": 16}


# Decimal columns that are not money: percentages (and the audit trail's copy of one).
NOT_MONEY = {
    "receivables.CompanyProfile.late_interest_rate",
    "receivables.CompanyProfileEvent.late_interest_rate",
    "receivables.ReferenceRate.rate",
    # amount × days late: a weight, not an amount of money
    "receivables.CustomerFigures.late_weight_12m",
}


def test_every_money_column_is_a_money_field():
    decimals = {
        f"{model._meta.label}.{field.name}": field
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.DecimalField)
    }
    money = {label for label, field in decimals.items() if isinstance(field, MoneyField)}
    assert set(decimals) - money == NOT_MONEY
    assert "receivables.Invoice.amount" in money
    assert "customers.Customer.credit_limit" in money


# --- one behaviour everywhere ------------------------------------------------------------


@pytest.mark.django_db
def test_a_negative_english_amount_reads_the_same_in_an_email_a_letter_and_a_page(
    client, finance_user
):
    expected = "-€1,234.50"
    company = CompanyProfile.get()
    company.late_interest_rate = D("12.00")
    company.save()

    # A letter: an overdue invoice and a payment left unallocated, deducted as credit.
    debtor = CustomerFactory(language="en")
    make_invoice(debtor, issue_date=datetime.date(2025, 5, 10), due_date=datetime.date(2025, 6, 10))
    make_payment(debtor, date=datetime.date(2025, 7, 1), amount="1234.50", installments=[])
    letter = build_letter_context(customer=debtor, letter_date=datetime.date(2025, 7, 20))
    assert letter.language == "en"
    assert letter.credit == expected

    # An email whose total is that amount (the renderer formats whatever it is given).
    step = ScenarioStep.objects.get(scenario__is_default=True, position=1)
    installment = InstallmentState(
        id=1, customer_id=debtor.pk, invoice_id=1, invoice_number="F-NEG", currency="EUR",
        sequence=1, issue_date=datetime.date(2026, 10, 1), due_date=datetime.date(2026, 11, 1),
        amount_left=D("-1234.50"),
    )  # fmt: skip
    plan = SimpleNamespace(
        customer=debtor,
        day=datetime.date(2026, 11, 18),
        email_step=step,
        emails=[SimpleNamespace(installment=installment, step=step)],
        others=[],
        email_total=installment.amount_left,
    )
    email = render_email(plan=plan, recipients=Recipients(), company=company, book=TemplateBook())
    assert expected in email.body_text and expected in email.body_html

    # A page: a customer whose only entry is that payment owes a negative balance.
    creditor = CustomerFactory()
    make_payment(creditor, date=datetime.date(2026, 11, 2), amount="1234.50")
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(finance_user)
    page = client.get(creditor.get_absolute_url()).content.decode()
    assert expected in page
