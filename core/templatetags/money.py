"""``{% load money %}{{ amount|money:invoice.currency }}``: an amount in the active
language, with the one formatter of ``core.money`` (the same text as in emails and
letters). ``{{ amount|money_whole }}`` rounds to whole units, for headline figures.
Without a currency the ledger's is used; a value that is not a number prints nothing,
as ``floatformat`` does."""

from __future__ import annotations

from django import template

from core.money import DEFAULT_CURRENCY, as_decimal, format_money_active

register = template.Library()


@register.filter
def money(value, currency: str | None = None) -> str:
    number = as_decimal(value)
    if number is None:
        return ""
    return format_money_active(number, currency or DEFAULT_CURRENCY)


@register.filter
def money_whole(value, currency: str | None = None) -> str:
    number = as_decimal(value)
    if number is None:
        return ""
    return format_money_active(number, currency or DEFAULT_CURRENCY, places=0)
