"""``run_reminders [--date DATE] [--dry-run] [--force]``: the daily escalation, the same
service the django-q2 schedule runs every morning. A date after today is refused unless
it is a dry run (a preview) or ``--force`` says the early sends are meant: a typed year
would otherwise send a future step to every customer at once."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import AuditedCommand
from core.money import ZERO, format_money
from receivables.bounds import looked_at_option
from reminders import services


class Command(AuditedCommand):
    help = "Run the reminder scenario as of a date (default today); --dry-run writes nothing."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD or DD/MM/YYYY (default: today)")
        parser.add_argument("--dry-run", action="store_true", help="print, send and write nothing")
        parser.add_argument(
            "--force", action="store_true", help="send for real for a date after today"
        )

    def handle(self, *args, date=None, dry_run=False, force=False, **options):
        today = timezone.localdate()
        day = looked_at_option(date, "--date") if date else today
        if day > today and not (dry_run or force):
            raise CommandError(
                _(
                    "--date %(day)s is after today (%(today)s): a run sends for real. Add "
                    "--dry-run to preview that day, or --force to send now as of that day."
                )
                % {"day": day.isoformat(), "today": today.isoformat()}
            )
        if dry_run:
            result = services.reminders_dry_run(run_date=day)
            self._print_plans(result)
            return
        result = services.reminders_run(run_date=day)
        if result.recovered:
            self.stdout.write(
                f"{result.recovered} email(s) stranded by a crashed run never reached the "
                "mail server: sent again."
            )
        if not result.business_day:
            self.stdout.write(f"{day}: not a business day, nothing sent.")
            return
        self.stdout.write(
            f"{day}: {result.planned} reminder(s) planned, {result.sent} email(s) sent, "
            f"{result.failed} failed, {result.unknown} marked unknown, "
            f"{result.cancelled} cancelled before sending."
        )
        for skipped in result.skipped:
            self.stderr.write(
                f"Not planned: {skipped.customer_name} (#{skipped.customer_id}): "
                f"{skipped.reason} (on the finance worklist)"
            )

    def _print_plans(self, result: services.RunResult) -> None:
        day = result.run_date
        if not result.business_day:
            self.stdout.write(f"[dry run] {day}: not a business day, nothing would be sent.")
            return
        self.stdout.write(f"[dry run] {day}: {len(result.plans)} customer(s)")
        from reminders.emails import load_recipients

        recipients = load_recipients(p.customer.id for p in result.plans if p.emails)
        for plan in result.plans:
            c = plan.customer
            lang = c.language
            for label, items in (
                ("email", plan.emails),
                ("letter", plan.letters),
                ("task", plan.tasks),
            ):
                if not items:
                    continue
                step = max((i.step for i in items), key=lambda s: s.position)
                total = sum((i.installment.amount_left for i in items), ZERO)
                line = (
                    f"{c.customer_ref} {c.name} | {label} step {step.position} {step.name}"
                    f" | total {format_money(total, lang)}"
                )
                if label == "email":
                    rec = recipients[c.id]
                    line += f" | to: {', '.join(rec.to) or '-'} cc: {', '.join(rec.cc) or '-'}"
                self.stdout.write(line)
                for i in items:
                    inst = i.installment
                    self.stdout.write(
                        f"    {inst.invoice_number}#{inst.sequence} due {inst.due_date} "
                        f"left {format_money(inst.amount_left, lang)} "
                        f"{i.days_late} days late -> step {i.step.position}"
                    )
        if result.retries:
            self.stdout.write(f"[dry run] would retry failed email(s): {result.retries}")
