"""``manage.py import_bank_statement``: camt.053 and CSV statements, matching, the queue,
idempotence, dry run and hostile files."""

import datetime
from decimal import Decimal

import pytest

from customers.models import Activity, Customer
from receivables.imports.bank import invoice_numbers_named
from receivables.models import Allocation, BankTransaction, Installment, Payment
from receivables.selectors import aged_balance, ledger_balances, with_balances
from receivables.selectors.bank import match_queue
from reminders.models import Reminder
from reminders.run import reminders_run
from tests.factories import (
    CustomerFactory,
    make_invoice,
    make_payment,
    make_reminder_customer,
    unallocated_credit,
)
from tests.receivables.import_helpers import run_command, run_command_failing, write_csv

NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}"


def entry(
    amount, *, ref, ccy="EUR", cd="CRDT", day="2026-11-16", ustrd="", e2e="", name="",
    iban="", rtr="", rvsl=False, strd="", mndt="",
):  # fmt: skip
    rmt = f"<Ustrd>{ustrd}</Ustrd>" if ustrd else ""
    if strd:
        rmt += f"<Strd><CdtrRefInf><Ref>{strd}</Ref></CdtrRefInf></Strd>"
    party = "Dbtr" if cd == "CRDT" else "Cdtr"
    return f"""
    <Ntry>
      <Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>{cd}</CdtDbtInd>
      {"<RvslInd>true</RvslInd>" if rvsl else ""}
      <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{day}</Dt></BookgDt>
      {f"<AcctSvcrRef>{ref}</AcctSvcrRef>" if ref else ""}
      <NtryDtls><TxDtls>
        <Refs><EndToEndId>{e2e or "NOTPROVIDED"}</EndToEndId>
          {f"<MndtId>{mndt}</MndtId>" if mndt else ""}</Refs>
        <RltdPties><{party}><Nm>{name}</Nm></{party}>
          <{party}Acct><Id><IBAN>{iban}</IBAN></Id></{party}Acct></RltdPties>
        {f"<RmtInf>{rmt}</RmtInf>" if rmt else ""}
        {f"<RtrInf><Rsn><Cd>{rtr}</Cd></Rsn></RtrInf>" if rtr else ""}
      </TxDtls></NtryDtls>
    </Ntry>"""


def camt(tmp_path, *entries, version="08", name="statement.xml"):
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{NS.format(version=version)}">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-17T06:00:00</CreDtTm></GrpHdr>
    <Stmt><Id>S1</Id>
      <Acct><Id><IBAN>FR7630006000011234567890189</IBAN></Id></Acct>
      {"".join(entries)}
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""
    path = tmp_path / name
    path.write_text(xml, encoding="utf-8")
    return path


def run(path, *args):
    return run_command("import_bank_statement", path, *args)


def run_failing(path, *args):
    return run_command_failing("import_bank_statement", path, *args)


def snapshot():
    return (
        sorted(BankTransaction.objects.values_list("import_key", "status", "payment_id")),
        sorted(Payment.objects.values_list("amount", "allocated_amount")),
        sorted(Installment.objects.values_list("pk", "paid_amount")),
    )


@pytest.fixture
def ledger(db):
    acme = CustomerFactory(customer_ref="411ACME", name="Acme SARL")
    other = CustomerFactory(customer_ref="411BETA", name="Beta SA")
    day = datetime.date(2026, 10, 1)
    invoices = {
        "F-100": make_invoice(acme, number="F-100", issue_date=day, due_date=day, amount="500.00"),
        "F-101": make_invoice(acme, number="F-101", issue_date=day, due_date=day, amount="80.00"),
        "F-200": make_invoice(other, number="F-200", issue_date=day, due_date=day, amount="250.00"),
        "F-300": make_invoice(other, number="F-300", issue_date=day, due_date=day, amount="90.00"),
    }
    return acme, other, invoices


def full_statement(tmp_path, **kwargs):
    return camt(
        tmp_path,
        entry("500.00", ref="B1", ustrd="411ACME F-100", name="ACME", iban="FR76111"),
        entry("80.00", ref="B2", ustrd="F-101 et F-200", name="ACME"),
        entry("12.34", ref="B3", ustrd="merci", name="Inconnu"),
        entry("300.00", ref="B4", e2e="F-200", name="Beta SA"),
        entry("90.00", ref="B5", strd="F-300", name="Beta SA"),
        entry("45.00", ref="B6", cd="DBIT", ustrd="Loyer", name="Bailleur"),
        entry("80.00", ref="B7", ccy="USD", ustrd="F-101"),
        entry("60.00", ref="B8", cd="DBIT", ustrd="F-100", rtr="AM04", name="Acme SARL"),
        **kwargs,
    )


def by_ref(ref):
    return BankTransaction.objects.get(bank_reference=ref)


def test_a_camt053_statement_matches_queues_and_ignores(tmp_path, ledger):
    acme, _other, invoices = ledger
    out, err = run(full_statement(tmp_path))
    assert err == ""
    assert "credits matched and allocated: 2" in out
    assert "lines waiting in the matching queue: 5" in out
    assert "outgoing debits ignored: 1" in out

    matched = by_ref("B1")
    assert matched.status == BankTransaction.Status.MATCHED
    assert matched.payment.method == Payment.Method.TRANSFER
    assert matched.payment.reference == "B1"
    assert matched.payment.customer == acme and matched.customer == acme
    assert matched.counterparty_iban == "FR76111"
    assert invoices["F-100"].installments.get().paid_amount == Decimal("500.00")
    # A structured creditor reference names an invoice too.
    assert by_ref("B5").status == BankTransaction.Status.MATCHED
    assert invoices["F-300"].installments.get().paid_amount == Decimal("90.00")

    ambiguous = by_ref("B2")
    assert ambiguous.status == BankTransaction.Status.UNMATCHED
    assert "F-101, F-200" in ambiguous.status_reason
    assert "no open invoice" in by_ref("B3").status_reason
    over = by_ref("B4")
    assert over.status == BankTransaction.Status.UNMATCHED and "more than" in over.status_reason
    assert by_ref("B6").status == BankTransaction.Status.IGNORED
    foreign = by_ref("B7")
    assert foreign.status == BankTransaction.Status.UNMATCHED and "USD" in foreign.status_reason
    returned = by_ref("B8")
    # A return whose payment cannot be found waits for a person.
    assert returned.status == BankTransaction.Status.UNMATCHED
    assert "AM04" in returned.status_reason and "no single payment" in returned.status_reason
    # Nothing but the two matched credits moved a balance.
    assert Payment.objects.count() == 2
    assert invoices["F-101"].installments.get().paid_amount == 0
    assert invoices["F-200"].installments.get().paid_amount == 0
    queue = BankTransaction.objects.awaiting_match().values_list("bank_reference", flat=True)
    assert set(queue) == {"B2", "B3", "B4", "B7"}


def test_the_same_statement_twice_changes_nothing(tmp_path, ledger):
    path = full_statement(tmp_path)
    run(path)
    before = snapshot()
    out, _err = run(path)
    assert "bank lines already imported: 8" in out
    assert "credits matched and allocated: 0" in out
    assert snapshot() == before
    # Also when the lines come again in another file, and without a bank reference.
    run(camt(tmp_path, entry("500.00", ref="B1", ustrd="411ACME F-100"), name="other.xml"))
    assert snapshot() == before


def test_lines_without_a_bank_reference_are_recognised_by_their_content(tmp_path, ledger):
    twice = entry("10.00", ref="", ustrd="F-101", name="ACME")
    path = camt(tmp_path, twice, twice)
    run(path)
    assert Payment.objects.count() == 2  # two identical transfers in a file stay two
    before = snapshot()
    run(path)
    assert snapshot() == before


def test_credits_of_one_file_share_what_is_open(tmp_path, ledger):
    _acme, _other, invoices = ledger
    run(
        camt(
            tmp_path,
            entry("60.00", ref="C1", ustrd="F-101"),
            entry("60.00", ref="C2", ustrd="F-101"),
        )
    )
    assert by_ref("C1").status == BankTransaction.Status.MATCHED
    assert by_ref("C2").status == BankTransaction.Status.UNMATCHED
    assert invoices["F-101"].installments.get().paid_amount == Decimal("60.00")


def test_an_invoice_number_is_named_only_as_a_whole_word():
    assert invoice_numbers_named("paiement f-10 ", {"F-10", "F-100"}) == {"F-10"}
    assert invoice_numbers_named("F-1000 F-1", {"F-10", "F-100"}) == set()


@pytest.mark.parametrize("version", ["02", "04", "13"])
def test_every_camt053_version_from_001_02(tmp_path, ledger, version):
    run(camt(tmp_path, entry("500.00", ref="V1", ustrd="F-100"), version=version))
    assert by_ref("V1").status == BankTransaction.Status.MATCHED


def test_dry_run_writes_nothing(tmp_path, ledger):
    before = snapshot()
    out, _err = run(full_statement(tmp_path), "--dry-run")
    assert "nothing was written" in out
    assert "credits matched and allocated: 2" in out
    assert snapshot() == before


def test_a_csv_statement(tmp_path, ledger):
    _acme, _other, invoices = ledger
    path = write_csv(
        tmp_path,
        [
            "2026-11-16,500.00,EUR,VIR 411ACME F-100,ACME,FR76 111,REF1",
            '16/11/2026,"-45,00",EUR,Loyer,Bailleur,,REF2',
            "2026-11-16,80.00,,facture F-101,ACME,,",
        ],
        header="date,amount,currency,reference,counterparty_name,counterparty_iban,bank_reference",
        name="statement.csv",
    )
    out, err = run(path)
    assert err == ""
    assert "credits matched and allocated: 2" in out
    assert BankTransaction.objects.get(bank_reference="REF1").counterparty_iban == "FR76111"
    assert BankTransaction.objects.get(bank_reference="REF2").status == "ignored"
    assert invoices["F-101"].installments.get().paid_amount == Decimal("80.00")
    before = snapshot()
    run(path)
    assert snapshot() == before


def test_a_credit_quoting_an_invoices_creditor_reference_is_matched(tmp_path, ledger):
    acme, _other, invoices = ledger
    invoice = invoices["F-101"]
    invoice.payment_reference = "RF18539007547034"
    invoice.save()
    statement = camt(
        tmp_path,
        # Spaced and in lower case as a payer types it, without the invoice number.
        entry("80.00", ref="P1", ustrd="virement rf18 5390 0754 7034 merci", name="X"),
        # A structured creditor reference with wrong check digits names nothing.
        entry("80.00", ref="P2", strd="RF19539007547034", name="Y"),
    )
    out, err = run(statement)
    assert err == "" and "credits matched and allocated: 1" in out
    assert by_ref("P1").payment.customer == acme
    assert invoice.installments.get().paid_amount == Decimal("80.00")
    assert by_ref("P2").status == "unmatched"


@pytest.mark.parametrize("amount", ["NaN", "sNaN", "Infinity", "-Infinity", "1E+999", "abc"])
def test_an_amount_that_is_no_number_is_refused_with_its_line(tmp_path, ledger, amount):
    # Found by hypothesis in CI: "sNaN" raised InvalidOperation out of the reader.
    before = snapshot()
    _error, err = run_failing(camt(tmp_path, entry(amount, ref="N1", ustrd="F-100")))
    assert "the entry has no valid amount." in err and "Traceback" not in err
    assert snapshot() == before


def test_a_payers_text_that_looks_like_a_formula_does_not_block_the_statement(tmp_path, ledger):
    # A payer chooses their remittance text: refusing it would let them block the import.
    path = write_csv(
        tmp_path,
        ['2026-11-16,500.00,EUR,"=HYPERLINK(""x"") F-100",@ACME,,REF9'],
        header="date,amount,currency,reference,counterparty_name,counterparty_iban,bank_reference",
        name="statement.csv",
    )
    out, err = run(path)
    assert err == "" and "credits matched and allocated: 1" in out
    assert BankTransaction.objects.get(bank_reference="REF9").counterparty_name == "@ACME"


def test_every_bad_entry_is_reported_and_nothing_imported(tmp_path, ledger):
    path = camt(
        tmp_path,
        entry("500.00", ref="G1", ustrd="F-100"),
        entry("abc", ref="G2"),
        entry("10.00", ref="G3", cd="XXXX"),
        entry("10.00", ref="G4", day="2027-01-01"),
    )
    error, err = run_failing(path)
    assert "3 errors found" in str(error)
    assert "no valid amount" in err and "CdtDbtInd" in err and "future" in err
    assert "line " in err
    assert BankTransaction.objects.count() == 0 and Payment.objects.count() == 0


BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">&lol2;</Document>"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">&xxe;</Document>"""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (BOMB, "DTD"),
        (EXTERNAL, "DTD"),
        ('<?xml version="1.0"?><Document xmlns="urn:x"><a>', "truncated"),
        ('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"/>', "camt.053"),
        ('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.01"/>', "001.02"),
    ],
)
def test_hostile_or_foreign_xml_is_refused_with_a_message(tmp_path, db, content, message):
    path = tmp_path / "bad.xml"
    path.write_text(content)
    _error, err = run_failing(path)
    assert message in err
    assert "Traceback" not in err
    assert BankTransaction.objects.count() == 0


def test_a_missing_file_is_a_message(tmp_path, db):
    _error, err = run_failing(tmp_path / "none.xml")
    assert "File not found" in err


@pytest.fixture
def debited(db, company_profile):
    """A customer paying by direct debit whose October invoice was collected."""
    gamma = make_reminder_customer("411GAMMA", direct_debit=True)
    day = datetime.date(2026, 10, 15)
    invoice = make_invoice(gamma, number="F-400", issue_date=day, due_date=day, amount="900.00")
    payment = make_payment(
        gamma, date=datetime.date(2026, 11, 10), amount="900.00", invoice=invoice,
        method=Payment.Method.DIRECT_DEBIT, reference="E2E-DD-1",
    )  # fmt: skip
    return gamma, invoice, payment


def test_a_returned_direct_debit_reverses_its_payment_and_reminds(tmp_path, debited, clock):
    gamma, invoice, payment = debited
    today = clock.today
    assert reminders_run(run_date=today).sent == 0  # collected, and paid by direct debit
    statement = camt(
        tmp_path,
        entry("900.00", ref="R1", cd="DBIT", e2e="E2E-DD-1", rtr="AM04", day="2026-11-16"),
    )
    out, err = run(statement)
    assert err == "" and "returned payments reversed: 1" in out

    line = BankTransaction.objects.get(bank_reference="R1")
    assert line.status == BankTransaction.Status.RETURNED
    assert line.payment == payment and line.customer == gamma
    payment.refresh_from_db()
    assert payment.returned_on == datetime.date(2026, 11, 16)
    assert payment.allocated_amount == 0
    assert invoice.installments.get().paid_amount == 0
    # History kept: the allocation and its reversal.
    assert sorted(Allocation.objects.filter(payment=payment).values_list("amount", flat=True)) == [
        Decimal("-900.00"), Decimal("900.00"),
    ]  # fmt: skip
    assert unallocated_credit(gamma) == 0  # the returned money is no credit
    note = Activity.objects.get(customer=gamma, kind=Activity.Kind.PAYMENT)
    assert "AM04 insufficient funds" in note.summary

    # The next daily run reminds the installment despite the direct-debit flag.
    assert reminders_run(run_date=today).sent == 1
    reminder = Reminder.objects.get(customer=gamma, channel=Reminder.Channel.EMAIL)
    assert reminder.items.get().installment == invoice.installments.get()

    # The same return again changes nothing.
    before = snapshot()
    out, _err = run(statement)
    assert "bank lines already imported: 1" in out
    assert snapshot() == before


def test_a_return_is_found_by_amount_and_customer(tmp_path, debited):
    gamma, _invoice, payment = debited
    run(camt(tmp_path, entry("900.00", ref="R2", cd="DBIT", rtr="MD06", name=gamma.name)))
    line = BankTransaction.objects.get(bank_reference="R2")
    assert line.status == BankTransaction.Status.RETURNED and line.payment == payment
    # Another amount names no payment.
    run(camt(tmp_path, entry("12.00", ref="R3", cd="DBIT", rvsl=True, name=gamma.name), name="b"))
    assert BankTransaction.objects.get(bank_reference="R3").status == "unmatched"


def test_a_return_is_found_by_the_customers_sepa_mandate(tmp_path, debited):
    gamma, _invoice, payment = debited
    gamma.sepa_mandate = "RUM-GAMMA-0001"
    gamma.save()
    # The bank names neither the end-to-end id nor the customer as Relance knows it: only
    # the mandate (another mandate names nobody, and nothing moves).
    run(camt(tmp_path, entry("900.00", ref="R4", cd="DBIT", rtr="AC06", mndt="RUM-OTHER")))
    assert BankTransaction.objects.get(bank_reference="R4").status == "unmatched"
    run(camt(tmp_path, entry("900.00", ref="R5", cd="DBIT", rtr="AC06", mndt="RUM-GAMMA-0001",
                             name="GAMMA INDUSTRIE SAS"), name="b"))  # fmt: skip
    line = BankTransaction.objects.get(bank_reference="R5")
    assert line.status == BankTransaction.Status.RETURNED and line.payment == payment
    payment.refresh_from_db()
    assert payment.returned_on is not None


def test_the_matching_queue_proposes_invoices_with_their_reason(
    tmp_path, ledger, finance_user, django_assert_max_num_queries
):
    # An earlier credit from Beta's account teaches its IBAN.
    run(camt(tmp_path, entry("90.00", ref="K0", ustrd="F-300", iban="FR76BETA"), name="a"))
    run(
        camt(
            tmp_path,
            entry("80.00", ref="K1", ustrd="F-101 F-200", name="x"),  # two named
            entry("80.00", ref="K2", ustrd="merci", name="acme sarl"),  # name, exact amount
            entry("250.00", ref="K3", ustrd="virement", iban="FR76BETA"),  # known IBAN
            entry("77.00", ref="K4", ustrd="?", name="Acme SARL"),  # no such amount
            entry("80.00", ref="K5", ustrd="F-101", ccy="USD"),  # another currency
            name="b",
        )
    )
    with django_assert_max_num_queries(6):
        queue = {q.transaction.bank_reference: q for q in match_queue(user=finance_user)}
    assert set(queue) == {"K1", "K2", "K3", "K4", "K5"}

    def proposed(ref):
        return [(p.invoice.number, p.reason) for p in queue[ref].proposals]

    assert [n for n, _r in proposed("K1")] == ["F-101", "F-200"]
    assert "named" in proposed("K1")[0][1]
    assert proposed("K2") == [
        ("F-101", "Acme SARL, recognised by its name, has one open invoice of exactly this amount")
    ]
    assert proposed("K3") == [
        (
            "F-200",
            "Beta SA, recognised by a known IBAN, has one open invoice of exactly this amount",
        )
    ]
    assert proposed("K4") == [] and proposed("K5") == []


def test_the_queue_proposes_the_invoice_whose_creditor_reference_is_quoted(
    tmp_path, ledger, finance_user
):
    _acme, _other, invoices = ledger
    invoices["F-100"].payment_reference = "RF18539007547034"
    invoices["F-100"].save()
    # More than is open on it: it waits, with that invoice proposed.
    run(camt(tmp_path, entry("900.00", ref="Q1", ustrd="RF18 5390 0754 7034")))
    [line] = match_queue(user=finance_user)
    assert [p.invoice.number for p in line.proposals] == ["F-100"]
    assert "named" in line.proposals[0].reason


def test_a_returned_payment_counted_until_its_return_day(tmp_path, debited, clock):
    gamma, _invoice, _payment = debited
    run(camt(tmp_path, entry("900.00", ref="R1", cd="DBIT", e2e="E2E-DD-1", rtr="AC06")))
    before_return, after_return = datetime.date(2026, 11, 12), clock.today
    for as_of, expected in ((before_return, Decimal("0.00")), (after_return, Decimal("900.00"))):
        reference = ledger_balances(customer_ids=[gamma.pk], as_of=as_of)[gamma.pk]
        assert reference.total == expected
        row = with_balances(Customer.objects.filter(pk=gamma.pk), as_of).get()
        assert row.total == expected
        rows = {r["customer_ref"]: r for r in aged_balance(user=None, as_of=as_of).rows}
        assert rows.get("411GAMMA", {"total": Decimal("0.00")})["total"] == expected


def test_an_entry_batching_transactions_gives_one_line_each(tmp_path, ledger):
    _acme, _other, invoices = ledger

    def tx(amount, text, ref):
        return f"""<TxDtls><Refs><AcctSvcrRef>{ref}</AcctSvcrRef></Refs>
          <AmtDtls><TxAmt><Amt Ccy="EUR">{amount}</Amt></TxAmt></AmtDtls>
          <RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls>"""

    batch = f"""<Ntry><Amt Ccy="EUR">750.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
      <Sts>BOOK</Sts><BookgDt><Dt>2026-11-16</Dt></BookgDt><AcctSvcrRef>BATCH</AcctSvcrRef>
      <NtryDtls>{tx("500.00", "F-100", "T1")}{tx("250.00", "F-200", "T2")}</NtryDtls></Ntry>"""
    path = camt(tmp_path, batch, version="02")
    out, _err = run(path)
    assert "credits matched and allocated: 2" in out
    assert invoices["F-100"].installments.get().paid_amount == Decimal("500.00")
    assert invoices["F-200"].installments.get().paid_amount == Decimal("250.00")
    assert set(BankTransaction.objects.values_list("bank_reference", flat=True)) == {"T1", "T2"}
    before = snapshot()
    run(path)
    assert snapshot() == before


def test_a_credit_quoting_a_customers_creditor_reference_is_matched_for_sure(tmp_path, ledger):
    """The reference of the amount due (emails, letters, the customer's page, the QR
    code) names the customer: paid oldest installment first, the excess (a formal
    notice's interest) kept as the customer's credit."""
    from receivables.references import (
        customer_creditor_reference,
        format_creditor_reference,
        invoice_creditor_reference,
    )

    acme, other, invoices = ledger
    acme_ref = customer_creditor_reference(acme.pk)
    f200 = invoices["F-200"].pk
    statement = camt(
        tmp_path,
        # Spaced as printed, in the structured field, by a payer nobody knows.
        entry("550.00", ref="C1", strd=format_creditor_reference(acme_ref), name="Unknown"),
        # More than what is open on Beta (340.00, 90.00 once C3 is paid): matched, the
        # rest left as credit.
        entry("400.00", ref="C2", ustrd=customer_creditor_reference(other.pk), name="Z"),
        # An invoice's reference of ours names that invoice.
        entry("250.00", ref="C3", ustrd=invoice_creditor_reference(invoice_id=f200)),
        # A customer that does not exist names nobody.
        entry("10.00", ref="C4", ustrd=customer_creditor_reference(10**9)),
    )
    out, err = run(statement)
    assert err == "" and "credits matched and allocated: 3" in out
    c1 = by_ref("C1")
    assert c1.status == "matched" and c1.payment.customer == acme and c1.customer == acme
    assert invoices["F-100"].installments.get().paid_amount == Decimal("500.00")
    assert invoices["F-101"].installments.get().paid_amount == Decimal("50.00")
    assert by_ref("C2").status == "matched" and by_ref("C2").payment.customer == other
    # The credits naming an invoice are recorded first (C3 pays F-200), then the
    # customer's: C2 pays what is left (F-300), the rest is Beta's credit.
    assert by_ref("C3").status == "matched"
    assert by_ref("C3").payment.allocations.get().installment.invoice == invoices["F-200"]
    assert invoices["F-200"].installments.get().paid_amount == Decimal("250.00")
    assert invoices["F-300"].installments.get().paid_amount == Decimal("90.00")
    assert unallocated_credit(other) == Decimal("310.00")
    assert by_ref("C4").status == "unmatched" and by_ref("C4").status_code == "none_named"
