"""The ledger keeps one currency, EUR: a CheckConstraint on Invoice.currency.

Invoices already in another currency are never converted silently (at which rate, on
which day?): the migration stops and names them, so that someone decides what they
become (converted by hand, cancelled and re-issued, or removed) before migrating again.
"""

import receivables.models
from django.db import migrations, models

LEDGER_CURRENCY = "EUR"
SHOWN = 10


class ForeignCurrencyInvoicesError(Exception):
    """Invoices in another currency than the ledger's block the migration."""


def refuse_foreign_currencies(apps, schema_editor):
    Invoice = apps.get_model("receivables", "Invoice")
    others = Invoice.objects.using(schema_editor.connection.alias).exclude(
        currency=LEDGER_CURRENCY
    )
    per_currency = dict(
        others.values_list("currency").annotate(n=models.Count("pk")).order_by("currency")
    )
    if not per_currency:
        return
    numbers = list(others.order_by("number").values_list("number", flat=True)[:SHOWN])
    count = sum(per_currency.values())
    more = f" and {count - len(numbers)} more" if count > len(numbers) else ""
    raise ForeignCurrencyInvoicesError(
        f"The ledger now keeps one currency, {LEDGER_CURRENCY}, but {count} invoice(s) are "
        f"in another currency ("
        + ", ".join(f"{currency or 'empty'}: {n}" for currency, n in per_currency.items())
        + f"): {', '.join(numbers)}{more}. Nothing was converted. Convert, cancel and "
        f"re-issue, or remove these invoices, then run the migration again."
    )


class Migration(migrations.Migration):

    dependencies = [
        ("receivables", "0005_money_field"),
    ]

    operations = [
        migrations.RunPython(refuse_foreign_currencies, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="invoice",
            name="currency",
            field=models.CharField(
                default="EUR",
                max_length=3,
                validators=[receivables.models.validate_ledger_currency],
                verbose_name="currency",
            ),
        ),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.CheckConstraint(
                condition=models.Q(("currency", "EUR")),
                name="invoice_currency_ledger",
                violation_error_message="Invoices are kept in EUR, the ledger's only currency.",
            ),
        ),
    ]
