"""The links to a customer's own page (the portal): no login, an unguessable token.

A token is 26 letters and digits (base32), short enough to be typed from a formal
notice (printed in groups of five): the customer's id, the day it was issued and an
80-bit HMAC (``django.utils.crypto.salted_hmac``, keyed by ``SECRET_KEY``) of both and of
the customer's :class:`~customers.models.PortalAccess` nonce (empty while the customer
has no such row: rendering an email or a letter, even a preview, writes nothing). So it
cannot be forged or altered (the HMAC), it names one customer only, it expires
``PORTAL_LINK_DAYS`` after it was issued (setting, 60 days by default), and issuing a
new link or revoking the access (a new nonce, ``revoked_at``) kills every earlier one.
Nothing is stored per link.
"""

from __future__ import annotations

import base64
import datetime
import re
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from core.access import Action, AnyUser, require
from customers.models import Customer, PortalAccess, new_nonce

EPOCH = datetime.date(2020, 1, 1)
PORTAL_LINK_DAYS = 60
_SALT = "relance.portal.link"
_MAC_BYTES = 10
_TOKEN = re.compile(r"[A-Z2-7]{26}")


def link_days() -> int:
    """How long a link stays valid after it was issued (``PORTAL_LINK_DAYS``)."""
    return int(getattr(settings, "PORTAL_LINK_DAYS", PORTAL_LINK_DAYS))


def _mac(customer_id: int, day_number: int, nonce: str) -> bytes:
    return salted_hmac(_SALT, f"{customer_id}:{day_number}:{nonce}", algorithm="sha256").digest()[
        :_MAC_BYTES
    ]


def make_token(customer_id: int, nonce: str, *, on: datetime.date | None = None) -> str:
    """A token for the customer ``customer_id`` whose access nonce is ``nonce``, issued
    on ``on`` (today by default)."""
    day_number = ((on or timezone.localdate()) - EPOCH).days
    raw = (
        customer_id.to_bytes(4, "big")
        + day_number.to_bytes(2, "big")
        + _mac(customer_id, day_number, nonce)
    )
    return base64.b32encode(raw).decode().rstrip("=")


def normalise(token: str) -> str:
    """A token as typed from paper: case, spaces and dashes apart, 0 read as O, 1 as I
    and 8 as B (base32 has no 0, 1 or 8)."""
    return re.sub(r"[\s\-.]", "", token).upper().translate(str.maketrans("018", "OIB"))


def customer_for_token(token: str, *, today: datetime.date | None = None) -> Customer | None:
    """The customer a token opens the page of, or None, whatever the reason (malformed,
    altered, an earlier nonce, revoked, expired, issued in the future, no such customer):
    callers show the same page for every failure, so a visitor learns nothing of why."""
    token = normalise(token)[:64]
    if not _TOKEN.fullmatch(token):
        return None
    raw = base64.b32decode(token + "======")
    customer_id = int.from_bytes(raw[:4], "big")
    day_number = int.from_bytes(raw[4:6], "big")
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        return None
    access = PortalAccess.objects.filter(customer=customer).first()
    if access is not None and access.is_revoked:
        return None
    nonce = access.nonce if access is not None else ""
    if not constant_time_compare(raw[6:], _mac(customer_id, day_number, nonce)):
        return None
    issued = EPOCH + datetime.timedelta(days=day_number)
    today = today or timezone.localdate()
    if issued > today or (today - issued).days > link_days():
        return None
    return customer


def token_for(customer_id: int, *, on: datetime.date | None = None) -> str | None:
    """A fresh token for the customer ``customer_id`` (None when finance staff revoked
    the access: no email or letter carries a link then). Reads, never writes."""
    access = PortalAccess.objects.filter(customer_id=customer_id).first()
    if access is not None and access.is_revoked:
        return None
    return make_token(customer_id, access.nonce if access is not None else "", on=on)


def tokens_for(
    customer_ids: Iterable[int], *, on: datetime.date | None = None
) -> dict[int, str | None]:
    """:func:`token_for` for many customers in one query (a run's emails)."""
    ids = list(customer_ids)
    accesses = {a.customer_id: a for a in PortalAccess.objects.filter(customer_id__in=ids)}
    tokens: dict[int, str | None] = {}
    for customer_id in ids:
        access = accesses.get(customer_id)
        revoked = access is not None and access.is_revoked
        nonce = access.nonce if access is not None else ""
        tokens[customer_id] = None if revoked else make_token(customer_id, nonce, on=on)
    return tokens


def portal_path(token: str) -> str:
    return reverse("portal:home", kwargs={"token": token})


def portal_url(token: str) -> str:
    """The absolute link (``PORTAL_BASE_URL``, e.g. https://relance.example.com)."""
    return settings.PORTAL_BASE_URL.rstrip("/") + portal_path(token)


def short_code(token: str) -> str:
    """The token in groups of five, as printed on paper."""
    return "-".join(token[i : i + 5] for i in range(0, len(token), 5))


@transaction.atomic
def access_reissue(*, customer: Customer, user: AnyUser) -> str:
    """A new link: every earlier one stops working (new nonce), a revoked access opens
    again. Returns the new token. Finance staff only."""
    require(user, Action.EDIT_LEDGER)
    access = PortalAccess.objects.select_for_update().filter(customer=customer).first()
    if access is None:
        access = PortalAccess(customer=customer)
    access.nonce = new_nonce()
    access.issued_at = timezone.now()
    access.issued_by = user if user.is_authenticated else None
    access.revoked_at = None
    access.revoked_by = None
    access.save()
    return make_token(customer.pk, access.nonce)


@transaction.atomic
def access_revoke(*, customer: Customer, user: AnyUser) -> PortalAccess:
    """Revoke: every link fails, and reminders carry none, until a new one is issued.
    Finance staff only."""
    require(user, Action.EDIT_LEDGER)
    access, _created = PortalAccess.objects.get_or_create(customer=customer)
    access.nonce = new_nonce()
    access.revoked_at = timezone.now()
    access.revoked_by = user if user.is_authenticated else None
    access.save()
    return access
