"""Invoice import: customers, billing contacts, sales reps and invoices from one file.

Validation looks everything up in a handful of queries (customers, invoices, users and
contacts of the whole file), compares the file with the database and with itself, and
produces a plan; writing the plan is then mechanical. An invoice already present with
the same data is "unchanged", so re-importing a file is harmless.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, cast

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db.models import Field, Model
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Contact, Customer
from receivables import bounds, services
from receivables.imports.base import (
    Importer,
    Outcome,
    RowReader,
    fetch_in,
    writing_line,
)
from receivables.imports.errors import ErrorList
from receivables.imports.parsing import fold, parse_amount, parse_currency, parse_date, remembered
from receivables.imports.reader import Table
from receivables.models import LEDGER_CURRENCY, Invoice, validate_ledger_currency
from receivables.plans import PlanKind

if TYPE_CHECKING:
    from django.contrib.auth.models import User


# What a ``confirmed`` cell says to confirm the row's warnings (compared folded).
CONFIRMED = frozenset({"yes", "y", "oui", "o", "true", "1", "x"})


def _max_length(model: type[Model], name: str) -> int | None:
    return cast(Field, model._meta.get_field(name)).max_length


@dataclass
class InvoiceRow:
    """One row of the file. A row with errors is kept (``valid`` false, bad cells None)
    so the checks against the database still run on its good cells: a file is
    reported in full in one go."""

    line: int
    customer_ref: str
    customer_name: str
    number: str
    issue_date: datetime.date | None
    due_date: datetime.date | None
    amount: Decimal | None
    currency: str
    po_number: str
    email: str
    sales_rep: str
    confirmed: bool = False
    valid: bool = True


@dataclass
class CustomerFacts:
    """What the file says about one customer, from its first mention on ``line``; later
    rows must agree on email and sales rep."""

    line: int
    name: str
    email: str = ""
    email_line: int = 0
    sales_rep: str = ""
    sales_rep_line: int = 0


@dataclass
class InvoicePlan:
    """The writes an invoice file leads to, decided before any of them happens."""

    new_customers: list[Customer] = field(default_factory=list)
    sales_rep_changes: list[Customer] = field(default_factory=list)
    new_contacts: list[tuple[str, str]] = field(default_factory=list)  # (customer_ref, email)
    changed_contacts: list[Contact] = field(default_factory=list)
    new_invoices: list[InvoiceRow] = field(default_factory=list)
    unchanged: list[InvoiceRow] = field(default_factory=list)
    customers: dict[str, Customer] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class InvoiceImporter(Importer):
    """``import_invoices``: see DESIGN.md, "Contracts other tools rely on"."""

    required = (
        "customer_ref",
        "customer_name",
        "invoice_number",
        "issue_date",
        "due_date",
        "amount",
    )
    optional = ("currency", "po_number", "customer_email", "sales_rep", "confirmed")

    def validate(self, table: Table) -> tuple[InvoicePlan, ErrorList]:
        """Check every row against the file and the database; nothing is written."""
        errors = ErrorList()
        for error in table.errors:
            errors.add(error.line, error.message)
        plan = InvoicePlan()
        rows = self._parse_rows(table, errors)
        facts = self._customer_facts(rows, errors, plan)

        customers = {
            c.customer_ref: c for c in fetch_in(Customer.objects.all(), "customer_ref", facts)
        }
        invoices = {
            i.number: i
            for i in fetch_in(
                Invoice.objects.select_related("customer"),
                "number",
                (r.number for r in rows if r.number),
            )
        }
        user_model = get_user_model()
        username_field = user_model.USERNAME_FIELD
        users = {
            getattr(u, username_field): u
            for u in fetch_in(
                user_model._default_manager.all(),
                username_field,
                (f.sales_rep for f in facts.values() if f.sales_rep),
            )
        }
        contacts: dict[int, list[Contact]] = defaultdict(list)
        with_email = [customers[ref].pk for ref, f in facts.items() if f.email and ref in customers]
        for contact in fetch_in(Contact.objects.order_by("pk"), "customer_id", with_email):
            contacts[contact.customer_id].append(contact)

        reps = self._check_sales_reps(facts, users, errors)
        self._plan_customers(facts, customers, reps, contacts, plan)
        optional_compared: set[str] = {c for c in ("currency", "po_number") if c in table.columns}
        po_required = set(
            Contact.objects.filter(customer__customer_ref__in=list(facts), po_required=True)
            .values_list("customer__customer_ref", flat=True)
            .distinct()
        )
        self._plan_invoices(rows, invoices, optional_compared, errors, plan, po_required)
        return plan, errors

    def _parse_rows(self, table: Table, errors: ErrorList) -> list[InvoiceRow]:
        rows: list[InvoiceRow] = []
        first_line: dict[str, int] = {}
        ceiling = bounds.max_amount()
        today = timezone.localdate()
        email_validator = EmailValidator()
        valid_emails: dict[str, bool] = {}  # a customer's email is on each of its rows
        ref_max, name_max = _max_length(Customer, "customer_ref"), _max_length(Customer, "name")
        number_max, po_max = _max_length(Invoice, "number"), _max_length(Invoice, "po_number")
        email_max = _max_length(Contact, "email")
        day = remembered(parse_date)  # a file holds a few hundred distinct days
        for line, raw in table.rows:
            cells = RowReader(line, raw, errors)
            ref = cells.check_length("customer_ref", cells.required("customer_ref"), ref_max)
            name = cells.check_length("customer_name", cells.required("customer_name"), name_max)
            number = cells.check_length(
                "invoice_number", cells.required("invoice_number"), number_max
            )
            issue_date = cells.parse("issue_date", day)
            due_date = cells.parse("due_date", day)
            amount = cells.parse("amount", parse_amount)
            if amount is not None and amount < 0:
                cells.error(
                    _("amount: %(amount)s is negative; an invoice amount cannot be negative.")
                    % {"amount": amount}
                )
            elif amount is not None:
                for message in bounds.amount_refusals(amount, ceiling=ceiling):
                    cells.error(f"amount: {message}")
            currency = cells.parse("currency", parse_currency, required=False) or LEDGER_CURRENCY
            try:
                validate_ledger_currency(currency)
            except ValidationError as exc:
                cells.error(f"currency: {' '.join(exc.messages)}")
            po_number = cells.check_length("po_number", cells.optional("po_number"), po_max)
            email = cells.optional("customer_email")
            if email:
                if email not in valid_emails:
                    try:
                        email_validator(email)
                        valid_emails[email] = True
                    except ValidationError:
                        valid_emails[email] = False
                if not valid_emails[email]:
                    cells.error(
                        _("customer_email: %(email)s is not a valid email address.")
                        % {"email": email}
                    )
                cells.check_length("customer_email", email, email_max)
            sales_rep = cells.optional("sales_rep")
            if issue_date and due_date and due_date < issue_date:
                cells.error(
                    _("due_date %(due)s is before issue_date %(issue)s.")
                    % {"due": due_date.isoformat(), "issue": issue_date.isoformat()}
                )
            if issue_date:
                for message in bounds.issue_date_refusals(issue_date, due_date, today=today):
                    cells.error(f"issue_date: {message}")
            confirmed = fold(cells.optional("confirmed")) in CONFIRMED
            if number:
                if number in first_line:
                    cells.error(
                        _(
                            "invoice number %(number)s appears twice in the file "
                            "(first on line %(first)d)."
                        )
                        % {"number": number, "first": first_line[number]}
                    )
                else:
                    first_line[number] = line
            rows.append(
                InvoiceRow(
                    line=line, customer_ref=ref, customer_name=name, number=number,
                    issue_date=issue_date, due_date=due_date, amount=amount,
                    currency=currency, po_number=po_number, email=email, sales_rep=sales_rep,
                    confirmed=confirmed, valid=cells.ok,
                )
            )  # fmt: skip
        return rows

    def _customer_facts(
        self, rows: list[InvoiceRow], errors: ErrorList, plan: InvoicePlan
    ) -> dict[str, CustomerFacts]:
        """One set of facts per customer_ref; rows contradicting an earlier row on email
        or sales rep are errors, since only one of them could win."""
        facts: dict[str, CustomerFacts] = {}
        for row in rows:
            if not row.customer_ref:
                continue
            fact = facts.setdefault(row.customer_ref, CustomerFacts(row.line, row.customer_name))
            if row.customer_name != fact.name:
                plan.notes.append(
                    _(
                        "line %(line)d: customer %(ref)s is named %(name)s on line %(first)d; "
                        "that first name is kept."
                    )
                    % {
                        "line": row.line,
                        "ref": row.customer_ref,
                        "name": fact.name,
                        "first": fact.line,
                    }
                )
            if row.email:
                if not fact.email:
                    fact.email, fact.email_line = row.email, row.line
                elif row.email.lower() != fact.email.lower():
                    errors.add(
                        row.line,
                        _(
                            "customer_email: customer %(ref)s has the email %(email)s on line "
                            "%(first)d; one billing email per customer."
                        )
                        % {"ref": row.customer_ref, "email": fact.email, "first": fact.email_line},
                    )
            if row.sales_rep:
                if not fact.sales_rep:
                    fact.sales_rep, fact.sales_rep_line = row.sales_rep, row.line
                elif row.sales_rep != fact.sales_rep:
                    errors.add(
                        row.line,
                        _(
                            "sales_rep: customer %(ref)s has the sales rep %(rep)s on line "
                            "%(first)d; one sales rep per customer."
                        )
                        % {
                            "ref": row.customer_ref,
                            "rep": fact.sales_rep,
                            "first": fact.sales_rep_line,
                        },
                    )
        return facts

    def _check_sales_reps(
        self,
        facts: dict[str, CustomerFacts],
        users: dict[str, User],
        errors: ErrorList,
    ) -> dict[str, User]:
        """The user of each customer's sales rep, which must exist and be active."""
        reps: dict[str, User] = {}
        for ref, fact in facts.items():
            if not fact.sales_rep:
                continue
            user = users.get(fact.sales_rep)
            if user is None:
                errors.add(
                    fact.sales_rep_line,
                    _("sales_rep: unknown user %(username)s.") % {"username": fact.sales_rep},
                )
            elif not user.is_active:
                errors.add(
                    fact.sales_rep_line,
                    _("sales_rep: user %(username)s is inactive.") % {"username": fact.sales_rep},
                )
            else:
                reps[ref] = user
        return reps

    def _plan_customers(
        self,
        facts: dict[str, CustomerFacts],
        customers: dict[str, Customer],
        reps: dict[str, User],
        contacts: dict[int, list[Contact]],
        plan: InvoicePlan,
    ) -> None:
        for ref, fact in facts.items():
            customer = customers.get(ref)
            rep = reps.get(ref)
            if customer is None:
                customer = Customer(customer_ref=ref, name=fact.name, sales_rep=rep)
                plan.new_customers.append(customer)
                if fact.email:
                    plan.new_contacts.append((ref, fact.email))
            else:
                if rep is not None and customer.sales_rep_id != rep.pk:
                    customer.sales_rep = rep
                    plan.sales_rep_changes.append(customer)
                if fact.email:
                    self._plan_contact(ref, fact.email, contacts.get(customer.pk, []), plan)
            plan.customers[ref] = customer

    def _plan_contact(
        self, ref: str, email: str, contacts: list[Contact], plan: InvoicePlan
    ) -> None:
        """Make ``email`` the customer's reminder recipient without duplicating anyone:
        keep a matching "to" contact, else re-address the first "to" contact, else
        promote a contact already known by that email, else create one."""
        to_role = Contact.ReminderRole.TO
        recipients = [c for c in contacts if c.reminder_role == to_role]
        if any(c.email.lower() == email.lower() for c in recipients):
            return
        if recipients:
            recipients[0].email = email
            plan.changed_contacts.append(recipients[0])
            return
        known = next((c for c in contacts if c.email.lower() == email.lower()), None)
        if known is not None:
            known.reminder_role = to_role
            plan.changed_contacts.append(known)
            return
        plan.new_contacts.append((ref, email))

    def _plan_invoices(
        self,
        rows: list[InvoiceRow],
        invoices: dict[str, Invoice],
        optional_compared: set[str],
        errors: ErrorList,
        plan: InvoicePlan,
        po_required: set[str],
    ) -> None:
        """New invoices are created; one already in the database must be the same
        invoice (same customer, same data), then it is left unchanged. A new invoice that
        the form would warn about (dated more than a year ago, no PO number for a customer
        who requires one) is reported unless its ``confirmed`` cell says yes."""
        today = timezone.localdate()
        named: dict[tuple[str, str], Customer] = {}  # the customer as the row names it
        for row in rows:
            existing = invoices.get(row.number) if row.number else None
            if existing is None:
                warnings = self._warnings(row, po_required, today, named)
                for message in warnings:
                    errors.add(
                        row.line,
                        _("%(warning)s Write yes in a confirmed column to import it anyway.")
                        % {"warning": message},
                    )
                if row.valid and not warnings:
                    plan.new_invoices.append(row)
                continue
            if row.customer_ref and existing.customer.customer_ref != row.customer_ref:
                errors.add(
                    row.line,
                    _(
                        "invoice %(number)s already exists for another customer, "
                        "%(other)s (%(other_ref)s)."
                    )
                    % {
                        "number": row.number,
                        "other": existing.customer.name,
                        "other_ref": existing.customer.customer_ref,
                    },
                )
                continue
            if existing.is_credit_note:
                errors.add(
                    row.line,
                    _("%(number)s already exists as a credit note.") % {"number": row.number},
                )
                continue
            differences = _differences(existing, row, optional_compared)
            if differences:
                errors.add(
                    row.line,
                    _("invoice %(number)s already exists with different data: %(diff)s.")
                    % {"number": row.number, "diff": "; ".join(differences)},
                )
            elif row.valid:
                plan.unchanged.append(row)

    @staticmethod
    def _warnings(
        row: InvoiceRow,
        po_required: set[str],
        today: datetime.date,
        named: dict[tuple[str, str], Customer],
    ) -> list[str]:
        if row.confirmed or row.issue_date is None:
            return []
        key = (row.customer_ref, row.customer_name)
        customer = named.get(key)
        if customer is None:
            customer = named[key] = Customer(customer_ref=row.customer_ref, name=row.customer_name)
        return bounds.old_date_warnings(row.issue_date, today=today) + bounds.po_warnings(
            customer, row.po_number, required=row.customer_ref in po_required
        )

    def describe(self, plan: InvoicePlan) -> Outcome:
        return Outcome(
            counts=[
                (_("customers created"), len(plan.new_customers)),
                (_("customers whose sales rep changed"), len(plan.sales_rep_changes)),
                (_("invoices created"), len(plan.new_invoices)),
                (_("invoices unchanged"), len(plan.unchanged)),
                (_("contacts created"), len(plan.new_contacts)),
                (_("contacts updated"), len(plan.changed_contacts)),
            ],
            notes=plan.notes,
        )

    def apply(self, plan: InvoicePlan) -> Outcome:
        """Write the plan; the caller holds the transaction, so a refusal undoes it all."""
        with writing_line(None):
            Customer.objects.bulk_create(plan.new_customers)
            now = timezone.now()
            for customer in plan.sales_rep_changes:
                customer.updated_at = now
            Customer.objects.bulk_update(plan.sales_rep_changes, ["sales_rep", "updated_at"])
            Contact.objects.bulk_create(
                Contact(
                    customer=plan.customers[ref], email=email, reminder_role=Contact.ReminderRole.TO
                )
                for ref, email in plan.new_contacts
            )
            Contact.objects.bulk_update(plan.changed_contacts, ["email", "reminder_role"])
        # The ceiling and the customers' PO requirements read once, not once per invoice;
        # the numbers are new and the customers saved (the plan says so): the invoices are
        # written in batches, and a refusal still names its line.
        rows = plan.new_invoices
        entries = []
        for row in rows:
            # A row planned for creation is valid: every cell parsed.
            assert row.issue_date and row.due_date and row.amount is not None
            entries.append(
                services.NewInvoice(
                    customer=plan.customers[row.customer_ref], number=row.number,
                    issue_date=row.issue_date, due_date=row.due_date, amount=row.amount,
                    currency=row.currency, po_number=row.po_number, plan=PlanKind.SINGLE,
                    confirmed=row.confirmed,
                )
            )  # fmt: skip
        self.tick(0)
        with bounds.batch(c.pk for c in plan.customers.values()):
            try:
                with writing_line(None):
                    services.invoices_create_many(entries, progress=self.tick)
            except services.EntryRefused as exc:
                with writing_line(rows[exc.index].line):
                    raise exc.error from exc
        return self.describe(plan)


def _differences(invoice: Invoice, row: InvoiceRow, optional_compared: set[str]) -> list[str]:
    """What differs between an invoice in the database and the file's row, in words.
    Optional columns absent from the file, and cells that failed to parse, are not
    compared."""
    pairs: list[tuple[str, object, object]] = [
        (_("amount"), invoice.amount, row.amount),
        (_("issue date"), invoice.issue_date, row.issue_date),
        (_("due date"), invoice.due_date, row.due_date),
    ]
    if "currency" in optional_compared:
        pairs.append((_("currency"), invoice.currency, row.currency))
    if "po_number" in optional_compared:
        pairs.append((_("PO number"), invoice.po_number, row.po_number))
    return [
        _("%(field)s is %(db)s in the database but %(file)s in the file")
        % {"field": label, "db": _show(db), "file": _show(new)}
        for label, db, new in pairs
        if new is not None and db != new
    ]


def _show(value: object) -> str:
    if isinstance(value, datetime.date):
        return value.isoformat()
    if value == "":
        return _("empty")
    return str(value)
