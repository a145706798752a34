"""``render_letter CUSTOMER_REF --output FILE.pdf [--date DATE]``: the formal notice a
customer would receive on DATE, as a preview. Nothing is sent, stored or logged."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils import timezone

from core.audit import AuditedCommand
from customers.models import Customer
from receivables.bounds import looked_at_option
from reminders.letters.context import render_letter_pdf


def check_writable(path: Path) -> None:
    """Fail before the (slow) rendering when the output cannot be written."""
    if path.is_dir():
        raise CommandError(f"--output: {path} is a directory.")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise CommandError(f"--output: directory {parent} does not exist.")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise CommandError(f"--output: {path} is not writable.")


class Command(AuditedCommand):
    help = (
        "Render the formal notice a customer would receive on a date, as a PDF preview "
        "(nothing is sent or logged)."
    )

    def add_arguments(self, parser):
        parser.add_argument("customer_ref", help="The customer's accounting reference.")
        parser.add_argument("--output", "-o", required=True, help="The PDF file to write.")
        parser.add_argument("--date", help="The letter's date (default: today).")

    def handle(self, *args, customer_ref: str, output: str, date: str | None, **options):
        day = looked_at_option(date, "--date") if date else timezone.localdate()
        path = Path(output)
        check_writable(path)
        # (A reference with a NUL or another control character names no one: the
        # database would refuse the query itself.)
        customers = Customer.objects.filter(customer_ref=customer_ref)
        customer = customers.first() if customer_ref.isprintable() else None
        if customer is None:
            raise CommandError(f"No customer with reference {customer_ref!r}.")
        try:
            pdf = render_letter_pdf(customer=customer, letter_date=day)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        try:
            path.write_bytes(pdf)
        except OSError as exc:
            raise CommandError(f"--output: cannot write {path}: {exc.strerror}.") from exc
        self.stdout.write(
            f"{path}: formal notice for {customer.customer_ref} dated {day}, {len(pdf)} bytes."
        )
