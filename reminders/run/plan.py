"""Plan: which installment takes which step on which day, decided in plain Python on a
snapshot of the ledger (run/state.py), with no database access. The daily run, the dry
run, "send now" and the 7-day preview share this one rule book.

The rules (DESIGN.md, "The default scenario"):

- only the next step of an installment is ever taken, so a missed week never fires
  several steps at once;
- step k is due on the later of (due date + offset k) and (day step k-1 was actually sent
  + offset k - offset k-1), so a late send keeps the scenario's spacing;
- the run on a weekend or a French public holiday does nothing; the next business-day run
  sends what fell due meanwhile;
- at most one email per customer per day, in the tone of its highest step;
- disputed, promised, paused, exempt, direct-debit and paid installments get nothing (the
  snapshot says on which days each installment may be reminded, by the ledger's one rule:
  ``Installment.objects.remindable``);
- a step below its minimum amount (the customer's total of the installments concerned)
  is not taken;
- escalation is per customer where the law and the customer see it: a customer has at
  most one formal notice in progress (awaiting approval, or approved and not posted),
  which claims every overdue, undisputed installment when it is approved. While it is in
  progress the customer gets no other letter and no email (what falls due meanwhile is
  claimed by it on approval); a day with a notice has no email (never a courteous first
  email and a formal notice together). Once a notice is posted, its installments have
  reached the letter step and go on to the next one; an installment that falls due after
  it follows its own scenario, but the run's emails never take a tone milder than the
  customer's current level (the highest step of a live notice) allows: they are written
  in the tone of the last email step before it ("Dernière relance"), at least. Only a
  person goes milder: "send now", or cancelling the notice.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

import holidays
from django.utils import timezone
from django.utils.translation import gettext as _

from core.money import ZERO
from receivables import bounds
from reminders.models import (
    Scenario,
    ScenarioStep,
    step_label,
)
from reminders.run.state import CustomerState, InstallmentState, State

if TYPE_CHECKING:
    from reminders.emails import Recipients

Action = ScenarioStep.Action

logger = logging.getLogger("reminders.services")


# --- calendar ---------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _french_holidays(year: int) -> frozenset[datetime.date]:
    return frozenset(holidays.country_holidays("FR", years=year).keys())


def is_business_day(day: datetime.date) -> bool:
    """Monday to Friday and not a French public holiday: the only days reminders leave."""
    return day.weekday() < 5 and day not in _french_holidays(day.year)


# --- scenarios --------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    id: int
    scenario_id: int
    position: int
    name: str
    name_en: str
    offset_days: int
    action: str
    also_phone_task: bool
    approval_required: bool
    min_amount: Decimal

    @cached_property
    def offset(self) -> datetime.timedelta:
        return datetime.timedelta(days=self.offset_days)

    @property
    def display_name(self) -> str:
        """The name in the active language, as ``ScenarioStep.display_name``."""
        return step_label(self.name, self.name_en)


@dataclass
class Scenarios:
    """Every scenario's steps, loaded once per run (a handful of rows)."""

    default_id: int | None
    by_scenario: dict[int, list[Step]]
    by_id: dict[int, Step]
    # next_step's answers, by (scenario, position): asked for every installment.
    _next: dict[tuple[int | None, int], Step | None] = field(
        default_factory=dict, init=False, repr=False
    )

    def effective(self, scenario_id: int | None) -> int | None:
        return scenario_id if scenario_id is not None else self.default_id

    def next_step(self, scenario_id: int | None, after_position: int) -> Step | None:
        key = (scenario_id, after_position)
        try:
            return self._next[key]
        except KeyError:
            pass
        found = next(
            (s for s in self.by_scenario.get(scenario_id or -1, ()) if s.position > after_position),
            None,
        )
        self._next[key] = found
        return found

    def tone_floor(self, scenario_id: int | None, level: Step | None) -> Step | None:
        """The mildest email a customer at ``level`` may get from the run: the last email
        step of the scenario before that level (None: no floor)."""
        if level is None:
            return None
        emails = [
            s
            for s in self.by_scenario.get(scenario_id or -1, ())
            if s.action == Action.EMAIL and s.position < level.position
        ]
        return emails[-1] if emails else None

    @property
    def min_offset(self) -> int:
        offsets = [s.offset_days for s in self.by_id.values()]
        return min(offsets) if offsets else 0


def load_scenarios() -> Scenarios:
    """Two queries: the default scenario's id and all steps."""
    default_id = Scenario.objects.filter(is_default=True).values_list("pk", flat=True).first()
    by_scenario: dict[int, list[Step]] = defaultdict(list)
    by_id: dict[int, Step] = {}
    for row in ScenarioStep.objects.order_by("scenario_id", "position").values():
        step = Step(
            id=row["id"],
            scenario_id=row["scenario_id"],
            position=row["position"],
            name=row["name"],
            name_en=row["name_en"],
            offset_days=row["offset_days"],
            action=row["action"],
            also_phone_task=row["also_phone_task"],
            approval_required=row["approval_required"],
            min_amount=row["min_amount"],
        )
        by_scenario[step.scenario_id].append(step)
        by_id[step.id] = step
    return Scenarios(default_id=default_id, by_scenario=dict(by_scenario), by_id=by_id)


# --- the planner ------------------------------------------------------------------------


@dataclass
class PlannedItem:
    installment: InstallmentState
    step: Step
    days_late: int


@dataclass
class CustomerPlan:
    """What one customer gets on one day."""

    customer: CustomerState
    day: datetime.date
    emails: list[PlannedItem] = field(default_factory=list)
    letters: list[PlannedItem] = field(default_factory=list)
    tasks: list[PlannedItem] = field(default_factory=list)
    # Other overdue installments, listed in the email for information only.
    others: list[InstallmentState] = field(default_factory=list)
    # Filled in by readers that show the plan (the preview).
    recipients: Recipients | None = None
    # The mildest tone the email may take: the customer's current level allows no milder.
    tone_floor: Step | None = None

    @property
    def email_step(self) -> Step | None:
        """The tone of the email: its highest step, and never below ``tone_floor``."""
        steps = [i.step for i in self.emails]
        if steps and self.tone_floor is not None:
            steps.append(self.tone_floor)
        return max(steps, key=lambda s: s.position, default=None)

    @property
    def phone_task_step(self) -> Step | None:
        if self.customer.open_phone_task:
            return None
        steps = [i.step for i in self.emails if i.step.also_phone_task]
        return max(steps, key=lambda s: s.position, default=None)

    @property
    def email_total(self) -> Decimal:
        return sum((i.installment.amount_left for i in self.emails), ZERO)

    @property
    def is_empty(self) -> bool:
        return not (self.emails or self.letters or self.tasks)


def step_due_on(inst: InstallmentState, step: Step) -> datetime.date:
    due = inst.due_date + step.offset
    last = inst.last_step
    if last is not None and inst.last_done_on is not None:
        due = max(due, inst.last_done_on + (step.offset - last.offset))
    return due


def _apply_minimums(items: list[PlannedItem]) -> list[PlannedItem]:
    """Drop the steps whose installments total less than the step's minimum amount."""
    by_step: dict[int, list[PlannedItem]] = defaultdict(list)
    for item in items:
        by_step[item.step.id].append(item)
    kept: list[PlannedItem] = []
    for group in by_step.values():
        total = sum((i.installment.amount_left for i in group), ZERO)
        if total >= group[0].step.min_amount:
            kept.extend(group)
    return kept


def plan_customer(
    customer: CustomerState, day: datetime.date, scenarios: Scenarios, *, manual: bool = False
) -> CustomerPlan:
    """One customer's plan for ``day``: the installments that may be reminded that day
    (``InstallmentState.remindable_on``, the ledger's one rule) and whose next step is due.
    ``manual`` is "send now": the next email step of every installment in the reminder
    scope, whatever its date, the pause or a promise (a person decided), but still never a
    disputed or paid one (they are not in the snapshot)."""
    plan = CustomerPlan(customer=customer, day=day)
    candidates: list[PlannedItem] = []
    next_step, scenario_id = scenarios.next_step, customer.scenario_id
    for inst in customer.installments:  # the hot loop of every run: kept lean
        if not manual and day not in inst.remindable_on:
            continue
        last = inst.last_step
        step = (
            None
            if last is not None and inst.last_done_on is None  # pending
            else next_step(scenario_id, last.position if last is not None else 0)
        )
        if step is not None and (
            step.action == Action.EMAIL if manual else step_due_on(inst, step) <= day
        ):
            candidates.append(PlannedItem(inst, step, inst.days_late(day)))
        elif inst.due_date < day:
            plan.others.append(inst)
    for item in _apply_minimums(candidates):
        if item.step.action == Action.EMAIL:
            plan.emails.append(item)
        elif item.step.action == Action.LETTER:
            plan.letters.append(item)
        else:
            plan.tasks.append(item)
    if plan.emails and not manual and (customer.email_in_flight or day in customer.emailed_on):
        # At most one email a day, and none while another is unsettled: these items
        # wait for the next run, which recomputes them.
        plan.emails = []
    if not manual:
        if customer.notice_in_progress:
            # One notice in progress at most: it claims all of this when it is approved.
            plan.letters = []
        if plan.letters or customer.notice_in_progress:
            # No email beside a notice: never a courteous email and a formal notice on
            # the same day, nor while one waits to be approved or posted.
            plan.emails = []
        plan.tone_floor = scenarios.tone_floor(customer.scenario_id, customer.level)
    if manual:
        plan.letters, plan.tasks = [], []
    listed = {i.installment.id for i in plan.emails}
    plan.others = [i for i in plan.others if i.id not in listed]
    return plan


@dataclass(frozen=True)
class Skipped:
    """A customer the run could not plan, and why: reported in the run's result, in the
    log and on the finance worklist; the other customers are planned as usual."""

    customer_id: int
    customer_name: str
    reason: str


def unplannable_reason(
    customer: CustomerState, *, today: datetime.date | None = None
) -> str | None:
    """Why this customer's reminders cannot be planned from its data, if they cannot: an
    installment due outside the ledger's window of plausible dates (an import before
    the bounds, a typing error kept in the database) would make an absurd email ("46 112
    days late") or break date arithmetic."""
    today = today or timezone.localdate()
    dues = [inst.due_date for inst in customer.installments]
    if not dues or (
        # The window is an interval: its ends decide for every date between them.
        bounds.plausible_due_date(min(dues), today=today)
        and bounds.plausible_due_date(max(dues), today=today)
    ):
        return None
    for inst in customer.installments:
        if not bounds.plausible_due_date(inst.due_date, today=today):
            return _("Invoice %(number)s is due on %(date)s, outside the plausible dates.") % {
                "number": inst.invoice_number,
                "date": inst.due_date.isoformat(),
            }
    return None


def plan_day(
    state: State,
    day: datetime.date,
    scenarios: Scenarios,
    *,
    manual: bool = False,
    skipped: list[Skipped] | None = None,
) -> list[CustomerPlan]:
    """Every customer's plan for ``day``; nothing on a non-business day (unless manual).
    A customer whose plan cannot be computed is left out (added to ``skipped``, logged)
    and never stops the others."""
    if not manual and not is_business_day(day):
        return []
    plans = []
    today = timezone.localdate()
    for customer in state.customers.values():
        reason = unplannable_reason(customer, today=today)
        if reason is None:
            try:
                plan = plan_customer(customer, day, scenarios, manual=manual)
            except Exception as exc:  # one customer's data never stops the run
                logger.exception("reminders: customer %s could not be planned", customer.id)
                reason = _("Its reminders could not be planned (%(error)s).") % {
                    "error": f"{type(exc).__name__}: {exc}"
                }
        if reason is not None:
            if skipped is not None:
                skipped.append(Skipped(customer.id, customer.name, reason))
            continue
        if not plan.is_empty:
            plans.append(plan)
    return plans


def apply_plans(plans: Iterable[CustomerPlan], day: datetime.date) -> None:
    """Advance the snapshot as if every planned action happened on ``day`` (the preview
    assumes each send succeeds and each letter is approved the same day)."""
    for plan in plans:
        for item in (*plan.emails, *plan.letters, *plan.tasks):
            item.installment.last_step = item.step
            item.installment.last_done_on = day
        if plan.letters:
            letter = max((i.step for i in plan.letters), key=lambda s: s.position)
            _claim(plan.customer, letter, day)
        if plan.emails:
            plan.customer.emailed_on.add(day)
            if plan.phone_task_step is not None:
                plan.customer.open_phone_task = True


def settle_pending(state: State, day: datetime.date) -> None:
    """For the preview: assume what is in flight today (emails being sent or retried,
    letters awaiting approval) completes on ``day``."""
    for customer in state.customers.values():
        customer.email_in_flight = False
        for inst in customer.installments:
            if inst.last_pending:
                inst.last_done_on = day
        if customer.notice_in_progress and customer.level is not None:
            _claim(customer, customer.level, day)
        customer.notice_in_progress = False


def _claim(customer: CustomerState, letter: Step, day: datetime.date) -> None:
    """For the preview: a notice approved and posted on ``day`` claims every overdue
    installment below its step, and sets the customer's level."""
    for inst in customer.installments:
        if inst.due_date < day and (
            inst.last_step is None or inst.last_step.position < letter.position
        ):
            inst.last_step, inst.last_done_on = letter, day
    if customer.level is None or customer.level.position < letter.position:
        customer.level = letter


@dataclass(frozen=True)
class NextStep:
    """What the scenario will do next for one installment, and from when."""

    step: Step
    on: datetime.date
    pending: bool = False  # the previous step is not done yet: ``on`` is only a floor

    @property
    def name(self) -> str:
        """The step's name in the active language."""
        return self.step.display_name


def next_step_for(
    *,
    scenarios: Scenarios,
    scenario_id: int | None,
    due_date: datetime.date,
    last_step: Step | None,
    last_done_on: datetime.date | None,
    today: datetime.date,
) -> NextStep | None:
    """The next step of an installment due on ``due_date`` whose last step taken is
    ``last_step`` (done on ``last_done_on``, None while pending), by the same rules as
    the daily run; None when the scenario has no step left. For pages that show what
    comes next without loading the planner's snapshot."""
    step = scenarios.next_step(
        scenarios.effective(scenario_id), last_step.position if last_step else 0
    )
    if step is None:
        return None
    state = InstallmentState(
        id=0,
        customer_id=0,
        invoice_id=0,
        invoice_number="",
        currency="",
        sequence=1,
        issue_date=today,
        due_date=due_date,
        amount_left=ZERO,
        last_step=last_step,
        last_done_on=last_done_on if last_step else None,
    )
    return NextStep(step=step, on=max(step_due_on(state, step), today), pending=state.last_pending)
