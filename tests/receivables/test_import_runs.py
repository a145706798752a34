"""The import page's services: kind detection, remembered mappings, preview, commit,
re-import, large files through the task, hostile files."""

import datetime
import hashlib
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from customers.models import Customer
from receivables import tasks
from receivables.imports import runs
from receivables.imports.runs import services as run_services
from receivables.imports.runs.progress import rows_written
from receivables.models import (
    BankTransaction,
    ColumnMapping,
    ImportRun,
    Installment,
    Invoice,
    Payment,
)
from tests.factories import CustomerFactory, make_invoice
from tests.receivables.test_import_bank import NS, entry
from tests.receivables.test_import_einvoices import cii, facturx_pdf, ubl

Status = ImportRun.Status
Kind = ImportRun.Kind

INVOICE_HEADER = "customer_ref,customer_name,invoice_number,issue_date,due_date,amount"


@pytest.fixture(autouse=True)
def private(tmp_path, settings):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(name: str, data: bytes | str) -> SimpleUploadedFile:
    if isinstance(data, str):
        data = data.encode()
    return SimpleUploadedFile(name, data)


def create(user, name, data) -> ImportRun:
    (run,) = runs.import_run_create(user=user, files=[upload(name, data)])
    return run


def ledger():
    return (
        sorted(Customer.objects.values_list("customer_ref", "name")),
        sorted(Invoice.objects.values_list("number", "amount", "issue_date")),
        Installment.objects.count(),
        sorted(Payment.objects.values_list("amount", "reference")),
        BankTransaction.objects.count(),
    )


def invoices_csv(*rows: str, header: str = INVOICE_HEADER, sep: str = ",") -> str:
    return "\n".join([header.replace(",", sep), *rows]) + "\n"


def xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def camt(*entries: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{NS.format(version="08")}"><BkToCstmrStmt>
<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-17T06:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S1</Id><Acct><Id><IBAN>FR7630006000011234567890189</IBAN></Id></Acct>
{"".join(entries)}</Stmt></BkToCstmrStmt></Document>
"""


FEC_HEADER = (
    "JournalCode\tJournalLib\tEcritureNum\tEcritureDate\tCompteNum\tCompteLib\tCompAuxNum\t"
    "CompAuxLib\tPieceRef\tPieceDate\tEcritureLib\tDebit\tCredit\tEcritureLet\tDateLet\t"
    "ValidDate\tMontantdevise\tIdevise"
)


def fec() -> str:
    lines = [
        "VE\tVentes\t1\t20261010\t41100000\tClients\tC001\tAlpha SARL\tF001\t20261010\tF001"
        "\t1200,00\t0,00\t\t\t20261010\t\t",
        "VE\tVentes\t1\t20261010\t70600000\tVentes\t\t\tF001\t20261010\tF001"
        "\t0,00\t1200,00\t\t\t20261010\t\t",
    ]
    return "\n".join([FEC_HEADER, *lines]) + "\n"


BOMB = (
    '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    "<{root}>&c;&c;&c;</x>"
)
CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"


# --- detection ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("f.csv", invoices_csv("C1,Alpha,F-1,2026-11-01,2026-12-01,100.00"), Kind.INVOICES),
        (
            "p.csv",
            "invoice_number;payment_date;amount;reference\nF-1;2026-11-02;10,00;VIR\n",
            Kind.PAYMENTS,
        ),
        ("b.csv", "date,amount,reference,counterparty_name\n2026-11-02,10.00,F-1,X\n", Kind.BANK),
        ("FEC.txt", fec(), Kind.FEC),
        ("statement.xml", camt(entry("10.00", ref="B1")), Kind.BANK),
        ("inv.xml", cii().decode(), Kind.EINVOICE),
        ("inv-ubl.xml", ubl().decode(), Kind.EINVOICE),
    ],
)
def test_the_kind_is_recognised_from_the_content(finance_user, name, data, kind):
    run = create(finance_user, name, data)
    assert run.kind == kind, run.error


@pytest.mark.django_db
def test_a_factur_x_pdf_is_an_einvoice(finance_user):
    run = create(finance_user, "scan.pdf", facturx_pdf(cii()))
    assert (run.kind, run.status) == (Kind.EINVOICE, Status.PREVIEWED), run.refused_rows
    assert run.counts[1] == ["invoices created", 1]


@pytest.mark.django_db
def test_a_windows_1252_semicolon_csv_is_read(finance_user):
    data = invoices_csv(
        "C1;Société Générale d'Échafaudage;F-1;01/11/2026;01/12/2026;1 234,50", sep=";"
    ).encode("cp1252")
    run = create(finance_user, "export excel.csv", data)
    assert (run.kind, run.status) == (Kind.INVOICES, Status.PREVIEWED), run.refused_rows
    assert run.sample["rows"][0][1] == "Société Générale d'Échafaudage"
    runs.import_run_request_commit(run=run)
    assert Customer.objects.get(customer_ref="C1").name == "Société Générale d'Échafaudage"
    assert Invoice.objects.get(number="F-1").amount == pytest.approx(1234.5)


@pytest.mark.django_db
def test_an_xlsx_with_real_dates_is_read(finance_user):
    data = xlsx(
        [
            INVOICE_HEADER.split(","),
            ["C1", "Alpha", "F-1", datetime.date(2026, 11, 1), datetime.date(2026, 12, 1), 100.5],
        ]
    )
    run = create(finance_user, "factures.xlsx", data)
    assert (run.kind, run.status) == (Kind.INVOICES, Status.PREVIEWED), run.refused_rows


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("x.csv", "colour,size\nred,3\n", "match none of the invoice, payment or bank"),
        ("x.xml", "<?xml version='1.0'?><order/>", "neither an e-invoice"),
        ("e.csv", "", "The file is empty."),
        ("u16.csv", INVOICE_HEADER.encode("utf-16"), "UTF-16"),
        ("bad.csv", b"customer_ref,amount\n\x81\x8d,1\n", "neither UTF-8 nor Windows-1252"),
        ("cut.xml", cii()[:400], "not well-formed"),
        ("cut.pdf", facturx_pdf(cii())[:3000], "PDF"),
        ("bomb.xml", BOMB.format(root=f'rsm:CrossIndustryInvoice xmlns:rsm="{CII}"'), "DTD"),
        ("bomb-camt.xml", BOMB.format(root=f'Document xmlns="{NS.format(version="08")}"'), "DTD"),
    ],
)
def test_hostile_or_unknown_files_are_refused_with_a_message(finance_user, name, data, message):
    before = ledger()
    run = create(finance_user, name, data)
    assert run.status == Status.REFUSED
    reasons = " ".join(r["reason"] for r in run.refused_rows)
    assert message in reasons
    assert ledger() == before


@pytest.mark.django_db
def test_a_file_over_the_size_limit_is_refused_unread(finance_user, monkeypatch):
    monkeypatch.setattr(run_services, "MAX_FILE_BYTES", 100)
    run = create(finance_user, "big.csv", invoices_csv(*["C1,A,F,2026-11-01,2026-12-01,1"] * 9))
    assert run.status == Status.REFUSED
    assert "larger than" in run.error
    assert not run.file
    assert Invoice.objects.count() == 0


# --- mapping -----------------------------------------------------------------------------


NONSTANDARD = "customer_ref,customer_name,N° pièce,issue_date,due_date,amount"


@pytest.mark.django_db
def test_a_nonstandard_header_is_mapped_once_then_remembered(finance_user):
    data = invoices_csv("C1,Alpha,F-1,2026-11-01,2026-12-01,100.00", header=NONSTANDARD)
    run = create(finance_user, "a.csv", data)
    assert (run.kind, run.status) == (Kind.INVOICES, Status.NEEDS_MAPPING)
    assert run.mapping["n° pièce"] == ""
    mapping = dict(run.mapping, **{"n° pièce": "invoice_number"})
    run = runs.import_run_map(run=run, mapping=mapping)
    assert run.status == Status.PREVIEWED
    assert ColumnMapping.objects.get().mapping["n° pièce"] == "invoice_number"

    again = create(
        finance_user,
        "b.csv",
        invoices_csv("C2,Beta,F-2,2026-11-01,2026-12-01,50.00", header=NONSTANDARD),
    )
    assert (again.kind, again.status) == (Kind.INVOICES, Status.PREVIEWED)
    assert again.mapping["n° pièce"] == "invoice_number"


@pytest.mark.django_db
def test_a_mapping_must_cover_the_required_columns_once(finance_user):
    from django.core.exceptions import ValidationError

    data = invoices_csv("C1,Alpha,F-1,2026-11-01,2026-12-01,100.00", header=NONSTANDARD)
    run = create(finance_user, "a.csv", data)
    with pytest.raises(ValidationError, match="invoice_number"):
        runs.import_run_map(run=run, mapping=dict(run.mapping))
    with pytest.raises(ValidationError, match="chosen for both"):
        runs.import_run_map(run=run, mapping=dict(run.mapping, **{"n° pièce": "amount"}))
    assert not ColumnMapping.objects.exists()


# --- preview and commit ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_preview_lists_refused_rows_with_their_line_and_changes_nothing(finance_user):
    before = ledger()
    data = invoices_csv(
        "C1,Alpha,F-1,2026-11-01,2026-12-01,100.00",
        "C1,Alpha,F-2,2026-13-45,2026-12-01,100.00",
        "C2,Beta,F-3,2026-11-01,2026-12-01,-5",
    )
    run = create(finance_user, "f.csv", data)
    assert run.status == Status.REFUSED
    assert [r["line"] for r in run.refused_rows] == [3, 4]
    assert "issue_date" in run.refused_rows[0]["reason"]
    assert "negative" in run.refused_rows[1]["reason"]
    assert ["invoices created", 1] in run.counts
    assert ledger() == before
    assert runs.import_run_request_commit(run=run).status == Status.REFUSED
    assert ledger() == before


@pytest.mark.django_db
def test_commit_is_all_or_nothing(finance_user, monkeypatch):
    data = invoices_csv(
        "C1,Alpha,F-1,2026-11-01,2026-12-01,100.00", "C2,Beta,F-2,2026-11-01,2026-12-01,50.00"
    )
    run = create(finance_user, "f.csv", data)
    assert run.status == Status.PREVIEWED
    before = ledger()
    # Between the preview and the commit, another user creates F-2 for someone else.
    make_invoice(CustomerFactory(customer_ref="C9"), number="F-2", amount="50.00")
    after_other = ledger()
    run = runs.import_run_request_commit(run=run)
    assert run.status == Status.REFUSED
    assert run.refused_rows[0]["line"] == 3
    assert ledger() == after_other != before
    assert not Invoice.objects.filter(number="F-1").exists()


@pytest.mark.django_db
def test_commit_writes_everything_and_records_the_outcome(finance_user):
    data = invoices_csv(
        "C1,Alpha,F-1,2026-11-01,2026-12-01,100.00", "C2,Beta,F-2,2026-11-01,2026-12-01,50.00"
    )
    run = runs.import_run_request_commit(run=create(finance_user, "f.csv", data))
    assert run.status == Status.IMPORTED
    assert run.finished_at is not None
    assert ["invoices created", 2] in run.counts
    assert set(Invoice.objects.values_list("number", flat=True)) == {"F-1", "F-2"}
    # A second click changes nothing.
    assert runs.import_run_request_commit(run=run).status == Status.IMPORTED
    assert Invoice.objects.count() == 2


@pytest.mark.django_db
def test_the_same_file_again_is_flagged_and_its_rows_ignored(finance_user, clock):
    data = invoices_csv("C1,Alpha,F-1,2026-11-01,2026-12-01,100.00")
    first = runs.import_run_request_commit(run=create(finance_user, "f.csv", data))
    assert first.sha256 == hashlib.sha256(data.encode()).hexdigest()
    before = ledger()
    again = create(finance_user, "f (1).csv", data)
    assert again.duplicate_of == first
    assert ["invoices unchanged", 1] in again.counts
    assert ["invoices created", 0] in again.counts
    runs.import_run_request_commit(run=again)
    assert ledger() == before


@pytest.mark.django_db
def test_fec_bank_and_einvoice_runs_go_through_their_importers(finance_user):
    fec_run = runs.import_run_request_commit(run=create(finance_user, "FEC.txt", fec()))
    assert fec_run.status == Status.IMPORTED, fec_run.refused_rows
    assert Invoice.objects.filter(number="F001", customer__name="Alpha SARL").exists()

    einvoice = runs.import_run_request_commit(run=create(finance_user, "i.xml", cii()))
    assert einvoice.status == Status.IMPORTED, einvoice.refused_rows
    assert Invoice.objects.filter(number="F2026-100").exists()

    make_invoice(CustomerFactory(), number="F-100", amount="500.00")
    bank = create(finance_user, "s.xml", camt(entry("500.00", ref="B1", ustrd="F-100")))
    assert bank.status == Status.PREVIEWED, bank.refused_rows
    bank = runs.import_run_request_commit(run=bank)
    assert BankTransaction.objects.get().source == "s.xml"
    assert ["credits matched and allocated", 1] in bank.counts


# --- large files -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_large_file_is_previewed_and_committed_by_the_task(
    finance_user, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(run_services, "LARGE_ROWS", 3)
    calls: list[tuple] = []
    monkeypatch.setattr(run_services, "_queue", lambda *args: calls.append(args))
    rows = [f"C{i},Client {i},F-{i},2026-11-01,2026-12-01,10.00" for i in range(5)]
    with django_capture_on_commit_callbacks(execute=True):
        run = create(finance_user, "big.csv", invoices_csv(*rows))
    assert (run.status, run.stage, run.progress_total, run.percent) == (
        Status.UPLOADED, "previewing", 5, 0)  # fmt: skip
    assert calls == [(run.pk, "preview")]

    assert tasks.import_run_work(run.pk, "preview") == {"run": run.pk, "status": "previewed"}
    run.refresh_from_db()
    assert (run.stage, run.percent) == ("", 100)
    assert Invoice.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        run = runs.import_run_request_commit(run=run)
    assert (run.status, run.stage, run.percent) == (Status.RUNNING, "committing", 0)
    assert calls[-1] == (run.pk, "commit")
    assert Invoice.objects.count() == 0
    tasks.import_run_work(run.pk, "commit")
    run.refresh_from_db()
    assert (run.status, run.percent) == (Status.IMPORTED, 100)
    assert Invoice.objects.count() == 5


@pytest.mark.django_db
def test_the_queued_task_runs_through_django_q(
    finance_user, monkeypatch, django_capture_on_commit_callbacks
):
    """Not mocked: django-q2 runs the task in sync mode under pytest (Q_CLUSTER)."""
    monkeypatch.setattr(run_services, "LARGE_ROWS", 1)
    rows = [f"C{i},Client {i},F-{i},2026-11-01,2026-12-01,10.00" for i in range(2)]
    with django_capture_on_commit_callbacks(execute=True):
        run = create(finance_user, "big.csv", invoices_csv(*rows))
    run.refresh_from_db()
    assert (run.status, run.stage) == (Status.PREVIEWED, "")
    with django_capture_on_commit_callbacks(execute=True):
        runs.import_run_request_commit(run=run)
    run.refresh_from_db()
    assert (run.status, run.stage) == (Status.IMPORTED, "")
    assert Invoice.objects.count() == 2


@pytest.mark.django_db
def test_an_old_einvoice_is_imported_once_its_warnings_are_confirmed(finance_user):
    run = create(finance_user, "old.xml", cii(issue="20240102", due="20240201"))
    assert (run.status, run.needs_confirmation) == (Status.REFUSED, True)
    assert "--confirmed" not in run.refused_rows[0]["reason"]
    assert "year" in run.refused_rows[0]["reason"]
    run = runs.import_run_confirm(run=run)
    assert (run.status, run.confirmed) == (Status.PREVIEWED, True), run.refused_rows
    assert runs.import_run_request_commit(run=run).status == Status.IMPORTED
    assert Invoice.objects.filter(number="F2026-100").exists()


@pytest.mark.django_db
def test_a_hard_einvoice_refusal_cannot_be_confirmed(finance_user):
    from django.core.exceptions import ValidationError

    run = create(finance_user, "usd.xml", cii(currency="USD"))
    assert (run.status, run.needs_confirmation) == (Status.REFUSED, False)
    with pytest.raises(ValidationError):
        runs.import_run_confirm(run=run)


@pytest.mark.django_db
def test_a_french_bank_csv_is_recognised_and_its_lines_keep_their_numbers(finance_user):
    make_invoice(CustomerFactory(), number="F-100", amount="500.00")
    data = "Date;Montant;Libellé\n2026-11-16;500,00;VIR F-100\n\n2026-11-16;abc;X\n"
    run = create(finance_user, "releve.csv", data)
    assert run.kind == Kind.BANK
    assert run.mapping == {"date": "date", "montant": "amount", "libellé": "reference"}
    assert run.status == Status.REFUSED
    assert [r["line"] for r in run.refused_rows] == [4]

    fixed = create(finance_user, "releve.csv", data.replace("abc", "-12,00"))
    assert fixed.status == Status.PREVIEWED, fixed.refused_rows
    runs.import_run_request_commit(run=fixed)
    assert sorted(BankTransaction.objects.values_list("source", "status")) == [
        ("releve.csv", BankTransaction.Status.IGNORED),
        ("releve.csv", BankTransaction.Status.MATCHED),
    ]


@pytest.mark.django_db
def test_a_large_commit_tells_its_progress_batch_by_batch(finance_user, monkeypatch):
    """The task writing a large file reports the rows written as it goes (here after
    every batch of two: no throttling), and the page reads it; the progress row goes
    when it ends."""
    from receivables.services import invoices as ledger

    monkeypatch.setattr(ledger, "CREATE_BATCH", 2)
    seen: list[int] = []

    class Recording(run_services.ProgressReporter):
        def __call__(self, done: int) -> None:
            seen.append(done)

    monkeypatch.setattr(run_services, "ProgressReporter", Recording)
    rows = [f"C{i},Client {i},F-{i},2026-11-01,2026-12-01,10.00" for i in range(6)]
    run = create(finance_user, "big.csv", invoices_csv(*rows))
    assert runs.import_run_request_commit(run=run).status == Status.IMPORTED
    assert seen == [0, 2, 4, 6]


@pytest.mark.django_db
def test_the_progress_row_goes_when_the_import_ends(finance_user):
    if connection.vendor != "postgresql":
        pytest.skip("progress is written on PostgreSQL only (SQLite has one writer)")
    rows = [f"C{i},Client {i},F-{i},2026-11-01,2026-12-01,10.00" for i in range(3)]
    run = create(finance_user, "big.csv", invoices_csv(*rows))
    assert runs.import_run_request_commit(run=run).status == Status.IMPORTED
    assert rows_written(run.pk) is None  # written at the first row, removed at the end


@pytest.mark.django_db
def test_progress_is_written_outside_the_imports_transaction(finance_user):
    """While the import holds its transaction and its run's row locked, the reporter's
    own connection commits the count at once: another reader sees it."""
    if connection.vendor != "postgresql":
        pytest.skip("progress is written on PostgreSQL only (SQLite has one writer)")
    from django.db import connections, transaction

    run = create(finance_user, "big.csv", invoices_csv("C1,Client,F-1,2026-11-01,2026-12-01,1"))
    reporter = run_services.ProgressReporter(run.pk, interval=0)
    other = connections.create_connection("default")
    try:
        with transaction.atomic():
            ImportRun.objects.select_for_update().get(pk=run.pk)
            reporter(42)
            with other.cursor() as cursor:  # another session: committed, visible
                cursor.execute(
                    "SELECT done FROM receivables_importprogress WHERE run_id = %s", [run.pk]
                )
                assert cursor.fetchone() == (42,)
            reporter(43)  # throttling off: each call writes
            assert rows_written(run.pk) == 43
    finally:
        reporter.close()
        with other.cursor() as cursor:  # committed outside the test's transaction
            cursor.execute("DELETE FROM receivables_importprogress WHERE run_id = %s", [run.pk])
        other.close()
