"""The EPC QR code ("SEPA QR", "GiroCode"): a credit transfer a banking app fills in from
a scan, so the payer types neither IBAN, amount nor reference.

The payload follows the European Payments Council's guideline EPC069-12 ("Quick Response
Code: guidelines to enable data capture for the initiation of a SEPA credit transfer"),
version 002: twelve lines separated by a line feed, in this order — service tag ``BCD``,
version ``002``, character set ``1`` (UTF-8), identification ``SCT``, the beneficiary's
BIC (optional in version 002), name (at most 70 characters), IBAN, amount (``EUR`` then
the amount with a dot and at most two decimals, 0.01 to 999999999.99, empty when the
payer chooses it), purpose code (empty), a structured creditor reference (at most 35
characters, e.g. ISO 11649 ``RF…``) *or* an unstructured remittance text (at most 140),
never both, and an optional note to the payer. Nothing follows the last filled line; the
whole payload holds at most 331 bytes. The symbol uses error correction level M.

Pure: it knows no model. The callers (receivables, reminders, the portal) pass the
company's bank details and the reference.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from decimal import Decimal

import segno
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumError

MAX_PAYLOAD_BYTES = 331
MIN_AMOUNT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999.99")


class PaymentQRError(ValueError):
    """The payment cannot be put in an EPC QR code (a field the guideline refuses)."""


@dataclass(frozen=True)
class CreditTransfer:
    """What the payer's app fills in. ``amount`` None: the payer types it."""

    name: str
    iban: str
    bic: str = ""
    amount: Decimal | None = None
    reference: str = ""  # structured (ISO 11649 "RF…"), at most 35 characters
    text: str = ""  # unstructured remittance, at most 140 characters, only without reference

    def payload(self) -> str:
        return epc_payload(self)


def epc_amount(amount: Decimal) -> str:
    """``EUR123.45``: the currency, then the amount with a dot, no thousands separator,
    no more than two decimals and no needless trailing zeros beyond the cents."""
    if not amount.is_finite() or amount < MIN_AMOUNT or amount > MAX_AMOUNT:
        raise PaymentQRError(f"amount out of the EPC range: {amount}")
    cents = amount.quantize(Decimal("0.01"))
    if cents != amount:
        raise PaymentQRError(f"amount with more than two decimals: {amount}")
    return f"EUR{cents:f}"


def epc_payload(transfer: CreditTransfer) -> str:
    """The EPC069-12 version 002 payload of ``transfer`` (see the module's docstring)."""
    name = " ".join(transfer.name.split())[:70]
    if not name:
        raise PaymentQRError("the beneficiary has no name")
    try:
        iban = stdnum_iban.validate(transfer.iban)
        bic = stdnum_bic.validate(transfer.bic) if transfer.bic.strip() else ""
    except StdnumError as exc:
        raise PaymentQRError(f"invalid bank details: {exc}") from exc
    reference = "".join(transfer.reference.split()).upper()
    if len(reference) > 35:
        raise PaymentQRError("a structured reference holds at most 35 characters")
    text = " ".join(transfer.text.split())
    if reference and text:
        raise PaymentQRError("a structured reference and a text exclude each other")
    lines = [
        "BCD",
        "002",
        "1",
        "SCT",
        bic,
        name,
        iban,
        epc_amount(transfer.amount) if transfer.amount is not None else "",
        "",  # purpose
        reference,
        text[:140],
        "",  # beneficiary to originator information
    ]
    payload = "\n".join(lines).rstrip("\n")
    if len(payload.encode()) > MAX_PAYLOAD_BYTES:
        raise PaymentQRError("the payload exceeds 331 bytes")
    return payload


def qr_code(payload: str) -> segno.QRCode:
    """The QR symbol of a payload, at the error correction level the guideline asks (M),
    never a Micro QR (banking apps do not read them)."""
    return segno.make_qr(payload, error="m", boost_error=False, encoding="utf-8")


def qr_png(payload: str, *, scale: int = 6) -> bytes:
    """The symbol as a PNG, with the four-module quiet zone scanners need."""
    out = io.BytesIO()
    qr_code(payload).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def qr_svg(payload: str, *, scale: int = 4) -> str:
    """The symbol as an inline SVG element (no XML declaration), for pages and PDFs."""
    out = io.BytesIO()
    qr_code(payload).save(
        out, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True, nl=False
    )
    return out.getvalue().decode()


def qr_data_uri(payload: str, *, scale: int = 6) -> str:
    """The PNG as a ``data:`` URI (for WeasyPrint, which fetches nothing else)."""
    return "data:image/png;base64," + base64.b64encode(qr_png(payload, scale=scale)).decode()
