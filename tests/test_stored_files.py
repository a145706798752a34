"""Finding of issue #12: ``/media/`` served stored letters to any logged-in user under
DEBUG. Stored files are now reached only through views that fetch their row with
``visible_to(request.user)``; no URL serves MEDIA_ROOT, whatever DEBUG says."""

import datetime
import importlib

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, clear_url_caches, reverse
from django.views.static import serve

import config.urls
from tests.factories import CustomerFactory, make_invoice
from tests.reminders.test_letters_workflow import letter_awaiting_approval, setup_company

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.7 stored invoice"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def debug_urls(settings):
    """The URL configuration as a DEBUG server builds it."""
    settings.DEBUG = True
    importlib.reload(config.urls)
    clear_url_caches()
    yield config.urls.urlpatterns
    settings.DEBUG = False
    importlib.reload(config.urls)
    clear_url_caches()


def _callbacks(patterns):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _callbacks(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            yield pattern.callback


def test_no_url_serves_media_root_even_under_debug(debug_urls):
    assert serve not in list(_callbacks(debug_urls))


@pytest.fixture
def stored(customer):
    """The sales rep's customer, with an invoice PDF and a stored formal notice."""
    setup_company()
    invoice = make_invoice(customer, number="F-PDF", issue_date=datetime.date(2026, 1, 5))
    invoice.pdf.save("F-PDF.pdf", ContentFile(PDF))
    letter = letter_awaiting_approval(customer)
    letter.pdf.save("MED.pdf", ContentFile(b"%PDF-1.7 stored letter"))
    return invoice, letter


def test_stored_files_under_media_answer_404(client, finance_user, stored, debug_urls):
    invoice, letter = stored
    client.force_login(finance_user)
    for name in (invoice.pdf.name, letter.pdf.name):
        assert client.get(f"/media/{name}").status_code == 404


@pytest.mark.parametrize(
    ("who", "expected"),
    [("sales_user", 200), ("finance_user", 200), ("manager_user", 200), ("other_sales_user", 404)],
)
def test_invoice_pdf_only_for_who_sees_the_invoice(client, request, stored, who, expected):
    invoice, _letter = stored
    client.force_login(request.getfixturevalue(who))
    response = client.get(reverse("receivables:invoice_pdf", args=[invoice.pk]))
    assert response.status_code == expected
    if expected == 200:
        assert b"".join(response.streaming_content) == PDF
        assert response["Content-Type"] == "application/pdf"
        assert 'filename="invoice-F-PDF.pdf"' in response["Content-Disposition"]
        assert "no-store" in response["Cache-Control"]


def test_invoice_page_links_the_view_not_media(client, sales_user, stored):
    invoice, _letter = stored
    client.force_login(sales_user)
    html = client.get(reverse("receivables:invoice_detail", args=[invoice.pk])).content.decode()
    assert reverse("receivables:invoice_pdf", args=[invoice.pk]) in html
    assert "/media/" not in html


def test_invoice_pdf_needs_login_and_a_stored_file(client, sales_user, stored):
    invoice, _letter = stored
    url = reverse("receivables:invoice_pdf", args=[invoice.pk])
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(sales_user)
    other = make_invoice(CustomerFactory(sales_rep=sales_user), number="NO-PDF")
    assert client.get(reverse("receivables:invoice_pdf", args=[other.pk])).status_code == 404
    invoice.pdf.storage.delete(invoice.pdf.name)  # the file lost on disk: 404, not 500
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("who", "expected"),
    [("finance_user", 200), ("manager_user", 200), ("sales_user", 403), ("other_sales_user", 403)],
)
def test_letter_pdf_only_for_letter_readers(client, request, stored, who, expected):
    _invoice, letter = stored
    client.force_login(request.getfixturevalue(who))
    response = client.get(reverse("letters:pdf", args=[letter.pk]))
    assert response.status_code == expected
