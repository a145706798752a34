"""The scenario engine: which installment takes which step on which day.

The engine works on a snapshot of the ledger loaded in a fixed number of queries
(:func:`load_state`), decides in plain Python (:func:`plan_day`, no database access), and
writes its decisions set-based (:func:`persist_plans`). Keeping the decision pure lets the
daily run, the dry run, the manual "send now" and the 7-day preview share one rule book:
the preview simply applies a day's plan to the snapshot and plans the next day.

The rules (DESIGN.md, "The default scenario"):

- only the next step of an installment is ever taken, so a missed week never fires
  several steps at once;
- step k is due on the later of (due date + offset k) and (day step k-1 was actually sent
  + offset k - offset k-1), so a late send keeps the scenario's spacing;
- the run on a weekend or a French public holiday does nothing; the next business-day run
  sends what fell due meanwhile;
- at most one email per customer per day, in the tone of its highest step;
- disputed, promised, paused, exempt, direct-debit and paid installments get nothing;
- a step below its minimum amount (the customer's total of the installments concerned)
  is not taken.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

import holidays
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery

from customers.models import Contact, Customer
from receivables.models import Dispute, Installment, PromiseToPay
from reminders.models import CompanyProfile, Reminder, ReminderItem, Scenario, ScenarioStep

ZERO = Decimal("0.00")
Action = ScenarioStep.Action
Status = Reminder.Status


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
    offset_days: int
    action: str
    also_phone_task: bool
    approval_required: bool
    min_amount: Decimal


@dataclass
class Scenarios:
    """Every scenario's steps, loaded once per run (a handful of rows)."""

    default_id: int | None
    by_scenario: dict[int, list[Step]]
    by_id: dict[int, Step]

    def effective(self, scenario_id: int | None) -> int | None:
        return scenario_id if scenario_id is not None else self.default_id

    def next_step(self, scenario_id: int | None, after_position: int) -> Step | None:
        for step in self.by_scenario.get(scenario_id or -1, ()):
            if step.position > after_position:
                return step
        return None

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
            offset_days=row["offset_days"],
            action=row["action"],
            also_phone_task=row["also_phone_task"],
            approval_required=row["approval_required"],
            min_amount=row["min_amount"],
        )
        by_scenario[step.scenario_id].append(step)
        by_id[step.id] = step
    return Scenarios(default_id=default_id, by_scenario=dict(by_scenario), by_id=by_id)


def company_profile() -> CompanyProfile:
    """The company profile, without creating it (a dry run writes nothing)."""
    return CompanyProfile.objects.order_by("pk").first() or CompanyProfile()


# --- the snapshot -----------------------------------------------------------------------


@dataclass
class InstallmentState:
    id: int
    customer_id: int
    invoice_id: int
    invoice_number: str
    currency: str
    sequence: int
    issue_date: datetime.date
    due_date: datetime.date
    amount_left: Decimal
    promised_until: datetime.date | None = None
    last_step: Step | None = None
    # The day the last step was actually taken; None while it is still pending (an email
    # not sent yet, a letter awaiting approval): the next step waits for it.
    last_done_on: datetime.date | None = None

    @property
    def last_pending(self) -> bool:
        return self.last_step is not None and self.last_done_on is None

    def days_late(self, day: datetime.date) -> int:
        return (day - self.due_date).days


@dataclass
class CustomerState:
    id: int
    name: str
    customer_ref: str
    language: str
    scenario_id: int | None
    paused_until: datetime.date | None
    email_in_flight: bool = False
    # An open call task already on the worklist: a new step-3 email adds no second one.
    open_phone_task: bool = False
    emailed_on: set[datetime.date] = field(default_factory=set)
    installments: list[InstallmentState] = field(default_factory=list)


@dataclass
class State:
    customers: dict[int, CustomerState]
    grace_days: int


def reminder_base_installments(customer_q: Q | None = None) -> QuerySet[Installment]:
    """Open installments that may be reminded at all, whatever the day: of a counting
    invoice, not fully paid, of a customer neither exempt nor paying by direct debit, and
    with no open dispute on the invoice. Pauses and promises depend on the day and are
    checked by :func:`plan_day`."""
    qs = (
        Installment.objects.open()
        .filter(invoice__customer__reminders_exempt=False, invoice__customer__direct_debit=False)
        .exclude(Exists(Dispute.objects.open().filter(invoice=OuterRef("invoice"))))
    )
    if customer_q is not None:
        qs = qs.filter(customer_q)
    return qs


def _promise_subqueries() -> dict[str, Subquery]:
    """The latest pending promise date covering an installment: by a promise naming its
    invoice, or by one naming no invoice (it covers all the customer's invoices)."""
    named = PromiseToPay.objects.pending().filter(invoices=OuterRef("invoice"))
    blanket = PromiseToPay.objects.pending().filter(
        customer=OuterRef("invoice__customer"), invoices__isnull=True
    )
    return {
        "promise_named": Subquery(named.order_by("-promised_date").values("promised_date")[:1]),
        "promise_all": Subquery(blanket.order_by("-promised_date").values("promised_date")[:1]),
    }


def _done_on(channel: str, status: str, attempted_on, run_date) -> datetime.date | None:
    """The day a step was actually taken, or None while it is pending."""
    if status == Status.SENT:
        return attempted_on or run_date
    if channel in (Reminder.Channel.PHONE, Reminder.Channel.COLLECTION):
        return run_date  # a task is "taken" the day it lands on the worklist
    return None


def load_state(
    *,
    last_day: datetime.date,
    scenarios: Scenarios,
    customer_q: Q | None = None,
    grace_days: int | None = None,
) -> State:
    """Snapshot everything the planner needs up to ``last_day``, in four queries
    whatever the ledger's size: installments (with promise dates), their live reminder
    items, the customers, and the customers' recent emails."""
    if grace_days is None:
        grace_days = company_profile().promise_grace_days
    base = reminder_base_installments(customer_q).filter(
        invoice__issue_date__lte=last_day,
        due_date__lte=last_day - datetime.timedelta(days=scenarios.min_offset),
    )
    rows = base.annotate(**_promise_subqueries()).values(
        "pk",
        "invoice_id",
        "invoice__number",
        "invoice__currency",
        "invoice__customer_id",
        "invoice__issue_date",
        "sequence",
        "due_date",
        "amount",
        "paid_amount",
        "promise_named",
        "promise_all",
    )
    grace = datetime.timedelta(days=grace_days)
    installments: dict[int, InstallmentState] = {}
    for r in rows.order_by("due_date", "invoice__number", "sequence"):
        promised = max((d for d in (r["promise_named"], r["promise_all"]) if d), default=None)
        installments[r["pk"]] = InstallmentState(
            id=r["pk"],
            customer_id=r["invoice__customer_id"],
            invoice_id=r["invoice_id"],
            invoice_number=r["invoice__number"],
            currency=r["invoice__currency"],
            sequence=r["sequence"],
            issue_date=r["invoice__issue_date"],
            due_date=r["due_date"],
            amount_left=r["amount"] - r["paid_amount"],
            promised_until=promised + grace if promised else None,
        )
    # Joins rather than IN (subquery): the planner handles them well at any size.
    items = ReminderItem.objects.filter(
        active=True, installment__paid_amount__lt=F("installment__amount")
    ).values_list(
        "installment_id",
        "step_id",
        "reminder__channel",
        "reminder__status",
        "reminder__attempted_on",
        "reminder__run_date",
    )
    for inst_id, step_id, channel, status, attempted_on, run_date in items:
        inst = installments.get(inst_id)
        step = scenarios.by_id.get(step_id)
        if inst is None or step is None:
            continue
        if inst.last_step is None or step.position > inst.last_step.position:
            inst.last_step = step
            inst.last_done_on = _done_on(channel, status, attempted_on, run_date)
    customers: dict[int, CustomerState] = {}
    customer_rows = (
        Customer.objects.filter(pk__in=sorted({i.customer_id for i in installments.values()}))
        .annotate(
            in_flight=Exists(Reminder.objects.in_flight().filter(customer=OuterRef("pk"))),
            open_phone_task=Exists(
                Reminder.objects.filter(
                    customer=OuterRef("pk"), channel=Reminder.Channel.PHONE, status=Status.TODO
                )
            ),
        )
        .values(
            "pk",
            "name",
            "customer_ref",
            "language",
            "scenario_id",
            "reminders_paused_until",
            "in_flight",
            "open_phone_task",
        )
    )
    for c in customer_rows:
        customers[c["pk"]] = CustomerState(
            id=c["pk"],
            name=c["name"],
            customer_ref=c["customer_ref"],
            language=c["language"],
            scenario_id=scenarios.effective(c["scenario_id"]),
            paused_until=c["reminders_paused_until"],
            email_in_flight=c["in_flight"],
            open_phone_task=c["open_phone_task"],
        )
    recent = (
        Reminder.objects.emails()
        .exclude(status=Status.CANCELLED)
        .filter(
            Q(run_date__gte=last_day - datetime.timedelta(days=1))
            | Q(attempted_on__gte=last_day - datetime.timedelta(days=1))
        )
        .values_list("customer_id", "run_date", "attempted_on", "status")
    )
    for customer_id, run_date, attempted_on, status in recent:
        if customer_id in customers:
            # A sent email counts on the day it left; an unsent one on its planned day.
            day = attempted_on if status == Status.SENT and attempted_on else run_date
            customers[customer_id].emailed_on.add(day)
    for inst in installments.values():
        if inst.customer_id in customers:
            customers[inst.customer_id].installments.append(inst)
    return State(customers=customers, grace_days=grace_days)


# --- the planner (pure) -----------------------------------------------------------------


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

    @property
    def email_step(self) -> Step | None:
        """The tone of the email: its highest step."""
        return max((i.step for i in self.emails), key=lambda s: s.position, default=None)

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


def _step_due_on(inst: InstallmentState, step: Step) -> datetime.date:
    due = inst.due_date + datetime.timedelta(days=step.offset_days)
    if inst.last_step is not None and inst.last_done_on is not None:
        spacing = step.offset_days - inst.last_step.offset_days
        due = max(due, inst.last_done_on + datetime.timedelta(days=spacing))
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
    """One customer's plan for ``day``. ``manual`` is "send now": the next email step of
    every remindable installment, whatever its date, the pause or a promise (a person
    decided), but still never a disputed or paid one (they are not in the snapshot)."""
    plan = CustomerPlan(customer=customer, day=day)
    if not manual and customer.paused_until is not None and customer.paused_until >= day:
        return plan
    candidates: list[PlannedItem] = []
    for inst in customer.installments:
        if inst.issue_date > day or inst.amount_left <= 0:
            continue
        promised = inst.promised_until is not None and inst.promised_until >= day
        if promised and not manual:
            continue
        step = (
            None
            if inst.last_pending
            else scenarios.next_step(
                customer.scenario_id, inst.last_step.position if inst.last_step else 0
            )
        )
        takes = step is not None and (
            step.action == Action.EMAIL if manual else _step_due_on(inst, step) <= day
        )
        if takes:
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
    if manual:
        plan.letters, plan.tasks = [], []
    listed = {i.installment.id for i in plan.emails}
    plan.others = [i for i in plan.others if i.id not in listed]
    return plan


def plan_day(
    state: State, day: datetime.date, scenarios: Scenarios, *, manual: bool = False
) -> list[CustomerPlan]:
    """Every customer's plan for ``day``; nothing on a non-business day (unless manual)."""
    if not manual and not is_business_day(day):
        return []
    plans = []
    for customer in state.customers.values():
        plan = plan_customer(customer, day, scenarios, manual=manual)
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


# --- recipients -------------------------------------------------------------------------


@dataclass
class Recipients:
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    greeting_contact: Contact | None = None

    def as_json(self) -> dict[str, list[str]]:
        return {"to": self.to, "cc": self.cc}


def load_recipients(customer_ids: Iterable[int]) -> dict[int, Recipients]:
    """The billing contacts who receive reminders, one query for all customers; with no
    "to" contact, the "cc" ones are promoted so the email still has an addressee."""
    result: dict[int, Recipients] = defaultdict(Recipients)
    ids = list(customer_ids)
    if not ids:
        return result
    contacts = (
        Contact.objects.reminder_recipients()
        .filter(customer_id__in=ids)
        .order_by("customer_id", "reminder_role", "pk")
    )
    for contact in contacts:
        rec = result[contact.customer_id]
        if contact.reminder_role == Contact.ReminderRole.TO:
            if contact.email not in rec.to:
                rec.to.append(contact.email)
            if rec.greeting_contact is None:
                rec.greeting_contact = contact
        elif contact.email not in rec.cc:
            rec.cc.append(contact.email)
    for rec in result.values():
        if not rec.to and rec.cc:
            rec.to, rec.cc = rec.cc, []
        rec.cc = [e for e in rec.cc if e not in rec.to]
    return result
