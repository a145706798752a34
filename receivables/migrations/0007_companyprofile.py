"""The company profile moves from reminders to receivables (the creditor's identity, bank
details and ledger rules are ledger facts, and receivables must not import reminders).

The table and its rows are kept: the model enters this app's state on the existing table
``reminders_companyprofile``, which is then renamed; its content type follows, so the
permissions granted on it and the admin history stay. reminders/0007 then drops the
model from that app's state only."""

from django.db import migrations, models


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(
        app_label="receivables", model="companyprofile"
    ).exists():
        ContentType.objects.using(db).filter(
            app_label="reminders", model="companyprofile"
        ).update(app_label="receivables")


def restore_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(
        app_label="reminders", model="companyprofile"
    ).exists():
        ContentType.objects.using(db).filter(
            app_label="receivables", model="companyprofile"
        ).update(app_label="reminders")


class Migration(migrations.Migration):
    dependencies = [
        ("receivables", "0006_invoice_currency_ledger"),
        ("reminders", "0001_initial"),  # created the table
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="CompanyProfile",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(default="Relance demo SAS", max_length=200, verbose_name="legal name")),
                        ("legal_form", models.CharField(blank=True, max_length=200, verbose_name="legal form and capital")),
                        ("address_line1", models.CharField(blank=True, max_length=200, verbose_name="address")),
                        ("address_line2", models.CharField(blank=True, max_length=200, verbose_name="address (line 2)")),
                        ("postal_code", models.CharField(blank=True, max_length=20, verbose_name="postal code")),
                        ("city", models.CharField(blank=True, max_length=100, verbose_name="city")),
                        ("siren", models.CharField(blank=True, max_length=9, verbose_name="SIREN")),
                        ("vat_number", models.CharField(blank=True, max_length=20, verbose_name="VAT number")),
                        ("rcs", models.CharField(blank=True, max_length=100, verbose_name="trade register (RCS)")),
                        ("email", models.EmailField(blank=True, max_length=254, verbose_name="accounts receivable email")),
                        ("phone", models.CharField(blank=True, max_length=40, verbose_name="phone")),
                        ("iban", models.CharField(blank=True, max_length=34, verbose_name="IBAN")),
                        ("bic", models.CharField(blank=True, max_length=11, verbose_name="BIC")),
                        ("bank_name", models.CharField(blank=True, max_length=100, verbose_name="bank")),
                        ("signatory_name", models.CharField(blank=True, max_length=100, verbose_name="signatory")),
                        ("signatory_title", models.CharField(blank=True, max_length=100, verbose_name="signatory's title")),
                        ("late_interest_rate", models.DecimalField(blank=True, decimal_places=2, help_text="Empty: the ECB main refinancing rate + 10 points (Code de commerce L441-10).", max_digits=5, null=True, verbose_name="contractual late-interest rate (%)")),
                        ("promise_grace_days", models.PositiveSmallIntegerField(default=3, verbose_name="grace after a promised date (days)")),
                    ],
                    options={
                        "verbose_name": "company profile",
                        "verbose_name_plural": "company profile",
                        "db_table": "reminders_companyprofile",
                    },
                ),
            ],
        ),
        # Renames reminders_companyprofile to receivables_companyprofile, rows and all.
        migrations.AlterModelTable(name="companyprofile", table=None),
        migrations.RunPython(move_content_type, restore_content_type),
    ]
