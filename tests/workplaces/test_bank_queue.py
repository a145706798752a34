"""The bank matching queue page (/imports/bank/): what it lists, its in-place actions with
htmx, who may use it, and a number of queries that does not grow with the queue."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from customers.models import Activity
from receivables import services
from receivables.models import BankTransaction, Payment
from tests.factories import CustomerFactory, make_invoice, make_payment, make_user
from workplaces.selectors import dashboard

URL = "/imports/bank/"
HTMX = {"HX-Request": "true"}
DAY = datetime.date(2026, 11, 16)
ISSUED = datetime.date(2026, 10, 1)


def make_line(amount="500.00", *, ref="B1", **kwargs) -> BankTransaction:
    defaults = {
        "import_key": ref,
        "date": DAY,
        "amount": Decimal(amount),
        "currency": "EUR",
        "direction": BankTransaction.Direction.CREDIT,
        "bank_reference": ref,
        "remittance": "VIR F-100 F-101",
        "counterparty_name": "Acme SARL",
        "counterparty_iban": "FR7611112222333344445555666",
        "status": BankTransaction.Status.UNMATCHED,
        "status_reason": "several open invoices named: F-100, F-101.",
    }
    return BankTransaction.objects.create(**(defaults | kwargs))


@pytest.fixture
def ledger(db):
    acme = CustomerFactory(customer_ref="411ACME", name="Acme SARL")
    beta = CustomerFactory(customer_ref="411BETA", name="Beta SA")
    invoices = {
        number: make_invoice(
            customer, number=number, issue_date=ISSUED, due_date=ISSUED, amount=amount
        )
        for number, customer, amount in (
            ("F-100", acme, "500.00"),
            ("F-101", acme, "80.00"),
            ("F-200", beta, "250.00"),
        )
    }
    return acme, beta, invoices


@pytest.fixture
def client(client):
    """Pages in English, the source language the assertions are written in."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def finance_client(client, finance_user):
    client.force_login(finance_user)
    return client


def post(client, name, line, data=None, *, htmx=True):
    url = reverse(f"imports:{name}", args=[line.pk])
    return client.post(url, data or {}, headers=HTMX if htmx else {})


def test_the_page_lists_each_credit_with_its_proposals(finance_client, ledger):
    make_line()
    make_line(
        "12.34", ref="B3", remittance="merci", counterparty_name="Inconnu",
        counterparty_iban="", status_reason="no open invoice named.",
    )  # fmt: skip
    make_line(
        "80.00", ref="B7", currency="USD", status_reason="in USD: the ledger is kept in EUR only."
    )
    response = finance_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Bank matching queue (3)" in html  # the page title
    for text in (
        "Acme SARL", "FR7611112222333344445555666", "VIR F-100 F-101",
        "several open invoices named: F-100, F-101.", "no open invoice named.",
        "named in the payment", "€500.00", "€80.00", "in USD",
        "A credit in another currency never moves a balance",
    ):  # fmt: skip
        assert text in html, text
    assert html.count(">Confirm<") == 2  # F-100 and F-101, proposed for the first line
    assert 'hx-post="/imports/bank/' in html


def test_confirm_with_htmx_replaces_the_row_by_its_outcome(finance_client, finance_user, ledger):
    acme, _beta, invoices = ledger
    line = make_line()
    response = post(finance_client, "bank_confirm", line, {"invoice": invoices["F-100"].pk})
    assert response.status_code == 200
    assert "HX-Request" in response["Vary"]
    html = response.content.decode()
    assert f'id="bank-line-{line.pk}"' in html and 'data-status="matched"' in html
    assert "Matched to F-100." in html
    assert 'id="bank-queue-count"' in html and 'hx-swap-oob="true"' in html
    line.refresh_from_db()
    assert line.status == BankTransaction.Status.MATCHED and line.handled_by == finance_user
    assert sum(i.paid_amount for i in invoices["F-100"].installments.all()) == Decimal("500.00")
    # The customer page shows the invoice paid.
    page = finance_client.get(acme.get_absolute_url()).content.decode()
    assert "F-100" in page


def test_a_refusal_comes_back_in_the_row_and_changes_nothing(finance_client, ledger):
    _acme, _beta, invoices = ledger
    line = make_line()
    services.invoice_cancel(invoice=invoices["F-101"], reason="duplicate")
    response = post(finance_client, "bank_confirm", line, {"invoice": invoices["F-101"].pk})
    html = response.content.decode()
    assert 'role="alert"' in html and "cancelled" in html
    assert 'data-status="unmatched"' in html
    line.refresh_from_db()
    assert line.status == BankTransaction.Status.UNMATCHED and Payment.objects.count() == 0


def test_split_assign_set_aside_and_undo_in_place(finance_client, ledger):
    _acme, beta, _invoices = ledger
    split = make_line("560.00", ref="S1")
    response = post(
        finance_client,
        "bank_split",
        split,
        {"invoice_0": "f-100", "amount_0": "450.00", "invoice_1": "F-101", "amount_1": "80"},
    )
    assert "Split across F-100, F-101." in response.content.decode()
    split.refresh_from_db()
    assert split.payment.allocated_amount == Decimal("530.00")

    # A split with another customer's invoice is refused, what was typed is kept.
    other = make_line("100.00", ref="S2")
    response = post(
        finance_client,
        "bank_split",
        other,
        {"invoice_0": "F-200", "amount_0": "50", "invoice_1": "F-100", "amount_1": "50"},
    )
    html = response.content.decode()
    assert "one customer" in html and 'value="F-200"' in html
    assert '<details class="wl-action" open' in html
    response = post(finance_client, "bank_split", other, {"invoice_0": "F-999", "amount_0": "5"})
    assert "No invoice numbered F-999." in response.content.decode()

    post(finance_client, "bank_assign", other, {"customer": "411BETA"})
    other.refresh_from_db()
    assert other.status == BankTransaction.Status.MATCHED and other.customer == beta
    assert other.payment.allocated_amount == 0

    aside = make_line("7.00", ref="S3")
    response = post(finance_client, "bank_set_aside", aside, {"reason": "Supplier refund"})
    html = response.content.decode()
    assert "Set aside: Supplier refund" in html and "Undo" in html
    assert "Supplier refund" in finance_client.get(URL).content.decode()
    response = post(finance_client, "bank_undo", aside)
    assert 'data-status="unmatched"' in response.content.decode()
    aside.refresh_from_db()
    assert aside.status == BankTransaction.Status.UNMATCHED


def test_a_plain_post_redirects_with_a_message(finance_client, ledger):
    _acme, _beta, invoices = ledger
    line = make_line()
    response = post(
        finance_client, "bank_confirm", line, {"invoice": invoices["F-100"].pk}, htmx=False
    )
    assert response.status_code == 302 and response["Location"] == URL
    response = post(finance_client, "bank_set_aside", line, {"reason": "x"}, htmx=False)
    page = finance_client.get(response["Location"]).content.decode()
    assert "already handled" in page


@pytest.mark.parametrize("role", ["sales", "manager"])
def test_sales_reps_and_managers_get_403(client, ledger, role):
    _acme, _beta, invoices = ledger
    line = make_line()
    client.force_login(make_user(role))
    assert client.get(URL).status_code == 403
    for name, data in (
        ("bank_confirm", {"invoice": invoices["F-100"].pk}),
        ("bank_assign", {"customer": "411ACME"}),
        ("bank_set_aside", {"reason": "x"}),
        ("bank_undo", {}),
        ("bank_split", {"invoice_0": "F-100", "amount_0": "1"}),
    ):
        assert post(client, name, line, data).status_code == 403
    line.refresh_from_db()
    assert line.status == BankTransaction.Status.UNMATCHED


def test_anonymous_visitors_are_sent_to_log_in(client, ledger):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_returned_direct_debits_of_the_last_30_days(finance_client, ledger, clock):
    acme, _beta, invoices = ledger
    payment = make_payment(
        acme, date=DAY - datetime.timedelta(days=5), amount="80.00", invoice=invoices["F-101"],
        method=Payment.Method.DIRECT_DEBIT,
    )  # fmt: skip
    services.payment_return(payment=payment, on=DAY, reason="AM04 insufficient funds")
    debit = BankTransaction.Direction.DEBIT
    make_line(
        "80.00", ref="R1", direction=debit, status=BankTransaction.Status.RETURNED,
        return_code="AM04", payment=payment, customer=acme,
        status_reason="returned direct debit (AM04 insufficient funds).",
    )  # fmt: skip
    make_line(
        "60.00", ref="R0", date=clock.today - datetime.timedelta(days=40), direction=debit,
        return_code="MD06", status_reason="returned direct debit (MD06 refund).",
    )  # fmt: skip
    html = finance_client.get(URL).content.decode()
    assert "AM04 insufficient funds" in html
    assert f'href="{invoices["F-101"].get_absolute_url()}">F-101</a>' in html
    assert "MD06" not in html  # older than 30 days


def test_a_returned_direct_debit_is_on_the_finance_worklist(ledger, finance_user, clock):
    """Issue #11: the return's reason on the customer's timeline and on the worklist, as
    a next action due today, until someone follows it up."""
    acme, _beta, invoices = ledger
    payment = make_payment(
        acme, date=DAY, amount="80.00", invoice=invoices["F-101"],
        method=Payment.Method.DIRECT_DEBIT,
    )  # fmt: skip
    services.payment_return(payment=payment, on=DAY, reason="AM04 insufficient funds")
    rows = list(dashboard.follow_ups(user=finance_user, today=clock.today))
    assert [r.customer for r in rows] == [acme]
    assert "AM04 insufficient funds" in rows[0].summary
    assert rows[0].kind == Activity.Kind.PAYMENT


def test_the_dashboard_links_to_the_queue_with_its_size(finance_client, ledger, client):
    make_line()
    html = finance_client.get(reverse("workplaces:dashboard")).content.decode()
    assert "Bank matching queue (1)" in html and URL in html
    client.force_login(make_user("manager"))
    assert "Bank matching queue" not in client.get(reverse("workplaces:dashboard")).content.decode()


def test_the_page_queries_do_not_grow_with_the_queue(
    finance_client, ledger, django_assert_max_num_queries
):
    def fill(n, start):
        for i in range(start, start + n):
            make_line(str(10 + i), ref=f"Q{i}", counterparty_name=f"Payer {i}")
            make_line("7.00", ref=f"A{i}", status=BankTransaction.Status.IGNORED,
                      set_aside_reason="refund")  # fmt: skip

    fill(2, 0)
    finance_client.get(URL)  # warm the session and the user
    with django_assert_max_num_queries(14) as small:
        assert finance_client.get(URL).status_code == 200
    fill(25, 2)
    with django_assert_max_num_queries(len(small.captured_queries)):
        html = finance_client.get(URL).content.decode()
    assert "Bank matching queue (27)" in html


def test_the_reason_is_shown_in_the_readers_language(tmp_path, ledger, finance_user, client):
    """The import stores why a line waits as a key and its values, so a French reader
    sees French whatever the language of whoever imported the statement."""
    from django.utils import translation

    from tests.receivables.test_import_bank import camt, entry, run

    with translation.override("en"):
        run(camt(tmp_path, entry("80.00", ref="L1", ustrd="F-100 F-101", name="x"),
                 entry("9.00", ref="L2", ccy="USD", ustrd="F-100")))  # fmt: skip
    line = BankTransaction.objects.get(bank_reference="L1")
    assert line.status_code == "several_named"
    assert line.status_params == {"numbers": "F-100, F-101"}
    client.force_login(finance_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"
    page = client.get(URL).text
    assert "plusieurs factures ouvertes citées : F-100, F-101." in page
    assert "en USD : le poste clients est tenu en EUR uniquement." in page
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert "several open invoices named: F-100, F-101." in client.get(URL).text
