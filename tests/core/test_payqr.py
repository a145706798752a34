"""The EPC QR code (core/payqr.py) against the EPC069-12 guideline, version 002."""

import subprocess
from decimal import Decimal
from shutil import which

import pytest

from core.payqr import CreditTransfer, PaymentQRError, epc_amount, epc_payload, qr_png

IBAN = "FR7630006000011234567890189"


def test_the_payload_has_the_guidelines_fields_in_their_order():
    # The guideline's own example (EPC069-12 v2.1, "Example of a QR code"): Red Cross
    # Belgium, EUR 1.00, with a BIC and an unstructured text.
    payload = epc_payload(
        CreditTransfer(
            name="Red Cross of Belgium",
            iban="BE72 0000 0000 1616",
            bic="BPOTBEB1",
            amount=Decimal("1"),
            text="Urgency fund",
        )
    )
    assert payload == (
        "BCD\n002\n1\nSCT\nBPOTBEB1\nRed Cross of Belgium\nBE72000000001616\nEUR1.00\n\n\n"
        "Urgency fund"
    )


def test_a_structured_reference_takes_line_ten_and_nothing_follows_the_last_line():
    payload = epc_payload(
        CreditTransfer(
            name="Relance demo SAS",
            iban=IBAN,
            amount=Decimal("123.45"),
            reference="RF18 5390 0754 7034",
        )
    )
    lines = payload.split("\n")
    assert lines == [
        "BCD",  # service tag
        "002",  # version
        "1",  # UTF-8
        "SCT",  # SEPA credit transfer
        "",  # BIC: optional in version 002
        "Relance demo SAS",
        IBAN,
        "EUR123.45",
        "",  # purpose
        "RF18539007547034",  # structured creditor reference, compact
    ]
    assert not payload.endswith("\n")


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("0.01", "EUR0.01"),
        ("1", "EUR1.00"),
        ("1234.5", "EUR1234.50"),
        ("999999999.99", "EUR999999999.99"),
    ],
)
def test_amounts_read_as_the_guideline_writes_them(amount, text):
    assert epc_amount(Decimal(amount)) == text


@pytest.mark.parametrize(
    "amount", ["0", "0.001", "-1", "1000000000.00", "NaN", "Infinity", "12.345"]
)
def test_amounts_the_guideline_refuses(amount):
    with pytest.raises(PaymentQRError):
        epc_amount(Decimal(amount))


@pytest.mark.parametrize(
    "transfer",
    [
        CreditTransfer(name="X", iban="FR7630006000011234567890188"),  # bad check digits
        CreditTransfer(name="X", iban=IBAN, bic="NOTABIC!"),
        CreditTransfer(name="  ", iban=IBAN),
        CreditTransfer(name="X", iban=IBAN, reference="RF" + "1" * 40),
        CreditTransfer(name="X", iban=IBAN, reference="RF18539007547034", text="both"),
    ],
)
def test_what_cannot_be_encoded_is_refused(transfer):
    with pytest.raises(PaymentQRError):
        epc_payload(transfer)


def test_the_name_is_cut_at_70_characters_and_the_payload_stays_within_331_bytes():
    payload = epc_payload(CreditTransfer(name="É" * 200, iban=IBAN, text="x" * 500))
    assert payload.split("\n")[5] == "É" * 70
    assert len(payload.encode()) <= 331


@pytest.mark.skipif(which("zbarimg") is None, reason="zbar-tools is not installed")
def test_the_png_decodes_back_to_the_payload(tmp_path):
    payload = epc_payload(
        CreditTransfer(name="Société Générale d'Essai", iban=IBAN, amount=Decimal("42.10"))
    )
    path = tmp_path / "qr.png"
    path.write_bytes(qr_png(payload))
    out = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sbinary", str(path)],
        capture_output=True,
        check=True,
    ).stdout
    assert out.decode().rstrip("\n") == payload
