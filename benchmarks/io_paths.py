"""The hot paths that produce or take in files and messages: reminder emails through a
local SMTP server, formal-notice PDFs, the CSV invoice import; each beside its floor."""

from __future__ import annotations

import csv
import datetime
import smtplib
import socket
import tempfile
import time
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

from benchmarks import floors
from benchmarks.measure import measure, run_once
from benchmarks.paths import run_day, today
from benchmarks.report import Measure, Row

# --- reminder emails --------------------------------------------------------------------


class Sink:
    """An aiosmtpd handler that counts the messages it accepts and keeps nothing."""

    def __init__(self) -> None:
        self.accepted = 0

    async def handle_DATA(self, server, session, envelope):
        self.accepted += 1
        return "250 2.0.0 Message accepted"


@contextmanager
def smtp_sink():
    """An SMTP server on 127.0.0.1 (a free port) for the time of the block."""
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _outgoing(count: int, day: datetime.date):
    """The rendering side of the run for ``count`` customers with something due: their
    plans (planned beforehand, not timed) and a function rendering and building them."""
    from django.db.models import Q

    from receivables.models import CompanyProfile
    from reminders import emails as mail
    from reminders.run.plan import load_scenarios, plan_day
    from reminders.run.state import load_state

    ids = floors.customers_due(day, count)
    scenarios = load_scenarios()
    state = load_state(
        last_day=day, scenarios=scenarios, customer_q=Q(invoice__customer_id__in=ids)
    )
    plans = [p for p in plan_day(state, day, scenarios) if p.emails][:count]
    company = CompanyProfile.get()
    reply_to = [e for e in [company.email] if e]

    def render() -> list:
        recipients = mail.load_recipients(p.customer.id for p in plans)
        book = mail.TemplateBook()
        out = []
        for n, plan in enumerate(plans):
            rec = recipients[plan.customer.id]
            rendered = mail.render_email(plan=plan, recipients=rec, company=company, book=book)
            out.append(
                mail.Outgoing(
                    reminder_id=n,
                    subject=rendered.subject,
                    body_text=rendered.body_text,
                    body_html=rendered.body_html,
                    to=rec.to,
                    cc=rec.cc,
                    message_id=mail.new_message_id(),
                    reply_to=reply_to,
                )
            )
        return out

    return plans, render


def email_row(count: int, repeat: int) -> Row:
    """``count`` reminder emails rendered from the run's plans and sent by the run's
    sender (one connection) to a local sink, beside raw smtplib sending as many messages
    of the same size over one connection. The answer: messages the sink accepted."""
    from django.test import override_settings

    from reminders import emails as mail

    day = run_day(today())
    plans, render = _outgoing(count, day)
    sample = render()[:1]
    size = len(mail.build_message(sample[0]).message().as_bytes()) if sample else 1000
    with smtp_sink() as (sink, port):
        mailers = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 60},
            }
        }

        refused: list[str] = []

        def send() -> int:
            before = sink.accepted
            outcome = mail.send_batch(render())
            refused.extend(
                f"{v.delivery}: {v.error}"
                for v in outcome.values()
                if v.delivery != mail.Delivery.SENT
            )
            return sink.accepted - before

        def raw() -> int:
            before = sink.accepted
            body = "x" * max(size - 400, 10)
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
                for n in range(len(plans)):
                    msg = EmailMessage()
                    msg["Subject"] = f"Relance {n}"
                    msg["From"] = "relance@bench.example"
                    msg["To"] = f"compta@bench-{n}.example"
                    msg.set_content(body)
                    smtp.send_message(msg)
            return sink.accepted - before

        with override_settings(MAILERS=mailers):
            subject = measure(send, repeat=repeat, warmup=False)
            floor = measure(raw, repeat=repeat, warmup=False)
    n = len(plans)
    return Row(
        f"{n} reminder emails (render + send)",
        subject,
        floor,
        note="planning excluded; answer: messages the local SMTP server accepted"
        + (f"; {len(refused)} not sent, e.g. {refused[0]}" if refused else ""),
        errors=len(refused),
        figures={"emails/s": f"{n / subject.median:.0f}" if n and subject.median else "-"},
    )


# --- formal notices ---------------------------------------------------------------------


def letter_row(count: int) -> Row:
    """``count`` formal notices for as many customers with overdue invoices, each timed,
    beside WeasyPrint rendering a blank page as many times; with the peak memory."""
    from weasyprint import HTML

    from core.pdf import font_configuration
    from customers.models import Customer
    from reminders.letters.context import render_letter_pdf

    day = today()
    ids = floors.customers_due(run_day(day), count)
    customers = list(Customer.objects.filter(pk__in=ids).order_by("pk"))
    render_letter_pdf(customer=customers[0], letter_date=day)  # fonts, first-use costs

    def each(fn, items) -> Measure:
        times, ok = [], 0
        peak = None

        def all_of() -> int:
            nonlocal ok
            for item in items:
                started = time.perf_counter()
                ok += fn(item).startswith(b"%PDF")
                times.append(time.perf_counter() - started)
            return ok

        answer, _elapsed, queries, peak = run_once(all_of, memory=True)
        return Measure(times=times, queries=queries, answer=answer, memory=peak)

    blank = "<!doctype html><html><body></body></html>"
    fonts = font_configuration()
    subject = each(lambda c: render_letter_pdf(customer=c, letter_date=day), customers)
    floor = each(lambda _c: HTML(string=blank).write_pdf(font_config=fonts), customers)
    n = len(customers)
    return Row(
        f"{n} formal notices (per letter)",
        subject,
        floor,
        note="answer: valid PDFs produced; memory: peak over all of them",
        figures={"letters/s": f"{n / sum(subject.times):.1f}" if n else "-"},
    )


# --- CSV import -------------------------------------------------------------------------


IMPORT_PREFIX = "BENCH-IMP-"


class _Rollback(Exception):
    """Raised to undo what a measured path wrote."""


def write_invoice_csv(path: Path, rows: int) -> None:
    """``rows`` new invoices of the generated customers, in the import's columns."""
    from customers.models import Customer

    customers = list(Customer.objects.order_by("pk").values_list("customer_ref", "name")[:5000])
    day = today()
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["customer_ref", "customer_name", "invoice_number", "issue_date",
                         "due_date", "amount", "po_number"])  # fmt: skip
        for n in range(rows):
            ref, name = customers[n % len(customers)]
            issue = day - datetime.timedelta(days=n % 30)
            writer.writerow([ref, name, f"{IMPORT_PREFIX}{n:07d}", issue.isoformat(),
                             (issue + datetime.timedelta(days=30)).isoformat(),
                             f"{100 + n % 5000}.{n % 100:02d}", f"PO-{n}"])  # fmt: skip


def _imported() -> tuple[int, object]:
    from django.db.models import Count, Sum

    from receivables.models import Invoice

    agg = Invoice.objects.filter(number__startswith=IMPORT_PREFIX).aggregate(
        n=Count("pk"), total=Sum("amount")
    )
    return agg["n"], agg["total"]


def import_row(rows: int) -> Row:
    """``manage.py import_invoices`` on a CSV of ``rows`` new invoices, beside COPY of the
    same file into a scratch table; both inside a transaction rolled back afterwards, so
    the data set is left as it was. The answer: rows written and their total."""
    from io import StringIO

    from django.core.management import call_command
    from django.db import connection, transaction

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "invoices.csv"
        write_invoice_csv(path, rows)

        def through(fn):
            result = {}

            def go():
                try:
                    with transaction.atomic():
                        result["answer"] = fn()
                        raise _Rollback
                except _Rollback:
                    pass
                return result["answer"]

            return go

        def command():
            call_command("import_invoices", str(path), stdout=StringIO(), stderr=StringIO())
            return _imported()

        def copy():
            with connection.cursor() as cursor:
                cursor.execute(
                    "CREATE TEMP TABLE bench_import (customer_ref text, customer_name text, "
                    "invoice_number text, issue_date date, due_date date, amount numeric(14,2),"
                    " po_number text) ON COMMIT DROP"
                )
                with (
                    path.open("rb") as source,
                    cursor.cursor.copy(
                        "COPY bench_import FROM STDIN WITH (FORMAT csv, HEADER true)"
                    ) as copy,
                ):
                    while data := source.read(1 << 16):
                        copy.write(data)
                cursor.execute("SELECT count(*), sum(amount) FROM bench_import")
                return cursor.fetchone()

        subject = measure(through(command), repeat=1, warmup=False)
        floor = measure(through(copy), repeat=1, warmup=False)
    return Row(
        f"import {rows} invoices from CSV",
        subject,
        floor,
        note="rolled back after each; answer: rows written and their total",
        figures={"rows/s": f"{rows / subject.median:.0f}" if subject.median else "-"},
    )
