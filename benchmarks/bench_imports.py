"""Benchmark of the imports: invoices from CSV, a FEC, and a bank statement to match.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/relance_bench_imp \\
        .venv/bin/python benchmarks/bench_imports.py --rows 100000

Uses the database given by DATABASE_URL, which must be a dedicated one: the ledger tables
are emptied first (and again before the FEC). Writes its files in a temporary directory
and runs each one through its management command (validation, then the writes in one
transaction), as finance staff would:

1. ``import_invoices``: a CSV of ROWS invoices of ROWS/10 customers, each with a billing
   email and a PO number, issued over the last ten months;
2. ``import_bank_statement``: a camt.053 statement of ROWS/10 credits against the ROWS
   open installments the CSV left: half name an invoice in their remittance information
   (matched and allocated), a quarter pay an invoice's exact amount from its customer's
   exact name, a sixth from an IBAN the customer paid from earlier in the statement, the
   rest from nobody known; then the matching queue's proposals for every line left;
3. ``import_fec``: on an emptied ledger, a FEC (tab separated, the 18 standard columns)
   of ROWS sales entries (411 customer line, 706 revenue, 44571 VAT) of ROWS/10
   customers, and bank entries paying (and lettering) about a third of them.

Prints, for each step, rows per second, seconds, queries and the process's peak memory
(its resident set high-water mark, from ``resource.getrusage``). ``--rows 2000`` is a
smoke run; ``--max-seconds`` bounds the whole run.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import resource
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CAMT_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
FEC_COLUMNS = (
    "JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib",
    "CompAuxNum", "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit",
    "EcritureLet", "DateLet", "ValidDate", "Montantdevise", "Idevise",
)  # fmt: skip
INVOICES_PER_CUSTOMER = 10


def setup_django() -> None:
    if not os.environ.get("DATABASE_URL"):
        sys.exit("Set DATABASE_URL to a dedicated database (its ledger tables are emptied).")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "x" * 40)
    os.environ["EMAIL_URL"] = "dummymail://"  # never send anything from a benchmark
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


# --- the files -------------------------------------------------------------------------


def customer_ref(i: int) -> str:
    return f"BENCH{i:06d}"


def customer_name(i: int) -> str:
    return f"Client {i} SAS"


def customer_iban(i: int) -> str:
    return f"FR76300060000{i:014d}"


def invoice_number(k: int) -> str:
    return f"INV{k:07d}"


def invoice_amount(k: int) -> Decimal:
    """Varied amounts, so that an exact amount usually points to one invoice."""
    return Decimal(100 + (k * 7919) % 9000) + Decimal(k % 100) / 100


def invoice_dates(k: int, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """Issued over the last 300 days (never old enough to need a confirmation)."""
    issue = today - datetime.timedelta(days=1 + (k * 13) % 300)
    return issue, issue + datetime.timedelta(days=30)


def write_invoice_csv(path: Path, rows: int, today: datetime.date) -> int:
    """The CSV ``import_invoices`` reads: ``rows`` invoices, ten per customer."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(
            "customer_ref,customer_name,invoice_number,issue_date,due_date,amount,"
            "currency,po_number,customer_email\n"
        )
        for k in range(rows):
            c = k // INVOICES_PER_CUSTOMER
            issue, due = invoice_dates(k, today)
            out.write(
                f"{customer_ref(c)},{customer_name(c)},{invoice_number(k)},{issue.isoformat()},"
                f"{due.isoformat()},{invoice_amount(k)},EUR,PO-{k:07d},"
                f"compta{c}@bench.example\n"
            )
    return rows


@dataclass
class StatementMix:
    by_reference: int = 0
    by_name: int = 0
    by_iban: int = 0
    unknown: int = 0


def write_camt(path: Path, lines: int, invoices: int, today: datetime.date) -> StatementMix:
    """A camt.053 statement of ``lines`` booked credits against the invoices of
    :func:`write_invoice_csv` (``invoices`` of them). Per 12 lines: 6 name an invoice in
    their remittance (from the customer's name and IBAN, for the whole amount or a part),
    3 pay an invoice's exact amount from its customer's exact name, 2 from an IBAN that
    customer paid from on an earlier line (no name), 1 from a stranger."""
    mix = StatementMix()
    day = (today - datetime.timedelta(days=1)).isoformat()
    customers = max(invoices // INVOICES_PER_CUSTOMER, 1)
    with path.open("w", encoding="utf-8") as out:
        out.write(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{CAMT_NS}">\n'
            "<BkToCstmrStmt><GrpHdr><MsgId>BENCH</MsgId>"
            "<CreDtTm>2026-01-01T06:00:00</CreDtTm></GrpHdr>\n"
            "<Stmt><Id>BENCH-1</Id><Acct><Id><IBAN>FR7630006000011234567890189</IBAN>"
            "</Id></Acct>\n"
        )
        for n in range(lines):
            kind = n % 12
            # Spread over the ledger: one invoice of a different customer each line.
            k = (n * 7 * INVOICES_PER_CUSTOMER + n // customers) % invoices
            c = k // INVOICES_PER_CUSTOMER
            name, iban, remittance = customer_name(c), customer_iban(c), ""
            amount = invoice_amount(k)
            if kind < 6:
                remittance = f"Facture {invoice_number(k)} merci"
                if kind == 5:
                    amount = (amount / 2).quantize(Decimal("0.01"))
                mix.by_reference += 1
            elif kind < 9:
                iban = ""
                mix.by_name += 1
            elif kind < 11:
                # An IBAN seen on a matched line of a customer (kind 0 of this block).
                # Another invoice of the customer of line n - kind, which named one.
                first = n - kind
                k0 = (first * 7 * INVOICES_PER_CUSTOMER + first // customers) % invoices
                c = k0 // INVOICES_PER_CUSTOMER
                k = min(c * INVOICES_PER_CUSTOMER + (k0 + kind - 8) % INVOICES_PER_CUSTOMER,
                        invoices - 1)  # fmt: skip
                name, iban, amount = "", customer_iban(c), invoice_amount(k)
                mix.by_iban += 1
            else:
                name, iban = f"Inconnu {n}", f"DE8937040044{n:010d}"
                remittance = f"Commande {n}"
                mix.unknown += 1
            rmt = f"<RmtInf><Ustrd>{remittance}</Ustrd></RmtInf>" if remittance else ""
            out.write(
                f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
                f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{day}</Dt></BookgDt>"
                f"<AcctSvcrRef>BENCH{n:08d}</AcctSvcrRef><NtryDtls><TxDtls>"
                f"<Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
                f"<RltdPties><Dbtr><Nm>{name}</Nm></Dbtr>"
                f"<DbtrAcct><Id><IBAN>{iban}</IBAN></Id></DbtrAcct></RltdPties>"
                f"{rmt}</TxDtls></NtryDtls></Ntry>\n"
            )
        out.write("</Stmt></BkToCstmrStmt></Document>\n")
    return mix


def _fec_amount(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",")


def write_fec(path: Path, invoices: int, today: datetime.date) -> tuple[int, int]:
    """A FEC of ``invoices`` sales entries (customer, revenue and VAT lines), and one
    bank entry for every third invoice, lettered with it. Returns (file lines, customer
    lines)."""
    file_lines = customer_lines = 0
    zero = "0,00"

    def row(*cells: str) -> str:
        return "\t".join(cells) + "\n"

    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("\t".join(FEC_COLUMNS) + "\n")
        bank_entry = 0
        for k in range(invoices):
            c = k // INVOICES_PER_CUSTOMER
            issue, _due = invoice_dates(k, today)
            day = issue.strftime("%Y%m%d")
            total = invoice_amount(k)
            net = (total / Decimal("1.2")).quantize(Decimal("0.01"))
            vat = total - net
            piece = f"F{k:07d}"
            paid = k % 3 == 0
            letter = _letter(k) if paid else ""
            paid_day = min(issue + datetime.timedelta(days=20), today - datetime.timedelta(days=1))
            let_day = paid_day.strftime("%Y%m%d") if paid else ""
            aux, aux_name = customer_ref(c), customer_name(c)
            entry = str(k + 1)
            out.write(
                row("VE", "Ventes", entry, day, "41100000", "Clients", aux, aux_name, piece,
                    day, f"Facture {piece}", _fec_amount(total), zero, letter, let_day, day,
                    "", "")
                + row("VE", "Ventes", entry, day, "70600000", "Prestations", "", "", piece,
                      day, f"Facture {piece}", zero, _fec_amount(net), "", "", day, "", "")
                + row("VE", "Ventes", entry, day, "44571000", "TVA collectee", "", "",
                      piece, day, f"Facture {piece}", zero, _fec_amount(vat), "", "", day,
                      "", "")
            )  # fmt: skip
            file_lines += 3
            customer_lines += 1
            if paid:
                bank_entry += 1
                pay = paid_day.strftime("%Y%m%d")
                ref = f"VIR{bank_entry:07d}"
                out.write(
                    row("BQ", "Banque", str(bank_entry), pay, "51200000", "Banque", "", "",
                        ref, pay, f"Virement {aux_name}", _fec_amount(total), zero, "", "",
                        pay, "", "")
                    + row("BQ", "Banque", str(bank_entry), pay, "41100000", "Clients", aux,
                          aux_name, ref, pay, f"Virement {aux_name}", zero,
                          _fec_amount(total), letter, let_day, pay, "", "")
                )  # fmt: skip
                file_lines += 2
                customer_lines += 1
    return file_lines, customer_lines


def _letter(k: int) -> str:
    """A lettering code unique within a customer's account (AAA, AAB, ...)."""
    code = ""
    for _ in range(3):
        code = chr(ord("A") + k % 26) + code
        k //= 26
    return code


# --- measuring -------------------------------------------------------------------------


@dataclass
class Figure:
    label: str
    rows: int
    seconds: float
    queries: int
    peak_mb: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")

    def line(self) -> str:
        return (
            f"{self.label:<40} {self.rows:8d} rows {self.seconds:8.1f} s "
            f"{self.rows_per_second:8.0f} rows/s {self.queries:8d} queries "
            f"peak {self.peak_mb:6.0f} MB"
        )


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def peak_rss_mb() -> float:
    """The process's resident set high-water mark so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def measured(label: str, rows: int, figures: list[Figure]) -> Iterator[None]:
    from django.db import connection

    counter = QueryCounter()
    start = time.perf_counter()
    with connection.execute_wrapper(counter):
        yield
    figure = Figure(label, rows, time.perf_counter() - start, counter.count, peak_rss_mb())
    figures.append(figure)
    print(figure.line(), flush=True)


def empty_tables() -> None:
    from django.core.management.color import no_style
    from django.db import connection

    from customers.models import Activity, Contact, Customer
    from receivables.models import (
        Allocation,
        BankTransaction,
        Dispute,
        FecLine,
        Installment,
        Invoice,
        Payment,
        PromiseToPay,
    )
    from reminders.models import Reminder, ReminderItem, ReminderRun

    models = [
        ReminderItem, Reminder, ReminderRun, Activity, BankTransaction, FecLine, Allocation,
        Payment, Installment, Dispute, PromiseToPay.invoices.through, PromiseToPay, Invoice,
        Contact, Customer,
    ]  # fmt: skip
    tables = [m._meta.db_table for m in models]
    statements = connection.ops.sql_flush(
        no_style(), tables, reset_sequences=True, allow_cascade=True
    )
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def analyze() -> None:
    """What autovacuum does after a bulk load, so the next step's plans are sensible."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def run_command(command: str, path: Path) -> str:
    from django.core.management import call_command
    from django.utils import translation

    out, err = io.StringIO(), io.StringIO()
    with translation.override("en"):  # the summary reads the English counters
        call_command(command, str(path), stdout=out, stderr=err)
    return out.getvalue()


def summary(output: str, *labels: str) -> str:
    """The command's counters named by ``labels``, on one line."""
    wanted = []
    for text in output.splitlines():
        label, _sep, value = text.partition(": ")
        if label in labels:
            wanted.append(f"{value} {label}")
    return ", ".join(wanted)


def run_all(
    workdir: Path,
    rows: int,
    *,
    today: datetime.date,
    empty: Callable[[], None] = empty_tables,
    say: Callable[[str], None] = print,
) -> list[Figure]:
    """Write the three files in ``workdir`` and import them; the figures of each step."""
    from django.contrib.auth import get_user_model

    from receivables.models import BankTransaction, Installment
    from receivables.selectors.bank import match_queue

    figures: list[Figure] = []
    bank_lines = max(rows // 10, 1)

    empty()
    csv_path = workdir / "invoices.csv"
    write_invoice_csv(csv_path, rows, today)
    say(f"invoices CSV: {rows} rows, {csv_path.stat().st_size / 1e6:.1f} MB")
    with measured("import_invoices (CSV)", rows, figures):
        output = run_command("import_invoices", csv_path)
    say("  " + summary(output, "customers created", "invoices created", "contacts created"))
    analyze()

    open_parts = Installment.objects.open().count()
    camt_path = workdir / "statement.xml"
    mix = write_camt(camt_path, bank_lines, rows, today)
    say(
        f"camt.053: {bank_lines} credits against {open_parts} open installments "
        f"({mix.by_reference} naming an invoice, {mix.by_name} by payer name, "
        f"{mix.by_iban} by IBAN, {mix.unknown} unknown), "
        f"{camt_path.stat().st_size / 1e6:.1f} MB"
    )
    with measured("import_bank_statement (camt.053)", bank_lines, figures):
        output = run_command("import_bank_statement", camt_path)
    say(
        "  "
        + summary(output, "credits matched and allocated", "lines waiting in the matching queue")
    )
    waiting = BankTransaction.objects.awaiting_match().count()
    finance, _created = get_user_model().objects.get_or_create(
        username="bench-imports", defaults={"is_superuser": True}
    )
    with measured("matching queue proposals", waiting, figures):
        queue = match_queue(user=finance)
    proposed = sum(1 for q in queue if q.proposals)
    say(f"  {proposed} of {len(queue)} waiting lines have a proposal")

    empty()
    fec_path = workdir / "books.fec.txt"
    file_lines, customer_lines = write_fec(fec_path, rows, today)
    say(
        f"FEC: {file_lines} lines ({customer_lines} on customer accounts), "
        f"{fec_path.stat().st_size / 1e6:.1f} MB"
    )
    with measured("import_fec (FEC)", file_lines, figures):
        output = run_command("import_fec", fec_path)
    say(
        "  "
        + summary(
            output,
            "customers created",
            "invoices created",
            "payments created",
            "amount allocated by lettering",
        )
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="invoices per file")
    parser.add_argument(
        "--max-seconds", type=int, default=3600, help="stop the whole run after this long"
    )
    args = parser.parse_args()
    if args.rows < INVOICES_PER_CUSTOMER:
        parser.error(f"--rows must be at least {INVOICES_PER_CUSTOMER}")
    setup_django()

    def too_long(signum, frame):
        sys.exit(f"Stopped after {args.max_seconds} s (--max-seconds).")

    signal.signal(signal.SIGALRM, too_long)
    signal.alarm(args.max_seconds)

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    call_command("migrate", verbosity=0)
    with tempfile.TemporaryDirectory(prefix="bench-imports-") as workdir:
        figures = run_all(Path(workdir), args.rows, today=timezone.localdate())
    print()
    for figure in figures:
        print(figure.line())


if __name__ == "__main__":
    main()
