"""The import benchmark stays runnable: its files are what the importers read, and a
tiny run goes through every step (the real figures come from running the script)."""

import datetime

import pytest
from django.utils import timezone

from benchmarks import bench_imports as bench
from receivables.imports.fec import read_fec
from receivables.imports.reader import read_table
from receivables.models import FecLine, Invoice, Payment

pytestmark = pytest.mark.slow


def test_the_benchmark_refuses_to_run_without_a_dedicated_database(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(SystemExit, match="dedicated database"):
        bench.setup_django()


def test_the_generated_files_are_what_the_importers_read(tmp_path):
    today = datetime.date(2026, 11, 18)
    bench.write_invoice_csv(tmp_path / "i.csv", 40, today)
    table = read_table(tmp_path / "i.csv", required=("customer_ref", "amount"))
    assert len(table.rows) == 40 and not table.errors
    assert len({row["customer_ref"] for _line, row in table.rows}) == 4
    lines, customer_lines = bench.write_fec(tmp_path / "b.txt", 30, today)
    fec = read_fec(tmp_path / "b.txt")
    assert (len(fec.rows), lines, customer_lines) == (3 * 30 + 2 * 10, 110, 40)
    assert not fec.errors and not fec.ignored_columns
    mix = bench.write_camt(tmp_path / "s.xml", 24, 40, today)
    assert (mix.by_reference, mix.by_name, mix.by_iban, mix.unknown) == (12, 6, 4, 2)
    amounts = [bench.invoice_amount(k) for k in range(1000)]
    assert len(set(amounts)) == 1000 and all(a > 0 for a in amounts)


@pytest.mark.django_db(transaction=True)  # the benchmark empties tables (TRUNCATE)
def test_a_tiny_run_imports_every_file(tmp_path):
    said: list[str] = []
    figures = bench.run_all(tmp_path, 120, today=timezone.localdate(), say=said.append)

    assert [f.label for f in figures] == [
        "import_invoices (CSV)",
        "import_bank_statement (camt.053)",
        "matching queue proposals",
        "import_fec (FEC)",
    ]
    assert all(f.seconds > 0 and f.queries > 0 and f.peak_mb > 0 for f in figures)
    text = "\n".join(said)
    assert "12 customers created, 120 invoices created, 12 contacts created" in text
    # 12 credits: 6 name an invoice, 3 pay from a customer's name, 2 from a known IBAN.
    assert "6 credits matched and allocated, 6 lines waiting in the matching queue" in text
    assert "5 of 6 waiting lines have a proposal" in text
    # The FEC ran last, on an emptied ledger: its invoices and lettered payments only.
    assert Invoice.objects.count() == 120
    assert Payment.objects.count() == 40
    assert FecLine.objects.count() == 160
    assert all(p.allocated_amount == p.amount for p in Payment.objects.all())
