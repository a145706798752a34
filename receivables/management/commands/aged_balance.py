import json

from django.utils import timezone

from core.audit import AuditedCommand
from receivables.bounds import looked_at_option
from receivables.exports import AMOUNT_COLUMNS, aged_balance_csv
from receivables.selectors import AgedBalance, aged_balance


def aged_balance_json(ab: AgedBalance) -> dict:
    """The JSON form: amounts as strings with two decimals, so no float creeps in."""

    def amounts(source: dict) -> dict:
        return {k: f"{source[k]:.2f}" for k in AMOUNT_COLUMNS}

    return {
        "as_of": ab.as_of.isoformat(),
        "rows": [
            {"customer_ref": r["customer_ref"], "customer_name": r["customer_name"]} | amounts(r)
            for r in ab.rows
        ],
        "total": amounts(ab.totals),
    }


class Command(AuditedCommand):
    help = "Print the aged balance (one row per customer with an open balance, then TOTAL)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of",
            dest="as_of",
            help="Date of the balance, YYYY-MM-DD or DD/MM/YYYY (default: today).",
        )
        parser.add_argument("--format", dest="fmt", choices=["csv", "json"], default="csv")

    def handle(self, *args, as_of: str | None, fmt: str, **options):
        day = looked_at_option(as_of, "--as-of") if as_of else timezone.localdate()
        ab = aged_balance(user=None, as_of=day)
        if fmt == "json":
            self.stdout.write(json.dumps(aged_balance_json(ab), ensure_ascii=False, indent=2))
        else:
            aged_balance_csv(ab, self.stdout)
