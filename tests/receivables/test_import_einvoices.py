"""``manage.py import_einvoices``: Factur-X PDFs, UBL and CII XML, idempotence, matching
customers, and every hostile or wrong file refused with nothing imported."""

import io
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import facturx
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from weasyprint import HTML

from customers.models import Customer
from receivables.imports import einvoices
from receivables.models import CompanyProfile, Installment, Invoice, Payment
from tests.factories import CustomerFactory

ROOT = Path(__file__).resolve().parents[2]
SELLER_SIREN = "732829320"  # a valid SIREN (Luhn)
BUYER_SIREN = "552100554"
BUYER_VAT = "FR96552100554"
OTHER_SIREN = "443061841"


def cii(
    *,
    number="F2026-100",
    type_code="380",
    issue="20261102",
    due="20261202",
    total="1200.00",
    prepaid="200.00",
    payable="1000.00",
    currency="EUR",
    seller_siren=SELLER_SIREN,
    buyer_name="Acheteur SAS",
    buyer_siren=BUYER_SIREN,
    buyer_vat=BUYER_VAT,
    credited="",
    terms="",
) -> bytes:
    due_xml = (
        f"<ram:DueDateDateTime><udt:DateTimeString format='102'>{due}"
        "</udt:DateTimeString></ram:DueDateDateTime>"
        if due
        else ""
    )
    terms_xml = f"<ram:Description>{terms}</ram:Description>" if terms else ""
    siren_xml = (
        f"<ram:SpecifiedLegalOrganization><ram:ID schemeID='0002'>{buyer_siren}</ram:ID>"
        "</ram:SpecifiedLegalOrganization>"
        if buyer_siren
        else ""
    )
    vat_xml = (
        f"<ram:SpecifiedTaxRegistration><ram:ID schemeID='VA'>{buyer_vat}</ram:ID>"
        "</ram:SpecifiedTaxRegistration>"
        if buyer_vat
        else ""
    )
    credited_xml = (
        f"<ram:InvoiceReferencedDocument><ram:IssuerAssignedID>{credited}"
        "</ram:IssuerAssignedID></ram:InvoiceReferencedDocument>"
        if credited
        else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice
 xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
 xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
 <rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>
  <ram:ID>urn:factur-x.eu:1p0:basicwl</ram:ID>
 </ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext>
 <rsm:ExchangedDocument>
  <ram:ID>{number}</ram:ID><ram:TypeCode>{type_code}</ram:TypeCode>
  <ram:IssueDateTime><udt:DateTimeString format="102">{issue}</udt:DateTimeString>
  </ram:IssueDateTime>
 </rsm:ExchangedDocument>
 <rsm:SupplyChainTradeTransaction>
  <ram:ApplicableHeaderTradeAgreement>
   <ram:SellerTradeParty><ram:Name>Relance Vendeur SA</ram:Name>
    <ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">{seller_siren}</ram:ID>
    </ram:SpecifiedLegalOrganization>
    <ram:PostalTradeAddress><ram:CountryID>FR</ram:CountryID></ram:PostalTradeAddress>
   </ram:SellerTradeParty>
   <ram:BuyerTradeParty><ram:Name>{buyer_name}</ram:Name>{siren_xml}
    <ram:PostalTradeAddress><ram:PostcodeCode>75002</ram:PostcodeCode>
     <ram:LineOne>3 rue du Mail</ram:LineOne><ram:CityName>Paris</ram:CityName>
     <ram:CountryID>FR</ram:CountryID></ram:PostalTradeAddress>{vat_xml}
   </ram:BuyerTradeParty>
   <ram:BuyerOrderReferencedDocument><ram:IssuerAssignedID>PO-9</ram:IssuerAssignedID>
   </ram:BuyerOrderReferencedDocument>
  </ram:ApplicableHeaderTradeAgreement>
  <ram:ApplicableHeaderTradeDelivery/>
  <ram:ApplicableHeaderTradeSettlement>
   <ram:PaymentReference>{number}</ram:PaymentReference>
   <ram:InvoiceCurrencyCode>{currency}</ram:InvoiceCurrencyCode>
   <ram:SpecifiedTradeSettlementPaymentMeans><ram:TypeCode>58</ram:TypeCode>
    <ram:PayeePartyCreditorFinancialAccount><ram:IBANID>FR7630006000011234567890189</ram:IBANID>
    </ram:PayeePartyCreditorFinancialAccount></ram:SpecifiedTradeSettlementPaymentMeans>
   <ram:SpecifiedTradePaymentTerms>{terms_xml}{due_xml}</ram:SpecifiedTradePaymentTerms>
   <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    <ram:TaxBasisTotalAmount>1000.00</ram:TaxBasisTotalAmount>
    <ram:TaxTotalAmount currencyID="{currency}">200.00</ram:TaxTotalAmount>
    <ram:GrandTotalAmount>{total}</ram:GrandTotalAmount>
    <ram:TotalPrepaidAmount>{prepaid}</ram:TotalPrepaidAmount>
    <ram:DuePayableAmount>{payable}</ram:DuePayableAmount>
   </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
   {credited_xml}
  </ram:ApplicableHeaderTradeSettlement>
 </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>
""".encode()


def ubl(
    *,
    number="F2026-100",
    credit_note=False,
    issue="2026-11-02",
    due="2026-12-02",
    total="1200.00",
    prepaid="200.00",
    payable="1000.00",
    buyer_name="Acheteur SAS",
    buyer_siren=BUYER_SIREN,
    buyer_vat=BUYER_VAT,
) -> bytes:
    root = "CreditNote" if credit_note else "Invoice"
    type_xml = (
        "<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>"
        if credit_note
        else "<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>"
    )
    due_xml = f"<cbc:DueDate>{due}</cbc:DueDate>" if due and not credit_note else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<{root} xmlns="urn:oasis:names:specification:ubl:schema:xsd:{root}-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>
 <cbc:ID>{number}</cbc:ID><cbc:IssueDate>{issue}</cbc:IssueDate>{due_xml}{type_xml}
 <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
 <cac:OrderReference><cbc:ID>PO-9</cbc:ID></cac:OrderReference>
 <cac:AccountingSupplierParty><cac:Party>
  <cac:PartyLegalEntity><cbc:RegistrationName>Relance Vendeur SA</cbc:RegistrationName>
   <cbc:CompanyID schemeID="0002">{SELLER_SIREN}</cbc:CompanyID></cac:PartyLegalEntity>
 </cac:Party></cac:AccountingSupplierParty>
 <cac:AccountingCustomerParty><cac:Party>
  <cac:PostalAddress><cbc:StreetName>3 rue du Mail</cbc:StreetName>
   <cbc:CityName>Paris</cbc:CityName><cbc:PostalZone>75002</cbc:PostalZone>
   <cac:Country><cbc:IdentificationCode>FR</cbc:IdentificationCode></cac:Country>
  </cac:PostalAddress>
  <cac:PartyTaxScheme><cbc:CompanyID>{buyer_vat}</cbc:CompanyID>
   <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
  <cac:PartyLegalEntity><cbc:RegistrationName>{buyer_name}</cbc:RegistrationName>
   <cbc:CompanyID schemeID="0002">{buyer_siren}</cbc:CompanyID></cac:PartyLegalEntity>
 </cac:Party></cac:AccountingCustomerParty>
 <cac:PaymentMeans><cbc:PaymentMeansCode>58</cbc:PaymentMeansCode>
  <cbc:PaymentID>{number}</cbc:PaymentID>
  <cac:PayeeFinancialAccount><cbc:ID>FR7630006000011234567890189</cbc:ID>
  </cac:PayeeFinancialAccount></cac:PaymentMeans>
 <cac:LegalMonetaryTotal>
  <cbc:TaxExclusiveAmount currencyID="EUR">1000.00</cbc:TaxExclusiveAmount>
  <cbc:TaxInclusiveAmount currencyID="EUR">{total}</cbc:TaxInclusiveAmount>
  <cbc:PrepaidAmount currencyID="EUR">{prepaid}</cbc:PrepaidAmount>
  <cbc:PayableAmount currencyID="EUR">{payable}</cbc:PayableAmount>
 </cac:LegalMonetaryTotal>
</{root}>
""".encode()


def facturx_pdf(xml: bytes) -> bytes:
    """A real Factur-X PDF: WeasyPrint's PDF with ``xml`` embedded by the factur-x library."""
    pdf = HTML(string="<p>Facture F2026-100</p>").write_pdf()
    return facturx.generate_from_binary(pdf, xml, check_xsd=False)


def write(tmp_path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def run(*paths, dry_run=False, confirmed=False):
    out, err = io.StringIO(), io.StringIO()
    args = [str(p) for p in paths] + (["--dry-run"] if dry_run else [])
    args += ["--confirmed"] if confirmed else []
    call_command("import_einvoices", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(*paths):
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command("import_einvoices", *[str(p) for p in paths], stdout=out, stderr=err)
    assert "refused" in str(info.value)
    return out.getvalue(), err.getvalue()


def snapshot():
    return (
        sorted(Customer.objects.values_list("customer_ref", "name", "siren")),
        sorted(Invoice.objects.values_list("number", "kind", "amount", "due_date")),
        Installment.objects.count(),
        sorted(Payment.objects.values_list("amount", "reference")),
    )


def open_amount(invoice: Invoice) -> Decimal:
    return sum((i.amount - i.paid_amount for i in invoice.installments.all()), Decimal("0"))


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


# --- good documents ----------------------------------------------------------------------


@pytest.mark.django_db
def test_factur_x_pdf_with_prepayment_opens_the_amount_due_and_keeps_the_pdf(tmp_path):
    path = write(tmp_path, "f.pdf", facturx_pdf(cii()))
    out, _err = run(path)
    assert "Imported" in out and "F2026-100" in out
    invoice = Invoice.objects.get(number="F2026-100")
    assert invoice.amount == Decimal("1200.00")
    assert str(invoice.due_date) == "2026-12-02"
    assert invoice.po_number == "PO-9"
    assert invoice.payment_reference == "F2026-100"  # BT-83, for the bank matching
    assert open_amount(invoice) == Decimal("1000.00")
    assert invoice.pdf.name.endswith(".pdf")
    assert invoice.pdf.read().startswith(b"%PDF")
    customer = invoice.customer
    assert (customer.name, customer.siren, customer.vat_number) == (
        "Acheteur SAS",
        BUYER_SIREN,
        BUYER_VAT,
    )
    assert (customer.postal_code, customer.city, customer.address_line1) == (
        "75002",
        "Paris",
        "3 rue du Mail",
    )


@pytest.mark.django_db
def test_the_document_carries_every_field_the_contract_names():
    doc, _pdf = einvoices.read_bytes(cii())
    assert (doc.syntax, doc.number, doc.credit_note) == ("CII", "F2026-100", False)
    assert (doc.total, doc.prepaid, doc.due) == (
        Decimal("1200.00"),
        Decimal("200.00"),
        Decimal("1000.00"),
    )
    assert (doc.currency, doc.po_number, doc.payment_reference) == ("EUR", "PO-9", "F2026-100")
    assert doc.iban == "FR7630006000011234567890189"
    assert doc.seller.siren == SELLER_SIREN
    ubl_doc, _pdf = einvoices.read_bytes(ubl())
    assert ubl_doc.syntax == "UBL"
    for name in ("number", "issue_date", "due_date", "total", "prepaid", "due", "currency"):
        assert getattr(ubl_doc, name) == getattr(doc, name), name
    assert ubl_doc.buyer.siren == doc.buyer.siren and ubl_doc.iban == doc.iban


@pytest.mark.django_db
def test_the_same_invoice_in_another_syntax_changes_nothing(tmp_path):
    run(write(tmp_path, "f.xml", ubl()))
    before = snapshot()
    out, _err = run(write(tmp_path, "f.pdf", facturx_pdf(cii())), write(tmp_path, "c.xml", cii()))
    assert out.count("already in the ledger: nothing changed") == 2
    assert snapshot() == before


@pytest.mark.django_db
def test_a_credit_note_credits_its_buyer_and_the_invoice_it_names(tmp_path):
    run(write(tmp_path, "f.xml", cii(prepaid="0.00", payable="1200.00")))
    credit = cii(
        number="AV-1", type_code="381", total="300.00", prepaid="0.00", payable="300.00",
        due="", credited="F2026-100",
    )  # fmt: skip
    out, _err = run(write(tmp_path, "a.xml", credit))
    assert "credit notes created: 1" in out
    note = Invoice.objects.get(number="AV-1")
    invoice = Invoice.objects.get(number="F2026-100")
    assert note.is_credit_note and note.customer == invoice.customer
    assert note.credited_invoice == invoice
    assert open_amount(invoice) == Decimal("900.00")


@pytest.mark.django_db
def test_a_ubl_credit_note_without_a_known_invoice_is_unallocated_credit(tmp_path):
    run(write(tmp_path, "a.xml", ubl(number="AV-2", credit_note=True, total="50.00",
                                      prepaid="0.00", payable="50.00")))  # fmt: skip
    note = Invoice.objects.get(number="AV-2")
    assert note.is_credit_note and note.amount == Decimal("50.00")


@pytest.mark.django_db
def test_due_date_from_payment_terms_else_from_the_customer(tmp_path):
    CustomerFactory(name="Acheteur SAS", siren=BUYER_SIREN, payment_terms_days=45)
    run(write(tmp_path, "a.xml", cii(number="T1", due="", terms="Paiement à 60 jours net")))
    run(write(tmp_path, "b.xml", cii(number="T2", due="")))
    assert str(Invoice.objects.get(number="T1").due_date) == "2027-01-01"
    assert str(Invoice.objects.get(number="T2").due_date) == "2026-12-17"


# --- customers -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("known", "document"),
    [
        ({"siren": BUYER_SIREN, "name": "Autre nom"}, {}),
        ({"vat_number": BUYER_VAT, "name": "Autre nom"}, {"buyer_siren": ""}),
        ({"name": "Acheteur SAS"}, {"buyer_siren": "", "buyer_vat": ""}),
    ],
    ids=["siren", "vat", "name"],
)
def test_the_customer_is_found_by_siren_then_vat_then_name(tmp_path, known, document):
    customer = CustomerFactory(**known)
    out, _err = run(write(tmp_path, "f.xml", cii(**document)))
    assert "customers created: 0" in out
    assert Invoice.objects.get(number="F2026-100").customer == customer
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_siren_wins_over_a_customer_with_the_same_name(tmp_path):
    CustomerFactory(name="Acheteur SAS")
    by_siren = CustomerFactory(name="Acheteur (siège)", siren=BUYER_SIREN)
    run(write(tmp_path, "f.xml", cii()))
    assert Invoice.objects.get(number="F2026-100").customer == by_siren


@pytest.mark.django_db
def test_an_unknown_buyer_is_created(tmp_path):
    CustomerFactory(name="Quelqu'un d'autre")
    out, _err = run(write(tmp_path, "f.xml", cii()))
    assert "customers created: 1" in out
    assert Customer.objects.get(siren=BUYER_SIREN).customer_ref == f"411{BUYER_SIREN}"


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_document_of_another_seller_is_refused_when_the_company_siren_is_set(tmp_path):
    CompanyProfile.objects.create(name="Relance Vendeur SA", siren=SELLER_SIREN)
    run(write(tmp_path, "ours.xml", cii()))
    _out, err = run_failing(
        write(tmp_path, "theirs.xml", cii(number="X1", seller_siren=OTHER_SIREN))
    )
    assert "not by your company" in err and OTHER_SIREN in err
    assert not Invoice.objects.filter(number="X1").exists()


@pytest.mark.django_db
def test_a_document_asking_for_another_iban_than_the_companys_is_flagged(tmp_path):
    # The document's IBAN (FR76 3000 6000 0112 3456 7890 189) is not the company's.
    CompanyProfile.objects.create(name="Relance Vendeur SA", iban="FR1420041010050500013M02606")
    out, _err = run(write(tmp_path, "f.xml", cii()))
    assert "F2026-100 asks to be paid to IBAN FR7630006000011234567890189" in out
    assert "FR1420041010050500013M02606" in out and "tampered" in out
    # The same bank details say nothing.
    CompanyProfile.objects.update(iban="FR76 3000 6000 0112 3456 7890 189")
    out, _err = run(write(tmp_path, "g.xml", cii(number="F2026-101")))
    assert "asks to be paid" not in out


@pytest.mark.django_db
def test_another_currency_is_refused_by_the_ledger_rule(tmp_path):
    _out, err = run_failing(write(tmp_path, "usd.xml", cii(currency="USD")))
    assert "USD is not accepted" in err
    assert snapshot() == ([], [], 0, [])


@pytest.mark.django_db
def test_the_same_number_with_other_data_is_refused(tmp_path):
    run(write(tmp_path, "f.xml", cii()))
    before = snapshot()
    _out, err = run_failing(write(tmp_path, "g.xml", cii(total="1300.00", payable="1100.00")))
    assert "already in the ledger with different data" in err
    assert snapshot() == before


@pytest.mark.django_db
def test_an_old_invoice_needs_confirmation(tmp_path):
    path = write(tmp_path, "old.xml", cii(issue="20240102", due="20240201"))
    _out, err = run_failing(path)
    assert "--confirmed" in err
    run(path, confirmed=True)
    assert Invoice.objects.filter(number="F2026-100").exists()


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
>&lol9;</rsm:CrossIndustryInvoice>"""
EXTERNAL = (
    cii()
    .replace(
        b'<?xml version="1.0" encoding="UTF-8"?>',
        b'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
    )
    .replace(b"Acheteur SAS", b"&e;")
)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (cii()[:700], "not well-formed"),
        (BOMB, "refused for safety"),
        (EXTERNAL, "refused for safety"),
        (b"<?xml version='1.0'?><order><id>1</id></order>", "not a UBL or CII invoice"),
        (cii(type_code="220"), "neither an invoice (380) nor a credit note (381)"),
        (cii().replace(b"Acheteur", "Achéteur".encode("latin-1")), "not well-formed"),
        (b"%PDF-1.7\n1 0 obj <<", "PDF"),
        (HTML(string="<p>x</p>").write_pdf(), "no embedded Factur-X"),
        (b"", "empty"),
        (cii(total="abc"), "is not an amount"),
        (cii(issue="20261340"), "is not a date"),
    ],
    ids=[
        "truncated", "entity-bomb", "external-entity", "not-an-invoice", "order-type",
        "wrong-encoding", "truncated-pdf", "plain-pdf", "empty", "bad-amount", "bad-date",
    ],
)  # fmt: skip
def test_hostile_or_wrong_files_are_refused_with_nothing_imported(tmp_path, data, message):
    good = write(tmp_path, "good.xml", cii(number="GOOD-1"))
    bad = write(tmp_path, "bad.xml", data)
    _out, err = run_failing(bad, good)
    assert f"{bad}: refused, nothing imported" in err
    assert message in err
    assert "Traceback" not in err
    # Each file is its own unit: the good one next to it is imported.
    assert list(Invoice.objects.values_list("number", flat=True)) == ["GOOD-1"]
    assert "passwd" not in str(Customer.objects.values_list("name", flat=True))


@pytest.mark.django_db
def test_an_oversized_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(einvoices.documents, "MAX_BYTES", 1000)
    _out, err = run_failing(write(tmp_path, "big.xml", cii() + b" " * 1000))
    assert "at most 1000 are accepted" in err
    assert snapshot() == ([], [], 0, [])


@pytest.mark.django_db
def test_an_oversized_xml_inside_a_small_pdf_is_refused(tmp_path, monkeypatch):
    padded = cii().replace(
        b"</rsm:CrossIndustryInvoice>", b" " * 200_000 + b"</rsm:CrossIndustryInvoice>"
    )
    path = write(tmp_path, "f.pdf", facturx_pdf(padded))
    assert path.stat().st_size < 100_000
    monkeypatch.setattr(einvoices.documents, "MAX_BYTES", 100_000)
    _out, err = run_failing(path)
    assert "invoice XML is larger than 100000 bytes" in err
    assert snapshot() == ([], [], 0, [])


@pytest.mark.django_db
def test_a_dry_run_writes_nothing(tmp_path):
    out, _err = run(write(tmp_path, "f.pdf", facturx_pdf(cii())), dry_run=True)
    assert "Dry run" in out and "invoices created: 1" in out
    assert snapshot() == ([], [], 0, [])


def test_the_command_exits_non_zero_with_a_message_and_no_traceback(tmp_path):
    path = write(tmp_path, "bomb.xml", BOMB)
    env = {
        **os.environ,
        "SECRET_KEY": "test-only-subprocess-key-" + "x" * 30,
        "LANGUAGE_CODE": "en",
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "import_einvoices", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "refused for safety" in result.stderr
    assert "CommandError: 1 of 1 file was refused" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize("total", ["NaN", "sNaN", "Infinity", "1E+999", "12.345"])
def test_a_total_that_is_no_amount_in_cents_is_refused(tmp_path, total):
    _out, err = run_failing(write(tmp_path, "f.xml", cii(total=total)))
    assert "total with tax" in err and "Traceback" not in err
    assert snapshot() == ([], [], 0, [])
