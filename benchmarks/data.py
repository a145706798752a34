"""The benchmark's data set: a large, realistic, deterministic ledger loaded with COPY.

    .venv/bin/python -m benchmarks.data --invoices 1000000 --customers 20000

What it makes (seeded: the same arguments give the same rows):

- ``bench-finance``, ``bench-manager`` and 20 sales reps ``bench-rep00``… (password
  :data:`PASSWORD`), each rep owning a twentieth of the customers;
- customers ``BENCH-0000001``… with one billing contact (a third a second one in copy),
  a few exempt from reminders, paying by direct debit or paused;
- invoices ``BENCH-00000001``… whose due dates are spread over the past 18 months and the
  next 2, in 1 to 3 installments; about 60 % paid fully or partly, each paid part by a
  payment allocated to it (``Installment.paid_amount`` and ``Payment.allocated_amount``
  are the sums of the allocations, as the services keep them), a few payments on
  account left unallocated, a few credit notes;
- open disputes on about 1 % of the invoices and pending promises to pay for about 1 % of
  the customers.

Generated rows are marked by their names: customers' references start with
:data:`PREFIX` and users' names with :data:`USER_PREFIX`. The generator refuses a database
holding anything else (a customer of another reference, a user with a usable password who
is not a bench user) and SQLite; on a database it recognises as its own it empties the
ledger and loads it again. It runs ``migrate`` first and ``ANALYZE`` after loading.
"""

from __future__ import annotations

import argparse
import datetime
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

PREFIX = "BENCH-"
USER_PREFIX = "bench-"
PASSWORD = "bench-only-password"  # noqa: S105 - a throwaway database's users
REPS = 20
SEED = 42
TERMS_DAYS = 30

# Emptied before a load: every table that holds rows about customers or their ledger.
LEDGER_TABLES = (
    "customers_customer",
    "customers_contact",
    "customers_activity",
    "receivables_invoice",
    "receivables_installment",
    "receivables_payment",
    "receivables_allocation",
    "receivables_dispute",
    "receivables_promisetopay",
    "receivables_promisetopay_invoices",
    "receivables_agedbalancesnapshot",
    "receivables_agedbalancesnapshotrow",
    "reminders_reminderrun",
    "reminders_reminder",
    "reminders_reminderitem",
)


class RealDataError(Exception):
    """The database holds something the generator did not make: it must not be touched."""


@dataclass
class Counts:
    customers: int = 0
    contacts: int = 0
    invoices: int = 0
    credit_notes: int = 0
    installments: int = 0
    payments: int = 0
    allocations: int = 0
    disputes: int = 0
    promises: int = 0
    seconds: float = 0.0
    paid_invoices: int = 0

    def summary(self) -> str:
        return (
            f"{self.customers} customers, {self.invoices} invoices "
            f"({self.paid_invoices} paid fully or partly), {self.credit_notes} credit notes, "
            f"{self.installments} installments, {self.payments} payments, "
            f"{self.allocations} allocations, {self.disputes} disputes, "
            f"{self.promises} promises in {self.seconds:.1f} s"
        )


def check_database(connection) -> None:
    """Raise :class:`RealDataError` unless the database is PostgreSQL and holds nothing
    but generated data (or nothing at all). Reads only."""
    if connection.vendor != "postgresql":
        raise RealDataError(
            f"The benchmark needs PostgreSQL; this database is {connection.vendor}."
        )
    tables = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        if "customers_customer" in tables:
            cursor.execute(
                "SELECT count(*) FROM customers_customer WHERE customer_ref NOT LIKE %s",
                [PREFIX + "%"],
            )
            (foreign,) = cursor.fetchone()
            if foreign:
                raise RealDataError(
                    f"This database holds {foreign} customers the benchmark did not make "
                    f"(their reference does not start with {PREFIX}): it is left untouched."
                )
        if "auth_user" in tables:
            # Django marks an unusable password with a leading "!".
            cursor.execute(
                "SELECT username FROM auth_user WHERE password NOT LIKE '!%%' "
                "AND username NOT LIKE %s ORDER BY username",
                [USER_PREFIX + "%"],
            )
            users = [row[0] for row in cursor.fetchall()]
            if users:
                raise RealDataError(
                    f"This database has users who can log in and are not bench users "
                    f"({', '.join(users[:5])}): it is left untouched."
                )


def ensure_users() -> dict[str, int]:
    """The bench users (created once, password reset): name -> id."""
    from django.contrib.auth.models import Group, User

    from core import access

    ids = {}
    names = [(f"{USER_PREFIX}finance", access.FINANCE), (f"{USER_PREFIX}manager", access.MANAGER)]
    names += [(f"{USER_PREFIX}rep{i:02d}", access.SALES) for i in range(REPS)]
    hashed = None
    for name, role in names:
        user, _ = User.objects.get_or_create(username=name)
        if hashed is None:
            user.set_password(PASSWORD)  # hashed once: PBKDF2 is slow on purpose
            hashed = user.password
        user.password = hashed
        user.first_name = name.removeprefix(USER_PREFIX).capitalize()
        user.save()
        user.groups.set([Group.objects.get_or_create(name=role)[0]])
        ids[name] = user.pk
    return ids


def rep_names() -> list[str]:
    return [f"{USER_PREFIX}rep{i:02d}" for i in range(REPS)]


def _cents(value: int) -> str:
    return f"{value // 100}.{value % 100:02d}"


def _split(total: int, parts: int) -> list[int]:
    base = total // parts
    return [base] * (parts - 1) + [total - base * (parts - 1)]


class Loader:
    """Writes the rows table by table through COPY, ids assigned here (the tables were
    emptied and their identities restarted, then moved past the last id)."""

    def __init__(self, cursor, *, invoices: int, customers: int, today: datetime.date):
        self.cursor = cursor
        self.n_invoices = invoices
        self.n_customers = customers
        self.today = today
        self.rng = random.Random(SEED)
        self.counts = Counts()

    def copy(self, table: str, columns: tuple[str, ...], rows: Iterator[tuple]) -> int:
        n = 0
        with self.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
        return n

    # --- customers ----------------------------------------------------------------------

    def customers(self, reps: list[int], now: datetime.datetime) -> None:
        rng = random.Random(SEED + 1)
        cities = [("69002", "Lyon"), ("75011", "Paris"), ("33000", "Bordeaux"),
                  ("59000", "Lille"), ("13001", "Marseille"), ("44000", "Nantes")]  # fmt: skip
        limits = [None, None, "5000.00", "20000.00", "100000.00"]
        self.paused_until = self.today + datetime.timedelta(days=10)

        def rows():
            for i in range(1, self.n_customers + 1):
                postal, city = cities[i % len(cities)]
                r = rng.random()
                yield (
                    i, f"{PREFIX}{i:07d}", f"Bench customer {i:07d} SAS", "", "",
                    f"{i} rue du Banc d'essai", "", postal, city, "FR",
                    "en" if i % 10 == 0 else "fr", TERMS_DAYS, rng.choice(limits),
                    "50000.00" if i % 7 == 0 else None,
                    r < 0.01, self.paused_until if 0.01 <= r < 0.02 else None,
                    0.02 <= r < 0.05, "", now, now, reps[i % len(reps)], "",
                )  # fmt: skip

        self.counts.customers = self.copy(
            "customers_customer",
            ("id", "customer_ref", "name", "siren", "vat_number", "address_line1",
             "address_line2", "postal_code", "city", "country", "language",
             "payment_terms_days", "credit_limit", "insured_cover", "reminders_exempt",
             "reminders_paused_until", "direct_debit", "notes", "created_at", "updated_at",
             "sales_rep_id", "sepa_mandate"),
            rows(),
        )  # fmt: skip

        def contacts():
            pk = 0
            for i in range(1, self.n_customers + 1):
                pk += 1
                yield (pk, "Service comptabilité", "Comptabilité", f"compta@bench-{i}.example",
                       "", "to", True, "email", "", i % 9 == 0, now, i)  # fmt: skip
                if i % 3 == 0:
                    pk += 1
                    yield (pk, f"Direction {i}", "DAF", f"daf@bench-{i}.example", "", "cc",
                           False, "email", "", False, now, i)  # fmt: skip

        self.counts.contacts = self.copy(
            "customers_contact",
            ("id", "name", "role", "email", "phone", "reminder_role", "receives_invoices",
             "invoice_channel", "invoice_instructions", "po_required", "created_at",
             "customer_id"),
            contacts(),
        )  # fmt: skip

    # --- the ledger ---------------------------------------------------------------------

    def ledger(self, now: datetime.datetime) -> None:
        """Invoices, installments, payments and allocations in one pass, each table's
        rows buffered per chunk of invoices so that memory stays flat."""
        rng = self.rng
        today = self.today
        day = datetime.timedelta(days=1)
        invoices, installments, payments, allocations = [], [], [], []
        disputes, promises = [], []
        ids = {"inst": 0, "pay": 0, "alloc": 0}
        chunk = 20_000
        for n in range(1, self.n_invoices + 1):
            customer = rng.randint(1, self.n_customers)
            # Due dates over the past 18 months and the next 2 months.
            due = today + datetime.timedelta(days=rng.randint(-548, 61))
            issue = min(due - datetime.timedelta(days=TERMS_DAYS), today)
            if rng.random() < 0.005:  # a credit note, left to the customer's credit
                amount = rng.randint(2_000, 200_000)
                invoices.append((n, f"{PREFIX}{n:08d}", "credit_note", issue, issue,
                                 _cents(amount), "EUR", "", "", None, now, None, customer,
                                 False, ""))  # fmt: skip
                self.counts.credit_notes += 1
            else:
                amount = rng.randint(5_000, 2_000_000)
                invoices.append((n, f"{PREFIX}{n:08d}", "invoice", issue, due, _cents(amount),
                                 "EUR", "", "", None, now, None, customer, False,
                                 ""))  # fmt: skip
                self.counts.invoices += 1
                parts = rng.choices((1, 2, 3), weights=(70, 20, 10))[0]
                any_paid = False
                for seq, part in enumerate(_split(amount, parts), start=1):
                    part_due = due + datetime.timedelta(days=30 * (seq - 1))
                    paid = self._paid(part, part_due) if issue < today else 0
                    ids["inst"] += 1
                    inst_id = ids["inst"]
                    installments.append((inst_id, seq, part_due, _cents(part), _cents(paid), n))
                    if paid:
                        any_paid = True
                        pay_day = part_due + datetime.timedelta(days=rng.randint(-10, 60))
                        pay_day = max(min(pay_day, today - day), issue)
                        ids["pay"] += 1
                        ids["alloc"] += 1
                        cents = _cents(paid)
                        payments.append((ids["pay"], pay_day, cents, cents, "transfer",
                                         f"VIR {n}", None, now, customer, None))  # fmt: skip
                        allocations.append((ids["alloc"], _cents(paid), pay_day, now, inst_id,
                                            None, ids["pay"], None))  # fmt: skip
                self.counts.paid_invoices += any_paid
                if not any_paid and due < today and rng.random() < 0.02:
                    disputes.append((len(disputes) + self.counts.disputes + 1,
                                     rng.choice(["price", "quality", "not_received"]),
                                     "", now, None, "", None, None, n))  # fmt: skip
            if rng.random() < 0.002:  # a payment on account, not allocated yet
                ids["pay"] += 1
                payments.append((ids["pay"], today - datetime.timedelta(days=rng.randint(1, 60)),
                                 _cents(rng.randint(10_000, 500_000)), "0.00", "cheque",
                                 f"CHQ {n}", None, now, customer, None))  # fmt: skip
            if n % chunk == 0 or n == self.n_invoices:
                self._flush(invoices, installments, payments, allocations, disputes)
        # Pending promises to pay, for about 1 % of the customers (all their invoices).
        for c in range(1, self.n_customers + 1):
            if rng.random() < 0.01:
                pk = len(promises) + 1
                promised = today + datetime.timedelta(days=rng.randint(1, 20))
                promises.append((pk, promised, _cents(rng.randint(50_000, 1_000_000)),
                                 "pending", "", now, c, None))  # fmt: skip
        self.counts.promises = self.copy(
            "receivables_promisetopay",
            ("id", "promised_date", "amount", "status", "note", "created_at", "customer_id",
             "recorded_by_id"),
            iter(promises),
        )  # fmt: skip

    def _paid(self, part: int, due: datetime.date) -> int:
        """What was paid of an installment of ``part`` cents due on ``due``: most old
        ones fully, fewer as the due date nears, a few partly, a few early."""
        rng = self.rng
        late = (self.today - due).days
        if late > 90:
            chance = 0.64
        elif late > 30:
            chance = 0.45
        elif late > 0:
            chance = 0.3
        else:
            chance = 0.05
        if rng.random() >= chance:
            return 0
        if rng.random() < 0.15:  # partly
            return max(1, part * rng.randint(20, 80) // 100)
        return part

    def _flush(self, invoices, installments, payments, allocations, disputes) -> None:
        c = self.counts
        self.copy(
            "receivables_invoice",
            ("id", "number", "kind", "issue_date", "due_date", "amount", "currency",
             "po_number", "pdf", "cancelled_at", "created_at", "credited_invoice_id",
             "customer_id", "is_write_off", "payment_reference"),
            iter(invoices),
        )  # fmt: skip
        c.installments += self.copy(
            "receivables_installment",
            ("id", "sequence", "due_date", "amount", "paid_amount", "invoice_id"),
            iter(installments),
        )
        c.payments += self.copy(
            "receivables_payment",
            ("id", "date", "amount", "allocated_amount", "method", "reference", "import_key",
             "created_at", "customer_id", "returned_on"),
            iter(payments),
        )  # fmt: skip
        c.allocations += self.copy(
            "receivables_allocation",
            ("id", "amount", "date", "created_at", "installment_id", "credit_note_id",
             "payment_id", "reverses_id"),
            iter(allocations),
        )  # fmt: skip
        c.disputes += self.copy(
            "receivables_dispute",
            ("id", "reason", "description", "opened_at", "resolved_at", "resolution",
             "opened_by_id", "resolved_by_id", "invoice_id"),
            iter(disputes),
        )  # fmt: skip
        for rows in (invoices, installments, payments, allocations, disputes):
            rows.clear()


def _audit_triggers(cursor, *, enable: bool) -> None:
    """Switch the user triggers (the audit trail's) of the ledger tables on or off."""
    for table in LEDGER_TABLES:
        cursor.execute(f"ALTER TABLE {table} {'ENABLE' if enable else 'DISABLE'} TRIGGER USER")


def _restart_identities(cursor, tables) -> None:
    """Move each table's identity past the ids written here."""
    for table in tables:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - our names
            f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
        )


def generate(*, invoices: int, customers: int, snapshots: int = 0, verbosity: int = 1) -> Counts:
    """Load the data set into the default database (see the module docstring). Raises
    :class:`RealDataError`, having changed nothing, on a database that holds other data."""
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    if invoices < 1 or customers < 1:
        raise ValueError("--invoices and --customers must be positive.")
    check_database(connection)
    call_command("migrate", verbosity=0)
    check_database(connection)  # the tables exist now: read them once more
    started = time.perf_counter()
    today = timezone.localdate()
    now = timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {', '.join(LEDGER_TABLES)} RESTART IDENTITY CASCADE")
        users = ensure_users()
        reps = [users[name] for name in rep_names()]
        with connection.cursor() as cursor:
            # A generated ledger is no history: the audit trail's triggers (one event row
            # per row written, and a per-row cost that grew with the load) are off while
            # it is loaded, in this transaction only (foreign keys stay checked).
            _audit_triggers(cursor, enable=False)
            loader = Loader(cursor.cursor, invoices=invoices, customers=customers, today=today)
            loader.customers(reps, now)
            if verbosity:
                print(f"  customers loaded ({time.perf_counter() - started:.1f} s)", flush=True)
            loader.ledger(now)
            _restart_identities(cursor, LEDGER_TABLES)
            # The foreign keys are checked now rather than at the commit (the same work):
            # the load leaves no pending check behind it, even inside an outer transaction.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            _audit_triggers(cursor, enable=True)
        _prepare_company()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    if snapshots:
        from receivables.snapshots import snapshot_take_month_end

        first_of_month = today.replace(day=1)
        for _ in range(snapshots):
            snapshot_take_month_end(today=first_of_month)
            first_of_month = (first_of_month - datetime.timedelta(days=1)).replace(day=1)
    loader.counts.seconds = time.perf_counter() - started
    return loader.counts


def _prepare_company() -> None:
    """The company's bank details and address, which letters and emails print."""
    from receivables.models import CompanyProfile

    company = CompanyProfile.get()
    if not company.iban:
        company.city = company.city or "Lyon"
        company.iban = "FR7630006000011234567890189"
        company.bic = "AGRIFRPPXXX"
        company.email = company.email or "relances@bench.example"
        company.save()


def setup_django() -> None:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "x" * 40)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--snapshots", type=int, default=12, help="month-end snapshots to take")
    args = parser.parse_args(argv)
    setup_django()
    try:
        counts = generate(
            invoices=args.invoices, customers=args.customers, snapshots=args.snapshots
        )
    except RealDataError as exc:
        print(f"Refused: {exc}", file=sys.stderr)
        return 2
    print(counts.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
