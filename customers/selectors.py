"""Reads of customers alone: who may be picked as a sales rep, a user's preferences.
The pages that combine customers with their balances and reminders read through
workplaces/selectors/customers.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import translation

from core.access import AnyUser
from customers.models import Customer, Language, UserPreferences

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def sales_rep_choices(*, user: AnyUser) -> QuerySet:
    """The users who are the sales rep of at least one customer ``user`` may see: the
    choices of a "sales rep" filter (a sales rep only ever sees themself)."""
    visible = Customer.objects.visible_to(user).filter(sales_rep=OuterRef("pk"))
    return (
        get_user_model()
        .objects.filter(Exists(visible))
        .order_by("last_name", "first_name", "username")
    )


def preferences_of(user: User) -> UserPreferences:
    """The user's preferences row; when they never chose anything, an unsaved one with
    the language they are reading now (so the form shows what is in effect)."""
    saved = UserPreferences.objects.filter(user=user).first()
    if saved is not None:
        return saved
    current = (translation.get_language() or "").split("-")[0]
    language = current if current in dict(Language.choices) else Language.FRENCH
    return UserPreferences(user=user, language=language)
