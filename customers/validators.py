"""Identifier validation through python-stdnum (SIREN, VAT, IBAN, BIC): a customer's
SIREN and VAT number, the creditor's (receivables.CompanyProfile) SIREN, VAT number and the
bank details printed on every reminder and formal notice."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import bic, iban
from stdnum.eu import vat
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siren


def compact_siren(value: str) -> str:
    """A SIREN typed with spaces or dots, compacted; what stdnum cannot compact is kept
    as typed, for :func:`validate_siren` to refuse with its message."""
    try:
        return siren.compact(value) if value else ""
    except StdnumError:
        return value.strip()


def compact_vat_number(value: str) -> str:
    """A VAT number compacted (``FR 12 345…`` → ``FR12345…``); what stdnum cannot
    compact (an unknown country prefix…) is kept as typed, refused by the validator."""
    try:
        return vat.compact(value) if value else ""
    except StdnumError:
        return value.strip()


def validate_siren(value: str) -> None:
    try:
        siren.validate(value)
    except StdnumError as exc:
        raise ValidationError(
            _("%(value)s is not a valid SIREN number."), params={"value": value}
        ) from exc


def validate_vat_number(value: str) -> None:
    try:
        vat.validate(value)
    except StdnumError as exc:
        raise ValidationError(
            _("%(value)s is not a valid EU VAT number."), params={"value": value}
        ) from exc


# The characters a SEPA mandate reference (RUM) may hold, at most 35 (EPC rulebook).
SEPA_MANDATE = re.compile(r"[A-Za-z0-9+?/\-:().,' ]{1,35}")


def validate_sepa_mandate(value: str) -> None:
    if not SEPA_MANDATE.fullmatch(value):
        raise ValidationError(
            _(
                "%(value)s is not a SEPA mandate reference: at most 35 letters, digits, "
                "spaces or + ? / - : ( ) . , '"
            ),
            params={"value": value},
        )


def validate_iban(value: str) -> None:
    try:
        iban.validate(value)
    except StdnumError as exc:
        raise ValidationError(_("%(value)s is not a valid IBAN."), params={"value": value}) from exc


def validate_bic(value: str) -> None:
    try:
        bic.validate(value)
    except StdnumError as exc:
        raise ValidationError(_("%(value)s is not a valid BIC."), params={"value": value}) from exc
