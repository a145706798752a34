"""FEC import: the customer accounts (411) of a French "fichier des écritures comptables".

Only the lines of the 411 accounts are imported; every other account is read (its amounts
must parse and every entry must balance) and ignored. A debit line becomes an invoice, a
credit line a credit note when it is in a sales journal and a payment otherwise; nothing
is allocated except by the file's lettering (see lettering.py), so each customer's open
items are the unlettered lines of its account, as the accountant sees them.

Every imported line is remembered in :class:`receivables.models.FecLine` under a stable
key (journal, entry number, piece, account and rank among identical lines of the entry):
a re-import or a later export of the same books creates nothing twice and applies the
lettering as it is now.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.money import ZERO
from customers.models import Customer
from receivables import bounds, services
from receivables.imports.base import Importer, Outcome, fetch_in, writing_line
from receivables.imports.errors import ErrorList
from receivables.imports.fec import lettering
from receivables.imports.fec.reading import (
    _BANK_CODES,
    CUSTOMER_ACCOUNT_PREFIX,
    is_sales_journal,
    line_key,
    parse_fec_date,
)
from receivables.imports.parsing import CellError, fold, parse_amount
from receivables.imports.reader import Row, Table
from receivables.models import FecLine, Invoice, Payment

# Rows per insert when the import writes many at once.
WRITE_BATCH = 1000


@dataclass
class FecRow:
    line: int
    key: str
    customer_ref: str
    customer_name: str
    account: str  # CompteNum|CompAuxNum: lettering is per account
    kind: str  # "invoice", "credit_note" or "payment"
    number: str
    date: datetime.date
    amount: Decimal
    letter: str
    letter_date: datetime.date | None
    payment_method: str = Payment.Method.TRANSFER


@dataclass
class FecPlan:
    rows: list[FecRow] = field(default_factory=list)
    new_rows: list[FecRow] = field(default_factory=list)
    known: dict[str, FecLine] = field(default_factory=dict)
    new_customers: dict[str, str] = field(default_factory=dict)
    ignored: int = 0
    letter_groups: int = 0
    allocated: Decimal = ZERO
    # What an earlier import's lettering allocated and this file no longer letters.
    unlettered: list[int] = field(default_factory=list)
    unlettered_amount: Decimal = ZERO


class FecImporter(Importer):
    """``import_fec``: see DESIGN.md and the README's command-line section."""

    def validate(self, table: Table) -> tuple[FecPlan, ErrorList]:
        errors = ErrorList()
        for error in table.errors:
            errors.add(error.line, error.message)
        plan = FecPlan()
        ceiling = bounds.max_amount()
        entries: dict[tuple[str, str], tuple[int, Decimal]] = {}
        seen: Counter[tuple[str, ...]] = Counter()
        for line, raw in table.rows:
            row = self._parse(line, raw, errors, ceiling, entries, seen, plan)
            if row is not None:
                plan.rows.append(row)
        for (journal, entry), (first, balance) in entries.items():
            if balance:
                errors.add(
                    first,
                    _("entry %(entry)s of journal %(journal)s does not balance (%(diff)s).")
                    % {"entry": entry, "journal": journal, "diff": balance},
                )
        if errors:
            return plan, errors
        self._plan_writes(plan, errors)
        return plan, errors

    def _parse(
        self,
        line: int,
        raw: Row,
        errors: ErrorList,
        ceiling: Decimal,
        entries: dict[tuple[str, str], tuple[int, Decimal]],
        seen: Counter[tuple[str, ...]],
        plan: FecPlan,
    ) -> FecRow | None:
        """One line: its amounts counted in its entry's balance, and, on a customer
        account, what it becomes (None for another account or a bad line)."""

        def cell(column: str) -> str:
            return str(raw.get(column.lower(), "") or "")

        ok = True

        def error(message: str) -> None:
            nonlocal ok
            ok = False
            errors.add(line, message)

        def amount(column: str) -> Decimal:
            value = cell(column)
            if not value:
                return ZERO
            try:
                return parse_amount(value)
            except CellError as exc:
                error(f"{column}: {exc}")
                return ZERO

        def date(column: str, *, required: bool) -> datetime.date | None:
            value = cell(column)
            if not value:
                if required:
                    error(_("missing value in required column %(column)s.") % {"column": column})
                return None
            try:
                return parse_fec_date(value)
            except CellError as exc:
                error(f"{column}: {exc}")
                return None

        journal, entry = cell("JournalCode"), cell("EcritureNum")
        net = amount("Debit") - amount("Credit")
        first, balance = entries.get((journal, entry), (line, ZERO))
        entries[(journal, entry)] = (first, balance + net)
        account = cell("CompteNum")
        if not account:
            error(_("missing value in required column %(column)s.") % {"column": "CompteNum"})
        if not account.startswith(CUSTOMER_ACCOUNT_PREFIX):
            plan.ignored += 1
            return None
        entry_date = date("EcritureDate", required=True)
        piece_date = date("PieceDate", required=False)
        letter = cell("EcritureLet")
        letter_date = date("DateLet", required=False) if letter else None
        aux = cell("CompAuxNum")
        ref = aux or account
        name = (cell("CompAuxLib") if aux else cell("CompteLib")) or ref
        if len(ref) > 40:
            error(_("the customer account %(ref)s is longer than 40 characters.") % {"ref": ref})
        piece = cell("PieceRef")
        kind = "invoice" if net > 0 else "payment"
        if net < 0 and is_sales_journal(journal, cell("JournalLib")):
            kind = "credit_note"
        number = piece or f"{journal}-{entry}"
        if kind != "payment" and len(number) > 40:
            error(_("PieceRef %(ref)s is longer than 40 characters.") % {"ref": number})
        if net:
            for message in bounds.amount_refusals(abs(net), ceiling=ceiling):
                error(f"{_('amount')}: {message}")
        day = piece_date or entry_date
        if day is not None and kind != "invoice":
            message = _("%(day)s is in the future: a payment or a credit note has happened.")
            for refusal in bounds.not_future_refusals(day, what=message % {"day": day}):
                error(refusal)
        elif day is not None:
            for refusal in bounds.issue_date_refusals(day):
                error(refusal)
        if not ok or not net or day is None:
            return None
        identity = (journal, entry, piece, account, aux)
        seen[identity] += 1
        method = Payment.Method.TRANSFER
        if kind == "payment" and not _BANK_CODES.match(fold(journal)):
            method = Payment.Method.OTHER
        return FecRow(
            line=line,
            key=line_key(
                journal=journal,
                entry=entry,
                piece=piece,
                account=f"{account}/{aux}",
                occurrence=seen[identity],
            ),
            customer_ref=ref,
            customer_name=name[:200],
            account=f"{account}|{aux}",
            kind=kind,
            number=number,
            date=day,
            amount=abs(net),
            letter=letter,
            letter_date=letter_date,
            payment_method=method,
        )

    def _plan_writes(self, plan: FecPlan, errors: ErrorList) -> None:
        plan.known = {
            f.key: f
            for f in fetch_in(
                FecLine.objects.select_related("invoice__customer", "payment__customer"),
                "key",
                (r.key for r in plan.rows),
            )
        }
        for row in plan.rows:
            if row.key in plan.known:
                self._check_unchanged(row, plan.known[row.key], errors)
        if errors:
            return
        plan.new_rows = [r for r in plan.rows if r.key not in plan.known]
        existing = {
            c.customer_ref
            for c in fetch_in(
                Customer.objects.only("customer_ref"),
                "customer_ref",
                (r.customer_ref for r in plan.new_rows),
            )
        }
        for row in plan.new_rows:
            if row.customer_ref not in existing:
                plan.new_customers.setdefault(row.customer_ref, row.customer_name)
        numbered = [r for r in plan.new_rows if r.kind != "payment"]
        taken = {
            i.number
            for i in fetch_in(
                Invoice.objects.only("number"), "number", (r.number for r in numbered)
            )
        }
        for row in numbered:
            # The same piece on two customer lines (an invoice in two parts, a piece
            # number reused by another journal) keeps its number with a suffix.
            base, rank = row.number, 1
            while row.number in taken:
                rank += 1
                row.number = f"{base[:36]}-{rank}"
            taken.add(row.number)
        plan.letter_groups = len({(r.account, r.letter) for r in plan.rows if r.letter})
        plan.unlettered, plan.unlettered_amount = lettering.unlettered(plan)

    @staticmethod
    def _check_unchanged(row: FecRow, known: FecLine, errors: ErrorList) -> None:
        """A line imported before must say the same now: the books changed after the
        import (an amount, a customer) is for a person to look at, never overwritten."""
        target: Invoice | Payment
        if known.payment is not None:
            target, kind = known.payment, "payment"
        else:
            assert known.invoice is not None
            target = known.invoice
            kind = "credit_note" if target.is_credit_note else "invoice"
        before = (kind, target.customer.customer_ref, target.amount)
        if before != (row.kind, row.customer_ref, row.amount):
            errors.add(
                row.line,
                _(
                    "this line was imported before as %(before)s; the file now says "
                    "%(after)s: correct the ledger by hand, then import again."
                )
                % {
                    "before": f"{before[1]} {before[2]}",
                    "after": f"{row.customer_ref} {row.amount}",
                },
            )

    def describe(self, plan: FecPlan) -> Outcome:
        new = Counter(r.kind for r in plan.new_rows)
        return Outcome(
            counts=[
                (_("customers created"), len(plan.new_customers)),
                (_("invoices created"), new["invoice"]),
                (_("credit notes created"), new["credit_note"]),
                (_("payments created"), new["payment"]),
                (_("customer lines already imported"), len(plan.rows) - len(plan.new_rows)),
                (_("lines of other accounts ignored"), plan.ignored),
                (_("lettering groups"), plan.letter_groups),
                (_("amount no longer lettered, released"), plan.unlettered_amount),
            ]
        )

    def apply(self, plan: FecPlan) -> Outcome:
        with writing_line(None):
            Customer.objects.bulk_create(
                (Customer(customer_ref=ref, name=name) for ref, name in plan.new_customers.items()),
                batch_size=WRITE_BATCH,
            )
        customers = {
            c.customer_ref: c
            for c in fetch_in(
                Customer.objects.all(), "customer_ref", (r.customer_ref for r in plan.rows)
            )
        }
        lines: dict[str, FecLine] = dict(plan.known)
        # The ceiling and the customers' PO requirements read once, not once per line.
        with bounds.batch(c.pk for c in customers.values()):
            for done, row in enumerate(plan.new_rows):
                self.tick(done)
                customer = customers[row.customer_ref]
                with writing_line(row.line):
                    lines[row.key] = self._create(row, customer)
            self._save_lines(plan.new_rows, lines)
            lettering.release(plan.unlettered, on=timezone.localdate())
            plan.allocated = lettering.letter(plan, lines)
        outcome = self.describe(plan)
        outcome.counts.append((_("amount allocated by lettering"), plan.allocated))
        return outcome

    @staticmethod
    def _create(row: FecRow, customer: Customer) -> FecLine:
        """The invoice, credit note or payment of ``row``, and its FecLine (saved later,
        with all the others, by :meth:`_save_lines`)."""
        if row.kind == "invoice":
            invoice = services.invoice_create(
                customer=customer,
                number=row.number,
                issue_date=row.date,
                due_date=row.date + datetime.timedelta(days=customer.payment_terms_days),
                amount=row.amount,
                confirmed=True,
            )
            return FecLine(key=row.key, invoice=invoice)
        if row.kind == "credit_note":
            note = services.credit_note_create(
                customer=customer, number=row.number, issue_date=row.date, amount=row.amount
            )
            return FecLine(key=row.key, invoice=note)
        payment = services.payment_record(
            customer=customer,
            date=row.date,
            amount=row.amount,
            method=row.payment_method,
            reference=row.number[: Payment._meta.get_field("reference").max_length],
            installments=[],  # only the lettering allocates
        )
        return FecLine(key=row.key, payment=payment)

    @staticmethod
    def _save_lines(rows: list[FecRow], lines: dict[str, FecLine]) -> None:
        """Insert the new rows' FecLines in a few queries. A key the database refuses
        (the same books imported at the same moment) is reported on its line."""
        try:
            with transaction.atomic():
                FecLine.objects.bulk_create(
                    (lines[row.key] for row in rows), batch_size=WRITE_BATCH
                )
        except DatabaseError as exc:
            taken = {f.key for f in fetch_in(FecLine.objects.only("key"), "key", lines)}
            line = next((row.line for row in rows if row.key in taken), None)
            with writing_line(line):
                raise exc
