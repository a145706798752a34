"""The link to a customer's page (customers/portal_links.py) and the page it opens:
valid, altered, expired, revoked, another customer's; the same polite page whatever the
reason; the rate limit; every request logged."""

import datetime

import pytest
from django.test import Client

from customers.portal_links import (
    access_reissue,
    access_revoke,
    customer_for_token,
    make_token,
    normalise,
    short_code,
    token_for,
)
from portal.models import PortalVisit
from tests.factories import CustomerFactory, make_invoice, make_user


@pytest.fixture
def acme(db, company_profile):
    customer = CustomerFactory(customer_ref="411ACME", name="Acme SARL", language="en")
    make_invoice(
        customer,
        number="F-1",
        issue_date=datetime.date(2026, 9, 1),
        due_date=datetime.date(2026, 10, 1),
        amount="1200.00",
    )
    return customer


def page(token, client=None, language="en"):
    return (client or Client()).get(f"/p/{token}/", headers={"accept-language": language})


def test_a_valid_link_opens_the_customers_page(acme):
    token = token_for(acme.pk)
    assert len(token) == 26
    response = page(token)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Acme SARL" in body and "F-1" in body and "48 days" not in body
    assert response["Cache-Control"] == "private, no-store"
    # Typed from paper: groups, lower case, a 0 for an O are all read back.
    assert customer_for_token(short_code(token).lower().replace("O", "0")) is not None
    assert normalise(short_code(token)) == token


def invalid_page_of(token):
    response = page(token)
    return response.status_code, response.content


def test_altered_expired_revoked_unknown_and_others_links_get_one_same_page(acme, settings):
    settings.PORTAL_LINK_DAYS = 30
    token = token_for(acme.pk)
    other = CustomerFactory(customer_ref="411OTHER")
    other_token = token_for(other.pk)
    # Altered: one letter of the MAC changed, or the customer's id changed (MAC fails).
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    swapped = other_token[:7] + token[7:]
    expired = make_token(acme.pk, "", on=datetime.date(2026, 10, 18))  # 31 days ago
    future = make_token(acme.pk, "", on=datetime.date(2026, 11, 19))
    unknown = make_token(10**6, "")  # no such customer
    outcomes = {
        name: invalid_page_of(t)
        for name, t in {
            "altered": altered,
            "swapped": swapped,
            "expired": expired,
            "future": future,
            "garbage": "x" * 26,
            "short": "ABC",
            "long": "A" * 300,
        }.items()
    }
    outcomes["unknown"] = invalid_page_of(unknown)
    access_revoke(customer=acme, user=make_user("finance", "f_revoker"))
    outcomes["revoked"] = invalid_page_of(token)
    assert {status for status, _ in outcomes.values()} == {404}
    assert len({content for _, content in outcomes.values()}) == 1  # no oracle
    assert b"no longer opens your page" in outcomes["revoked"][1]
    assert b"compta@relance.example" in outcomes["revoked"][1]
    # Just within its lifetime, the link still opens the page; another customer's link
    # opens that customer's page only.
    assert customer_for_token(make_token(other.pk, "", on=datetime.date(2026, 10, 19))) == other
    assert page(other_token).status_code == 200
    assert b"Acme" not in page(other_token).content


def test_reissuing_kills_every_earlier_link_and_reopens_a_revoked_access(acme):
    from customers.models import PortalAccess

    finance = make_user("finance", "f_issuer")
    old = token_for(acme.pk)
    assert not PortalAccess.objects.exists()  # handing out a link writes nothing
    access_revoke(customer=acme, user=finance)
    assert token_for(acme.pk) is None  # no email or letter carries a link meanwhile
    new = access_reissue(customer=acme, user=finance)
    assert page(old).status_code == 404
    assert page(new).status_code == 200


def test_only_finance_staff_revoke_or_reissue(acme):
    from django.core.exceptions import PermissionDenied

    for role in ("sales", "manager", None):
        with pytest.raises(PermissionDenied):
            access_revoke(customer=acme, user=make_user(role, f"u_{role}"))
        with pytest.raises(PermissionDenied):
            access_reissue(customer=acme, user=make_user(role, f"v_{role}"))


def test_every_request_is_logged_and_an_address_is_rate_limited(acme, settings):
    settings.PORTAL_RATE_LIMIT = 5
    token = token_for(acme.pk)
    client = Client(REMOTE_ADDR="203.0.113.7")
    statuses = [page(token, client).status_code for _ in range(3)]
    statuses += [page("WRONG" * 6, client).status_code for _ in range(2)]
    statuses += [page(token, client).status_code]
    assert statuses == [200, 200, 200, 404, 404, 429]
    visits = list(PortalVisit.objects.order_by("pk"))
    assert [(v.outcome, v.customer_id) for v in visits] == [
        ("ok", acme.pk),
        ("ok", acme.pk),
        ("ok", acme.pk),
        ("invalid", None),
        ("invalid", None),
        ("limited", None),
    ]
    assert {v.ip for v in visits} == {"203.0.113.7"}
    # Another address is not limited.
    assert page(token, Client(REMOTE_ADDR="203.0.113.8")).status_code == 200


def test_the_page_speaks_the_customers_language_whatever_the_browser(acme):
    acme.language = "fr"
    acme.save()
    body = page(token_for(acme.pk), language="en").content.decode()
    assert "Votre compte chez nous" in body and "Montant à payer" in body
    assert "Référence à indiquer" in body


def test_no_drawn_token_opens_a_page_or_breaks_it(acme):
    """Hostile tokens (any text, base32 of the right length, the real one with one
    character changed): never a 500, never a page."""
    from urllib.parse import quote

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.hostile import strategies as hs

    real = token_for(acme.pk)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    tokens = st.one_of(
        hs.hostile_text(300),
        st.text(alphabet=alphabet, min_size=26, max_size=26),
        st.tuples(st.integers(0, 25), st.sampled_from(alphabet)).map(
            lambda change: real[: change[0]] + change[1] + real[change[0] + 1 :]
        ),
    )

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(token=tokens)
    def check(token):
        if normalise(token) == real:
            return
        assert customer_for_token(token) is None
        path = quote(token.replace("/", ""), safe="")
        if path:
            status = Client().get(f"/p/{path}/").status_code
            assert status in (404, 429), status

    check()
