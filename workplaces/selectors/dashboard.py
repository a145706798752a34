"""Reads for the finance dashboard: today's worklist and the totals that matter (the
sales rep's view is in sales.py).

Every function is scoped by ``visible_to(user)`` and builds its rows with joins,
subqueries and conditional aggregates, so the number of queries never depends on the
number of items: each worklist section is one QuerySet that the dashboard slices and
counts and the "see all" page paginates.

"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Window
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.access import AnyUser
from customers.models import Activity, Customer
from receivables import kpis
from receivables.models import Dispute, PromiseToPay
from receivables.selectors import customers_over_credit_limit, with_balances
from reminders import selectors as reminder_selectors
from reminders.models import Reminder

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

SECTION_CAP = 8
BROKEN_PROMISE_DAYS = 30
# A dispute open longer than this is shown as waiting too long for an answer.
DISPUTE_WAITING_DAYS = 30
HUMAN_FOLLOW_UP = (Activity.Kind.CALL, Activity.Kind.NOTE)


def week_start(today: datetime.date) -> datetime.datetime:
    """Monday 00:00 (local time) of ``today``'s week: "the week's reminders"."""
    monday = today - datetime.timedelta(days=today.weekday())
    return timezone.make_aware(datetime.datetime.combine(monday, datetime.time.min))


# --- worklist sections that are not reminder rows --------------------------------------


def follow_ups(*, user: AnyUser, today: datetime.date) -> QuerySet[Activity]:
    """Next actions that fell due: the timeline entries whose next action date is today or
    past and that nothing superseded. A later entry supersedes one when it sets its own
    next action date (a postponement, a new promise) or when a person logged a call or a
    note since (the follow-up happened). Broken promises have their own section."""
    later = Activity.objects.filter(customer=OuterRef("customer")).filter(
        Q(occurred_at__gt=OuterRef("occurred_at"))
        | Q(occurred_at=OuterRef("occurred_at"), pk__gt=OuterRef("pk"))
    )
    superseding = later.filter(
        Q(next_action_date__isnull=False) | Q(kind__in=HUMAN_FOLLOW_UP, author__isnull=False)
    )
    return reminder_selectors.with_phones(
        Activity.objects.visible_to(user)
        .filter(next_action_date__lte=today)
        .exclude(kind=Activity.Kind.PROMISE, outcome="broken")
        .exclude(Exists(superseding))
        .select_related("customer", "author")
        .order_by("next_action_date", "occurred_at", "pk")
    )


def broken_promises(*, user: AnyUser, today: datetime.date) -> QuerySet[PromiseToPay]:
    """Promises broken in the last :data:`BROKEN_PROMISE_DAYS` days (by promised date)
    that nobody followed up yet: no call or note logged by a person on the customer since
    the promised date, and no new promise (recorded later, for a later date). Most
    recent first."""
    called = Activity.objects.filter(
        customer=OuterRef("customer"),
        kind__in=HUMAN_FOLLOW_UP,
        author__isnull=False,
        occurred_at__date__gte=OuterRef("promised_date"),
    )
    promised_again = PromiseToPay.objects.filter(
        customer=OuterRef("customer"),
        created_at__gt=OuterRef("created_at"),
        promised_date__gt=OuterRef("promised_date"),
    )
    return reminder_selectors.with_phones(
        PromiseToPay.objects.visible_to(user)
        .filter(
            status=PromiseToPay.Status.BROKEN,
            promised_date__gte=today - datetime.timedelta(days=BROKEN_PROMISE_DAYS),
        )
        .exclude(Exists(called) | Exists(promised_again))
        .select_related("customer", "recorded_by")
        .order_by("-promised_date", "-pk")
    )


def open_disputes(*, user: AnyUser) -> QuerySet[Dispute]:
    """Disputes waiting for an answer, oldest first (the age is shown)."""
    return (
        Dispute.objects.visible_to(user)
        .open()
        .select_related("invoice__customer", "opened_by")
        .order_by("opened_at", "pk")
    )


class CustomerIdPage(Sequence):
    """Customers given as an ordered list of ids, read (with their balances) only for the
    slice a page shows: ``count()`` and slicing are all a Paginator or a section needs."""

    def __init__(self, ids: list[int], *, user: AnyUser, today: datetime.date) -> None:
        self.ids, self.user, self.today = ids, user, today

    def count(self) -> int:  # type: ignore[override]  # a QuerySet's count(), not Sequence's
        return len(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def filter(self, *, pk: int) -> CustomerIdPage:
        """The one row an in-place action re-renders, if it is still in the section."""
        return CustomerIdPage(
            [i for i in self.ids if i == int(pk)], user=self.user, today=self.today
        )

    def first(self) -> Customer | None:
        return self[0] if self.ids else None

    def __getitem__(self, index):
        ids = self.ids[index] if isinstance(index, slice) else [self.ids[index]]
        customers = Customer.objects.visible_to(self.user).filter(pk__in=ids)
        by_id = {c.pk: c for c in with_balances(customers.select_related("sales_rep"), self.today)}
        rows = [by_id[pk] for pk in ids if pk in by_id]
        return rows if isinstance(index, slice) else rows[0]


def credit_alerts(*, user: AnyUser, today: datetime.date) -> CustomerIdPage:
    """Customers whose balance today exceeds their credit limit or their credit-insurance
    cover, largest balance first: chosen and ranked by one statement over the open items,
    and only the customers shown get their full balances."""
    return CustomerIdPage(
        customers_over_credit_limit(user=user, today=today), user=user, today=today
    )


# --- sections ---------------------------------------------------------------------------


# The worklist's sections, in the order the dashboard shows them. The sizes of the
# reminder-based ones come from one query of conditional counts.
SECTION_KEYS: tuple[str, ...] = (
    "tasks",
    "followups",
    "letters",
    "promises",
    "disputes",
    "sends",
    "collection",
    "credit",
    "sent",
)
REMINDER_SECTIONS = frozenset({"tasks", "letters", "sends", "collection", "sent"})
# What a row of each section is (an in-place action fetches it through ``visible_to``).
type WorklistRow = Reminder | Activity | PromiseToPay | Dispute | Customer
SECTION_MODELS: dict[str, type[WorklistRow]] = {
    **{key: Reminder for key in REMINDER_SECTIONS},
    "followups": Activity,
    "promises": PromiseToPay,
    "disputes": Dispute,
    "credit": Customer,
}
# The kind of row each section's actions act upon. An action fetches its row through
# :func:`section_objects`, so that the id of a row of another kind (a letter posted to
# the sends' "cancel", a collection task to the calls' "call") is a 404, not an action
# taken through the wrong route. The row's state is left to the service, which refuses
# with a message (a letter approved twice says so).
SECTION_KINDS: dict[str, Q] = {
    "tasks": Q(channel=Reminder.Channel.PHONE),
    "letters": Q(channel=Reminder.Channel.LETTER),
    "sends": Q(channel=Reminder.Channel.EMAIL),
    "collection": Q(channel=Reminder.Channel.COLLECTION),
    "sent": Q(status=Reminder.Status.SENT),
    "followups": Q(next_action_date__isnull=False),
    "promises": Q(status=PromiseToPay.Status.BROKEN),
    "disputes": Q(),
    "credit": Q(),
}
SECTION_TITLES = {
    "tasks": gettext_lazy("Calls to make"),
    "followups": gettext_lazy("Next actions due"),
    "letters": gettext_lazy("Letters awaiting approval"),
    "promises": gettext_lazy("Broken promises"),
    "disputes": gettext_lazy("Disputes waiting for an answer"),
    "sends": gettext_lazy("Failed and unknown sends"),
    "collection": gettext_lazy("Files to hand to collection"),
    "credit": gettext_lazy("Over credit limit or insured cover"),
    "sent": gettext_lazy("Reminders sent this week"),
}


def section_rows(
    section: str, *, user: AnyUser, today: datetime.date
) -> QuerySet[Any] | CustomerIdPage:
    """The rows of one worklist section, in the order they are worked."""
    match section:
        case "tasks":  # calls to make: with the numbers to call (one query for the page)
            return reminder_selectors.with_phones(reminder_selectors.phone_tasks(user=user))
        case "followups":
            return follow_ups(user=user, today=today)
        case "letters":
            return reminder_selectors.letters_to_approve(user=user)
        case "promises":
            return broken_promises(user=user, today=today)
        case "disputes":
            return open_disputes(user=user)
        case "sends":
            return reminder_selectors.sends_to_check(user=user)
        case "collection":
            return reminder_selectors.collection_tasks(user=user)
        case "credit":
            return credit_alerts(user=user, today=today)
        case "sent":
            return reminder_selectors.sent_since(user=user, since=week_start(today))
    raise KeyError(section)


def section_objects(section: str, *, user: AnyUser) -> QuerySet[Any]:
    """The rows an in-place action of ``section`` may act upon: of the section's kind
    (:data:`SECTION_KINDS`) and within ``user``'s scope."""
    model = SECTION_MODELS[section]
    return model.objects.visible_to(user).filter(SECTION_KINDS[section])


def decorate(section: str, rows: Iterable[Any], today: datetime.date) -> list[Any]:
    """Per-row facts the templates show, decided here (no query): how long a dispute has
    been open and whether that is long (``DISPUTE_WAITING_DAYS``), how late a follow-up
    is, which of a customer's limits its balance is beyond."""
    rows = list(rows)
    for row in rows:
        if section == "disputes":
            row.age_days = (today - timezone.localdate(row.opened_at)).days
            row.waiting_long = row.age_days > DISPUTE_WAITING_DAYS
        elif section == "followups":
            row.late_days = (today - row.next_action_date).days
        elif section == "credit":
            row.over_credit_limit = row.exceeds_credit_limit(row.total)
            row.over_insured_cover = row.exceeds_insured_cover(row.total)
    return rows


@dataclass(frozen=True)
class Section:
    key: str
    title: StrOrPromise
    items: list[Any]
    total: int

    @property
    def more(self) -> int:
        return max(self.total - len(self.items), 0)


# --- totals and their trend -------------------------------------------------------------


@dataclass(frozen=True)
class Sparkline:
    """A small line chart drawn by the template as inline SVG: ``segments`` are SVG
    "points" attributes (a gap where a value is undefined, e.g. DSO without sales)."""

    width: int
    height: int
    segments: list[str]
    last: tuple[str, str] | None  # preformatted: templates would localize "12.5" as "12,5"
    low: Decimal | None
    high: Decimal | None


def sparkline(values: Sequence[Decimal | None], *, width: int = 120, height: int = 32) -> Sparkline:
    """Geometry of a sparkline over ``values`` (oldest first), scaled to their range."""
    known = [v for v in values if v is not None]
    if not known:
        return Sparkline(width, height, [], None, None, None)
    low, high = min(known), max(known)
    span = float(high - low) or 1.0
    pad = 3.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    segments: list[list[str]] = [[]]
    last = None
    for i, value in enumerate(values):
        if value is None:
            if segments[-1]:
                segments.append([])
            continue
        x = pad + i * step
        y = height - pad - (float(value - low) / span) * (height - 2 * pad)
        segments[-1].append(f"{x:.1f},{y:.1f}")
        last = (f"{x:.1f}", f"{y:.1f}")
    return Sparkline(
        width=width,
        height=height,
        segments=[" ".join(s) for s in segments if s],
        last=last,
        low=low,
        high=high,
    )


@dataclass(frozen=True)
class Figure:
    label: str
    value: Decimal | None
    kind: str  # "money", "percent" or "days": how the template formats it
    trend: Sparkline
    first: Decimal | None  # the value twelve months ago, for the sparkline's caption


@dataclass(frozen=True)
class Totals:
    as_of: datetime.date
    since: datetime.date | None
    figures: list[Figure]


def _percent(share: Decimal | None) -> Decimal | None:
    return None if share is None else (share * 100).quantize(Decimal("0.1"))


# The trend reads the monthly snapshots where they exist (receivables.kpis).
month_end_balances = kpis.month_end_balances


def dashboard_totals(*, user: AnyUser, today: datetime.date) -> Totals:
    """Outstanding, overdue, overdue share and DSO today (receivables.kpis, so the
    dashboard and the manager's page agree), each with its trend over the last 12 month
    ends (see :func:`month_end_balances`); DSO by the KPI page's simple 90-day method."""
    totals = kpis.ledger_totals(user=user, as_of=today)
    ends = [e for e in kpis.month_ends(until=today, count=kpis.TREND_MONTHS) if e < today]
    sales = kpis.net_sales_at(
        Customer.objects.visible_to(user), [*ends, today], whole_ledger=kpis.sees_whole_ledger(user)
    )
    past = month_end_balances(user=user, ends=ends)
    series: dict[str, list[Decimal | None]] = {
        "outstanding": [past[e][0] for e in ends] + [totals.total],
        "overdue": [past[e][1] for e in ends] + [totals.overdue],
        "share": [_percent(kpis.ratio(past[e][1], past[e][0])) for e in ends]
        + [_percent(totals.overdue_share)],
        "dso": [kpis.dso_from(past[e][0], sales[e]) for e in ends]
        + [kpis.dso_from(totals.total, sales[today])],
    }
    labels = {
        "outstanding": (_("Outstanding"), "money"),
        "overdue": (_("Overdue"), "money"),
        "share": (_("Overdue share"), "percent"),
        "dso": (_("DSO"), "days"),
    }
    figures = [
        Figure(
            label=labels[key][0],
            value=values[-1],
            kind=labels[key][1],
            trend=sparkline(values),
            first=values[0] if len(values) > 1 else None,
        )
        for key, values in series.items()
    ]
    return Totals(as_of=today, since=ends[0] if ends else None, figures=figures)


# --- the dashboard ----------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    today: datetime.date
    week_start: datetime.date
    sections: dict[str, Section]

    @property
    def to_do(self) -> int:
        """How many items need a person today (the sent list is for information)."""
        return to_do({key: s.total for key, s in self.sections.items()})


def section_counts(*, user: AnyUser, today: datetime.date) -> dict[str, int]:
    """The size of every section, without their rows: what an in-place action sends back
    so that the dashboard's badges stay true (an action can move an item from one section
    to another: a postponed call becomes a next action). A fixed number of queries."""
    counts = reminder_selectors.worklist_counts(user=user, since=week_start(today))
    for key in SECTION_KEYS:
        if key not in REMINDER_SECTIONS:
            counts[key] = section_rows(key, user=user, today=today).count()
    return {key: counts[key] for key in SECTION_KEYS}


def to_do(counts: dict[str, int]) -> int:
    """How many items need a person today (the sent list is for information)."""
    return sum(n for key, n in counts.items() if key != "sent")


def finance_dashboard(*, user: AnyUser, today: datetime.date, cap: int = SECTION_CAP) -> Dashboard:
    """Today's worklist: the first ``cap`` rows of each section and its size, in a fixed
    number of queries whatever the number of items. The totals are read apart
    (:func:`dashboard_totals`) so that the worklist never waits for them."""
    since = week_start(today)
    counts = reminder_selectors.worklist_counts(user=user, since=since)
    sections: dict[str, Section] = {}
    for key in SECTION_KEYS:
        rows = section_rows(key, user=user, today=today)
        if key in REMINDER_SECTIONS:
            items, total = decorate(key, rows[:cap], today), counts[key]
        elif isinstance(rows, CustomerIdPage):  # already counted by the statement that chose them
            items, total = decorate(key, rows[:cap], today), rows.count()
        else:
            # The size comes with the first rows (a window count over the whole section):
            # one pass instead of a second, as costly, COUNT query.
            items = decorate(key, rows.annotate(section_size=Window(Count("pk")))[:cap], today)
            total = items[0].section_size if items else 0
        sections[key] = Section(key=key, title=SECTION_TITLES[key], items=items, total=total)
    return Dashboard(
        today=today,
        week_start=since.date(),
        sections=sections,
    )


# --- the sales rep's view ---------------------------------------------------------------
