"""The one place that decides what a user may see and do.

Roles are Django groups (a superuser counts as finance staff). Two questions, two answers,
as in NetBox's ``RestrictedQuerySet.restrict(user, action)``:

- **which rows**: :func:`scope_q` (through the ``visible_to`` queryset methods). Finance
  staff and managers see every customer; a sales rep only the customers whose sales rep
  they are; anyone else nothing. An object outside a user's scope answers 404 everywhere.
- **which actions**: :func:`may` (``may(user, Action.EDIT_LEDGER)``), read from one
  table, :data:`RIGHTS` (role → actions). An action that is not in :class:`Action` raises
  :class:`UnknownAction` instead of quietly answering no. Templates read the same answer
  as ``may.EDIT_LEDGER`` (the ``roles`` context processor puts a :class:`Permissions` in
  every page).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext as _

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


class Action(StrEnum):
    """What a role may do, beside which rows it sees (the closed set of rights)."""

    VIEW_ALL = "view_all"
    """See the whole ledger: every customer, the finance worklist, the rep filters."""
    EDIT_LEDGER = "edit_ledger"
    """Create and edit invoices and payments; reminders, calls, disputes, pauses."""
    VIEW_LETTERS = "view_letters"
    """See the formal notices and their PDFs (the letters list, a letter's page)."""
    APPROVE_LETTERS = "approve_letters"
    """Work the formal notices: approve, cancel, record the posting."""
    ADD_NOTES = "add_notes"
    """Add a note and record a promise to pay (on the customers one sees)."""
    EXPORT = "export"
    """Download whole-customer files: the recovery file, the snapshots."""
    DOWNLOAD_AGED_BALANCE = "download_aged_balance"
    """Download the aged balance (its rows scoped like everything else)."""
    VIEW_REPORTS = "view_reports"
    """The manager's KPIs and the list of monthly snapshots."""
    TAKE_SNAPSHOTS = "take_snapshots"
    """Ask for an aged-balance snapshot of a past month end."""
    IMPORT = "import"
    """Import files into the ledger (invoices, payments, FEC, e-invoices, bank statements)
    and work the bank matching queue."""


# The only table of rights. A user holds the union of the rights of their roles.
RIGHTS: dict[str, frozenset[Action]] = {
    FINANCE: frozenset(Action),
    MANAGER: frozenset(
        {
            Action.VIEW_ALL,
            Action.VIEW_LETTERS,
            Action.EXPORT,
            Action.DOWNLOAD_AGED_BALANCE,
            Action.VIEW_REPORTS,
            Action.TAKE_SNAPSHOTS,
        }
    ),
    SALES: frozenset({Action.ADD_NOTES, Action.DOWNLOAD_AGED_BALANCE}),
}


class UnknownAction(LookupError):
    """Asked about an action that is not in :class:`Action` (a typo, a stale name).

    Deliberately not a ``KeyError``/``ValueError``: the template engine swallows those
    and would render ``{% if may.EDTI_LEDGER %}`` as a quiet "no"."""


def roles(user: AnyUser) -> frozenset[str]:
    """The user's roles (read once per user object); a superuser counts as finance."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_relance_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True)) & set(ROLES)
        if user.is_superuser:
            names.add(FINANCE)
        cached = frozenset(names)
        user._relance_roles = cached  # type: ignore[attr-defined]  # cached per request
    return cached


def _action(action: Action | str) -> Action:
    try:
        return Action(action)
    except ValueError:
        raise UnknownAction(f"Unknown action {action!r}; the actions are {list(Action)}.") from None


def rights(user: AnyUser) -> frozenset[Action]:
    """Every action ``user`` may take."""
    return frozenset().union(*(RIGHTS[role] for role in roles(user)))


def may(user: AnyUser, action: Action | str) -> bool:
    """Whether ``user`` may take ``action`` (on the rows :func:`scope_q` lets them see)."""
    return _action(action) in rights(user)


def require(user: AnyUser, action: Action | str, message: str | None = None) -> None:
    """Raise ``PermissionDenied`` (403) unless ``user`` may take ``action``."""
    if not may(user, action):
        raise PermissionDenied(message or _("You are not allowed to do this."))


class Permissions:
    """``may`` for templates: ``{% if may.EDIT_LEDGER %}``; an unknown name raises."""

    def __init__(self, user: AnyUser) -> None:
        self._rights = rights(user)

    def __getitem__(self, name: str) -> bool:
        try:
            action = Action[name]
        except KeyError:
            raise UnknownAction(f"Unknown action {name!r} in a template.") from None
        return action in self._rights

    def __repr__(self) -> str:
        return f"Permissions({sorted(self._rights)})"


def scope_q(user: AnyUser, customer_path: str = "") -> Q:
    """A filter restricting rows to the customers ``user`` may see.

    ``customer_path`` is the lookup path from the filtered model to the customer
    ("" for Customer itself, "customer" for Invoice, "invoice__customer" for Installment).
    """
    if may(user, Action.VIEW_ALL):
        return Q()
    prefix = f"{customer_path}__" if customer_path else ""
    if SALES in roles(user):
        return Q(**{f"{prefix}sales_rep": user})
    return Q(pk__in=[])
