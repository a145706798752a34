"""The one place that decides what a user may see and do.

Roles are Django groups. Finance staff and managers see every customer; a sales rep sees
only the customers whose sales rep they are; anyone else sees nothing. Every view, export
and task narrows its querysets with :func:`scope_q` (through the ``visible_to`` queryset
methods), so an object outside a user's scope answers 404 everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q
from django.http import HttpRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

# Whoever a request or a task acts for: a user, or the anonymous visitor of a request.
type AnyUser = User | AnonymousUser


class AuthenticatedHttpRequest(HttpRequest):
    """For type checking: a request past ``LoginRequiredMiddleware``, whose user is signed
    in (every view but the login page). Views that record who acted take this one."""

    user: User


FINANCE = "finance"
SALES = "sales"
MANAGER = "manager"
ROLES = (FINANCE, SALES, MANAGER)


def _groups(user: AnyUser) -> frozenset[str]:
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_relance_groups", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._relance_groups = cached  # type: ignore[attr-defined]  # cached per request
    return cached


def is_finance(user: AnyUser) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or FINANCE in _groups(user)))


def is_manager(user: AnyUser) -> bool:
    return bool(user.is_authenticated and MANAGER in _groups(user))


def is_sales(user: AnyUser) -> bool:
    return bool(user.is_authenticated and SALES in _groups(user))


def sees_all_customers(user: AnyUser) -> bool:
    """Finance staff, managers and administrators see the whole ledger."""
    return is_finance(user) or is_manager(user)


def can_edit_ledger(user: AnyUser) -> bool:
    """Create and edit customers, contacts, invoices and payments; approve letters."""
    return is_finance(user)


def can_add_notes(user: AnyUser) -> bool:
    """Notes and promises to pay: finance staff, and sales reps on their own customers."""
    return is_finance(user) or is_sales(user)


def can_export(user: AnyUser) -> bool:
    return is_finance(user) or is_manager(user)


def can_download_aged_balance(user: AnyUser) -> bool:
    """Exporters, and sales reps for their own customers' aged balance before a meeting
    (the rows are scoped like everything else)."""
    return can_export(user) or is_sales(user)


def scope_q(user: AnyUser, customer_path: str = "") -> Q:
    """A filter restricting rows to the customers ``user`` may see.

    ``customer_path`` is the lookup path from the filtered model to the customer
    ("" for Customer itself, "customer" for Invoice, "invoice__customer" for Installment).
    """
    if sees_all_customers(user):
        return Q()
    prefix = f"{customer_path}__" if customer_path else ""
    if is_sales(user):
        return Q(**{f"{prefix}sales_rep": user})
    return Q(pk__in=[])
