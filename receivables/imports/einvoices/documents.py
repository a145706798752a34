"""Reading electronic invoices: Factur-X / ZUGFeRD PDFs, UBL 2.1 and UN/CEFACT CII XML,
into an :class:`EDocument` whatever the syntax or profile.

Each file is read bounded in size; XML is parsed with defusedxml, which refuses any DTD,
so no entity expansion and no external entity.
"""

from __future__ import annotations

import datetime
import io
import os
import xml.etree.ElementTree as ET  # the types and ParseError; parsing is defused
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from django.utils.translation import gettext as _

from receivables.imports.errors import ImportFileError

MAX_BYTES = 20 * 1024 * 1024


# The attachment names Factur-X, ZUGFeRD and XRechnung-in-PDF use for the invoice XML.
PDF_XML_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml")


CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"


UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"


UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"


NS = {
    "rsm": CII,
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


# UNTDID 1001: commercial invoice and its usual variants; credit note.
INVOICE_TYPES = frozenset({"380", "383", "384", "386", "389", "751"})


CREDIT_NOTE_TYPES = frozenset({"381", "261", "262", "396"})


class EInvoiceError(ImportFileError):
    """A file refused as a whole (unreadable, hostile, not an invoice, out of bounds)."""


@dataclass
class Party:
    name: str = ""
    siren: str = ""
    siret: str = ""
    vat_number: str = ""
    address_line1: str = ""
    address_line2: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = ""


@dataclass
class EDocument:
    """What the ledger takes from an electronic invoice or credit note."""

    syntax: str
    number: str
    credit_note: bool
    issue_date: datetime.date
    due_date: datetime.date | None
    terms: str
    total: Decimal
    prepaid: Decimal
    due: Decimal
    currency: str
    seller: Party
    buyer: Party
    po_number: str = ""
    payment_reference: str = ""
    iban: str = ""
    credited_number: str = ""  # BT-25, the invoice a credit note credits


# --- reading -----------------------------------------------------------------------------


def read_file(path: str) -> tuple[EDocument, bytes | None]:
    """The document in ``path`` and, for a PDF, the PDF's bytes (to attach)."""
    try:
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            raise EInvoiceError(
                _("the file is %(size)d bytes; at most %(max)d are accepted.")
                % {"size": size, "max": MAX_BYTES}
            )
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise EInvoiceError(_("cannot read the file (%(reason)s).") % {"reason": exc}) from exc
    return read_bytes(data)


def read_bytes(data: bytes) -> tuple[EDocument, bytes | None]:
    if len(data) > MAX_BYTES:
        raise EInvoiceError(_("the file is larger than %(max)d bytes.") % {"max": MAX_BYTES})
    if not data.strip():
        raise EInvoiceError(_("the file is empty."))
    pdf = None
    if data.startswith(b"%PDF"):
        pdf = data
        data = _xml_from_pdf(data)
    return parse_document(data), pdf


def _xml_from_pdf(data: bytes) -> bytes:
    import pypdf
    from pypdf.errors import PyPdfError

    try:
        attachments = pypdf.PdfReader(io.BytesIO(data)).attachments
        for name in attachments:
            if name.lower() in PDF_XML_NAMES:
                xml = attachments[name][0]
                if len(xml) > MAX_BYTES:
                    raise EInvoiceError(
                        _("the PDF's invoice XML is larger than %(max)d bytes.")
                        % {"max": MAX_BYTES}
                    )
                return xml
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise EInvoiceError(
            _("the PDF cannot be read (%(reason)s); is it truncated?") % {"reason": exc}
        ) from exc
    raise EInvoiceError(
        _("the PDF has no embedded Factur-X / ZUGFeRD invoice XML: it is not an e-invoice.")
    )


def parse_document(data: bytes) -> EDocument:
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise EInvoiceError(
            _("the XML declares a DTD or entities, which are refused for safety (%(reason)s).")
            % {"reason": type(exc).__name__}
        ) from exc
    except ET.ParseError as exc:
        raise EInvoiceError(
            _(
                "the XML is not well-formed (%(reason)s): is it truncated, or not in its "
                "declared encoding?"
            )
            % {"reason": exc}
        ) from exc
    except (ValueError, UnicodeError) as exc:
        raise EInvoiceError(_("the XML cannot be decoded (%(reason)s).") % {"reason": exc}) from exc
    try:
        if root.tag == f"{{{CII}}}CrossIndustryInvoice":
            return _from_cii(root)
        if root.tag in (f"{{{UBL_INVOICE}}}Invoice", f"{{{UBL_CREDIT_NOTE}}}CreditNote"):
            return _from_ubl(root)
    except (ValueError, InvalidOperation) as exc:
        raise EInvoiceError(str(exc)) from exc
    raise EInvoiceError(
        _("the document (%(root)s) is not a UBL or CII invoice or credit note.")
        % {"root": root.tag}
    )


def _text(node: ET.Element | None, path: str) -> str:
    if node is None:
        return ""
    found = node.find(path, NS)
    return (found.text or "").strip() if found is not None else ""


def _required(node: ET.Element, path: str, label: str) -> str:
    value = _text(node, path)
    if not value:
        raise ValueError(_("the document has no %(label)s.") % {"label": label})
    return value


def _amount(value: str, label: str, *, default: Decimal | None = None) -> Decimal:
    if not value:
        if default is None:
            raise ValueError(_("the document has no %(label)s.") % {"label": label})
        return default
    try:
        amount = Decimal(value)
        in_cents = amount.is_finite() and amount == amount.quantize(Decimal("0.01"))
    except InvalidOperation:  # not a number, or too many digits to hold cents
        raise ValueError(
            _("%(label)s: %(value)s is not an amount.") % {"label": label, "value": value[:40]}
        ) from None
    if not in_cents:
        raise ValueError(
            _("%(label)s: %(value)s is not an amount in cents.")
            % {"label": label, "value": value[:40]}
        )
    return amount.quantize(Decimal("0.01"))


def _date(value: str, label: str) -> datetime.date:
    """YYYY-MM-DD (UBL) or YYYYMMDD (CII format 102)."""
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError(
            _("%(label)s: %(value)s is not a date.") % {"label": label, "value": value[:40]}
        ) from None


def _identifiers(party: Party, values: list[str]) -> None:
    """SIREN (9 digits) or SIRET (14 digits, whose first 9 are the SIREN) among ids."""
    for raw in values:
        digits = raw.replace(" ", "")
        if not digits.isdigit():
            continue
        if len(digits) == 14 and not party.siret:
            party.siret = digits
        if len(digits) in (9, 14) and not party.siren:
            party.siren = digits[:9]
    if (
        not party.siren
        and party.vat_number.upper().startswith("FR")
        and len(party.vat_number) == 13
    ):
        party.siren = party.vat_number[4:]


# Where each syntax keeps the address fields of a party, in Party's field order.
ADDRESS_FIELDS = ("address_line1", "address_line2", "postal_code", "city", "country")
CII_ADDRESS = ("ram:LineOne", "ram:LineTwo", "ram:PostcodeCode", "ram:CityName", "ram:CountryID")
UBL_ADDRESS = (
    "cbc:StreetName",
    "cbc:AdditionalStreetName",
    "cbc:PostalZone",
    "cbc:CityName",
    "cac:Country/cbc:IdentificationCode",
)


def _address(party: Party, node: ET.Element | None, paths: tuple[str, ...]) -> None:
    for name, path in zip(ADDRESS_FIELDS, paths, strict=True):
        setattr(party, name, _text(node, path))


def _cii_party(node: ET.Element | None) -> Party:
    party = Party()
    if node is None:
        return party
    party.name = _text(node, "ram:Name")
    for tax in node.findall("ram:SpecifiedTaxRegistration/ram:ID", NS):
        if tax.get("schemeID") == "VA":
            party.vat_number = (tax.text or "").strip()
    ids = [_text(node, "ram:SpecifiedLegalOrganization/ram:ID")] + [
        (e.text or "").strip() for e in node.findall("ram:ID", NS)
    ]
    _identifiers(party, ids)
    _address(party, node.find("ram:PostalTradeAddress", NS), CII_ADDRESS)
    return party


def _from_cii(root: ET.Element) -> EDocument:
    header = root.find("rsm:ExchangedDocument", NS)
    trade = root.find("rsm:SupplyChainTradeTransaction", NS)
    if header is None or trade is None:
        raise ValueError(_("the CII document has no header or no trade transaction."))
    agreement = trade.find("ram:ApplicableHeaderTradeAgreement", NS)
    settlement = trade.find("ram:ApplicableHeaderTradeSettlement", NS)
    if agreement is None or settlement is None:
        raise ValueError(_("the CII document has no trade agreement or no settlement."))
    totals = settlement.find("ram:SpecifiedTradeSettlementHeaderMonetarySummation", NS)
    if totals is None:
        raise ValueError(_("the document has no %(label)s.") % {"label": _("totals")})
    total = _amount(_text(totals, "ram:GrandTotalAmount"), _("total with tax"))
    prepaid = _amount(
        _text(totals, "ram:TotalPrepaidAmount"), _("prepaid amount"), default=Decimal("0.00")
    )
    due = _amount(_text(totals, "ram:DuePayableAmount"), _("amount due"), default=total - prepaid)
    due_text = _text(
        settlement, "ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString"
    )
    return EDocument(
        syntax="CII",
        number=_required(header, "ram:ID", _("invoice number")),
        credit_note=_kind(_required(header, "ram:TypeCode", _("type code"))),
        issue_date=_date(
            _required(header, "ram:IssueDateTime/udt:DateTimeString", _("issue date")),
            _("issue date"),
        ),
        due_date=_date(due_text, _("due date")) if due_text else None,
        terms=_text(settlement, "ram:SpecifiedTradePaymentTerms/ram:Description"),
        total=total,
        prepaid=prepaid,
        due=due,
        currency=_required(settlement, "ram:InvoiceCurrencyCode", _("currency")),
        seller=_cii_party(agreement.find("ram:SellerTradeParty", NS)),
        buyer=_cii_party(agreement.find("ram:BuyerTradeParty", NS)),
        po_number=_text(agreement, "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"),
        payment_reference=_text(settlement, "ram:PaymentReference"),
        iban=_text(
            settlement,
            "ram:SpecifiedTradeSettlementPaymentMeans/ram:PayeePartyCreditorFinancialAccount"
            "/ram:IBANID",
        ),
        credited_number=_text(settlement, "ram:InvoiceReferencedDocument/ram:IssuerAssignedID"),
    )


def _ubl_party(node: ET.Element | None) -> Party:
    party = Party()
    if node is None:
        return party
    party.name = _text(node, "cac:PartyLegalEntity/cbc:RegistrationName") or _text(
        node, "cac:PartyName/cbc:Name"
    )
    party.vat_number = _text(node, "cac:PartyTaxScheme/cbc:CompanyID")
    ids = [
        _text(node, "cac:PartyLegalEntity/cbc:CompanyID"),
        _text(node, "cac:PartyIdentification/cbc:ID"),
        _text(node, "cbc:EndpointID"),
    ]
    _identifiers(party, ids)
    _address(party, node.find("cac:PostalAddress", NS), UBL_ADDRESS)
    return party


def _from_ubl(root: ET.Element) -> EDocument:
    is_credit_note = root.tag.endswith("}CreditNote")
    type_code = _text(root, "cbc:CreditNoteTypeCode" if is_credit_note else "cbc:InvoiceTypeCode")
    totals = root.find("cac:LegalMonetaryTotal", NS)
    if totals is None:
        raise ValueError(_("the document has no %(label)s.") % {"label": _("totals")})
    total = _amount(_text(totals, "cbc:TaxInclusiveAmount"), _("total with tax"))
    prepaid = _amount(
        _text(totals, "cbc:PrepaidAmount"), _("prepaid amount"), default=Decimal("0.00")
    )
    due = _amount(_text(totals, "cbc:PayableAmount"), _("amount due"), default=total - prepaid)
    due_text = _text(root, "cbc:DueDate") or _text(root, "cac:PaymentMeans/cbc:PaymentDueDate")
    return EDocument(
        syntax="UBL",
        number=_required(root, "cbc:ID", _("invoice number")),
        credit_note=_kind(type_code or ("381" if is_credit_note else "380")),
        issue_date=_date(_required(root, "cbc:IssueDate", _("issue date")), _("issue date")),
        due_date=_date(due_text, _("due date")) if due_text else None,
        terms=_text(root, "cac:PaymentTerms/cbc:Note"),
        total=total,
        prepaid=prepaid,
        due=due,
        currency=_required(root, "cbc:DocumentCurrencyCode", _("currency")),
        seller=_ubl_party(root.find("cac:AccountingSupplierParty/cac:Party", NS)),
        buyer=_ubl_party(root.find("cac:AccountingCustomerParty/cac:Party", NS)),
        po_number=_text(root, "cac:OrderReference/cbc:ID"),
        payment_reference=_text(root, "cac:PaymentMeans/cbc:PaymentID"),
        iban=_text(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID"),
        credited_number=_text(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"),
    )


def _kind(type_code: str) -> bool:
    """True for a credit note, False for an invoice; any other document is refused."""
    if type_code in CREDIT_NOTE_TYPES:
        return True
    if type_code in INVOICE_TYPES:
        return False
    raise ValueError(
        _("document type %(code)s is neither an invoice (380) nor a credit note (381).")
        % {"code": type_code[:10]}
    )
