"""The import page: upload, mapping, preview, commit, download, rights, query counts."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core import access
from receivables.imports.runs import services as run_services
from receivables.models import ColumnMapping, ImportRun, Invoice
from tests.factories import make_user

Status = ImportRun.Status
HEADER = "customer_ref,customer_name,invoice_number,issue_date,due_date,amount"
NONSTANDARD = "customer_ref;customer_name;Facture n°;issue_date;due_date;amount"


@pytest.fixture(autouse=True)
def private(tmp_path, settings):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def client(client):
    """Pages in English, the source language the assertions are written in."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def finance_client(client, finance_user):
    client.force_login(finance_user)
    return client


def csv_file(name: str, *rows: str, header: str = HEADER) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, ("\n".join([header, *rows]) + "\n").encode())


def upload(client, *files):
    return client.post(reverse("imports:upload"), {"import_files": list(files)})


@pytest.mark.django_db
def test_the_menu_shows_imports_to_finance_staff_only(client, finance_user, manager_user):
    client.force_login(finance_user)
    assert reverse("imports:home") in client.get(reverse("workplaces:customer_list")).text
    client.force_login(manager_user)
    assert reverse("imports:home") not in client.get(reverse("workplaces:customer_list")).text


@pytest.mark.django_db
def test_upload_preview_and_commit(finance_client):
    response = upload(finance_client, csv_file("f.csv", "C1,Alpha,F-1,2026-11-01,2026-12-01,120"))
    run = ImportRun.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("imports:run", args=[run.pk])
    page = finance_client.get(response.url).text
    assert "Import all" in page and "disabled" not in page.split("Import all")[0][-200:]
    assert "invoices created" in page
    assert Invoice.objects.count() == 0

    response = finance_client.post(reverse("imports:run_commit", args=[run.pk]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == Status.IMPORTED
    assert Invoice.objects.get().number == "F-1"
    listing = finance_client.get(reverse("imports:home")).text
    assert "f.csv" in listing and "Imported" in listing
    assert 'type="file" name="import_files" multiple' in listing


@pytest.mark.django_db
def test_refused_rows_are_listed_with_their_line_and_the_button_is_disabled(finance_client):
    upload(
        finance_client,
        csv_file(
            "f.csv",
            "C1,Alpha,F-1,2026-11-01,2026-12-01,120",
            "C1,Alpha,F-2,31/02/2026,2026-12-01,120",
        ),
    )
    run = ImportRun.objects.get()
    page = finance_client.get(reverse("imports:run", args=[run.pk])).text
    assert 'id="refused-rows"' in page
    assert '<td class="num">3</td>' in page
    assert "disabled" in page.split("Import all")[0][-120:]
    finance_client.post(reverse("imports:run_commit", args=[run.pk]))
    assert Invoice.objects.count() == 0


@pytest.mark.django_db
def test_mapping_a_column_through_the_form(finance_client):
    upload(
        finance_client,
        csv_file("f.csv", "C1;Alpha;F-1;2026-11-01;2026-12-01;120", header=NONSTANDARD),
    )
    run = ImportRun.objects.get()
    assert run.status == Status.NEEDS_MAPPING
    page = finance_client.get(reverse("imports:run", args=[run.pk])).text
    assert "Column mapping" in page and "facture n°" in page

    data = {f"col_{i}": run.mapping[c] for i, c in enumerate(run.columns)}
    response = finance_client.post(reverse("imports:run_map", args=[run.pk]), data)
    assert response.status_code == 400
    assert "Choose a file column for: invoice_number" in response.text

    data["col_2"] = "invoice_number"
    response = finance_client.post(reverse("imports:run_map", args=[run.pk]), data)
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == Status.PREVIEWED
    assert ColumnMapping.objects.get().mapping["facture n°"] == "invoice_number"


@pytest.mark.django_db
def test_several_files_at_once_make_one_run_each(finance_client):
    response = upload(
        finance_client,
        csv_file("a.csv", "C1,Alpha,F-1,2026-11-01,2026-12-01,120"),
        csv_file("b.csv", "C2,Beta,F-2,2026-11-01,2026-12-01,80"),
    )
    assert response.status_code == 302 and response.url == reverse("imports:home")
    assert sorted(ImportRun.objects.values_list("file_name", flat=True)) == ["a.csv", "b.csv"]


@pytest.mark.django_db
def test_no_file_is_a_message(finance_client):
    response = finance_client.post(reverse("imports:upload"), {})
    assert response.status_code == 400
    assert "Choose at least one file." in response.text
    assert not ImportRun.objects.exists()


@pytest.mark.django_db
def test_a_refused_upload_says_why_and_changes_nothing(finance_client):
    data = "customer_ref;amount\nC1;Soci\x81t\x8d\n".encode("latin-1")
    upload(finance_client, SimpleUploadedFile("bad.csv", data))
    run = ImportRun.objects.get()
    page = finance_client.get(reverse("imports:run", args=[run.pk])).text
    assert "neither UTF-8 nor Windows-1252" in page
    assert Invoice.objects.count() == 0


@pytest.mark.django_db
def test_a_reimport_is_flagged_on_its_page(finance_client):
    file = ("f.csv", "C1,Alpha,F-1,2026-11-01,2026-12-01,120")
    upload(finance_client, csv_file(*file))
    first = ImportRun.objects.get()
    finance_client.post(reverse("imports:run_commit", args=[first.pk]))
    upload(finance_client, csv_file(*file))
    again = ImportRun.objects.exclude(pk=first.pk).get()
    page = finance_client.get(reverse("imports:run", args=[again.pk])).text
    assert "This file was already imported on" in page
    assert "finance_t" in page


@pytest.mark.django_db
def test_the_original_file_is_downloaded_through_the_checked_view(finance_client, settings):
    body = "C1,Alpha,F-1,2026-11-01,2026-12-01,120"
    upload(finance_client, csv_file("mon fichier.csv", body))
    run = ImportRun.objects.get()
    assert str(settings.PRIVATE_STORAGE_ROOT) in run.file.path
    assert str(settings.MEDIA_ROOT) not in run.file.path
    response = finance_client.get(reverse("imports:run_download", args=[run.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).decode() == f"{HEADER}\n{body}\n"
    assert "attachment" in response["Content-Disposition"]
    assert "mon fichier.csv" in response["Content-Disposition"]


@pytest.mark.django_db
def test_a_large_file_page_polls_until_the_task_is_done(finance_client, monkeypatch):
    monkeypatch.setattr(run_services, "LARGE_ROWS", 1)
    monkeypatch.setattr(run_services, "_queue", lambda *args: None)
    upload(
        finance_client,
        csv_file(
            "f.csv",
            "C1,Alpha,F-1,2026-11-01,2026-12-01,120",
            "C2,Beta,F-2,2026-11-01,2026-12-01,80",
        ),
    )
    run = ImportRun.objects.get()
    url = reverse("imports:run", args=[run.pk])
    fragment = finance_client.get(url, headers={"HX-Request": "true"}).text
    assert 'hx-trigger="every 1s"' in fragment
    assert "<html" not in fragment
    assert 'hx-trigger="every 2s"' in finance_client.get(reverse("imports:home")).text
    run_services.import_run_preview(run_id=run.pk)
    fragment = finance_client.get(url, headers={"HX-Request": "true"}).text
    assert "hx-trigger" not in fragment
    assert "invoices created" in fragment


@pytest.mark.django_db
@pytest.mark.parametrize("role", [access.SALES, access.MANAGER])
def test_sales_reps_and_managers_get_403_everywhere(client, finance_user, role):
    run = ImportRun.objects.create(
        created_by=finance_user, file_name="f.csv", sha256="0" * 64, size=1
    )
    client.force_login(make_user(role))
    for name, args, method in [
        ("imports:home", [], "get"),
        ("imports:upload", [], "post"),
        ("imports:run", [run.pk], "get"),
        ("imports:run_map", [run.pk], "post"),
        ("imports:run_confirm", [run.pk], "post"),
        ("imports:run_commit", [run.pk], "post"),
        ("imports:run_download", [run.pk], "get"),
    ]:
        response = getattr(client, method)(reverse(name, args=args))
        assert response.status_code == 403, name


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_login(client):
    response = client.get(reverse("imports:home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.django_db
def test_the_list_page_query_count_does_not_grow_with_runs(
    finance_client, finance_user, django_assert_max_num_queries
):
    first = None
    for i in range(30):
        run = ImportRun.objects.create(
            created_by=make_user(access.FINANCE) if i % 2 else finance_user,
            file_name=f"f{i}.csv",
            sha256=f"{i:064d}",
            size=10,
            kind=ImportRun.Kind.INVOICES,
            status=Status.IMPORTED,
            counts=[["invoices created", i]],
            duplicate_of=first,
        )
        first = first or run
    with django_assert_max_num_queries(9):  # one more: the bank queue's count
        response = finance_client.get(reverse("imports:home"))
    assert response.status_code == 200
    assert "f29.csv" in response.text
    assert "Bank matching queue (0)" in response.text


@pytest.mark.django_db
def test_confirming_the_warnings_of_an_old_einvoice(finance_client):
    from tests.receivables.test_import_einvoices import cii

    upload(finance_client, SimpleUploadedFile("old.xml", cii(issue="20240102", due="20240201")))
    run = ImportRun.objects.get()
    page = finance_client.get(reverse("imports:run", args=[run.pk])).text
    assert "Confirm and check again" in page
    response = finance_client.post(reverse("imports:run_confirm", args=[run.pk]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == Status.PREVIEWED
    # Nothing left to confirm: a message, nothing changes.
    response = finance_client.post(reverse("imports:run_confirm", args=[run.pk]), follow=True)
    assert "This import has nothing to confirm." in response.text


@pytest.mark.django_db
def test_mapping_a_file_without_columns_is_a_message_not_a_500(client, finance_user):
    # A FEC, an e-invoice or a file whose kind was not recognised has no columns to map.
    run = ImportRun.objects.create(
        created_by=finance_user, file_name="f.xml", sha256="0" * 64, size=1
    )
    client.force_login(finance_user)
    response = client.post(
        reverse("imports:run_map", args=[run.pk]), {"col_0": "amount"}, follow=True
    )
    assert response.redirect_chain == [(reverse("imports:run", args=[run.pk]), 302)]
    assert "This file has no columns to map." in response.content.decode()
    run.refresh_from_db()
    assert run.mapping == {}


@pytest.mark.django_db
def test_the_page_shows_the_rows_the_task_has_written(client, finance_user):
    from receivables.models import ImportProgress

    run = ImportRun.objects.create(
        created_by=finance_user, file_name="big.csv", sha256="1" * 64, size=10,
        kind=ImportRun.Kind.INVOICES, status=ImportRun.Status.RUNNING, stage="committing",
        progress_total=100,
    )  # fmt: skip
    ImportProgress.objects.create(run_id=run.pk, done=42)
    client.force_login(finance_user)
    page = client.get(reverse("imports:run", args=[run.pk]), headers={"HX-Request": "true"}).text
    assert "42 of 100 rows" in page and 'value="42"' in page
