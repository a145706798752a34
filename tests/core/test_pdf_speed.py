"""What keeps letters fast: fonts subset by HarfBuzz, and the letter's layout parsed once
per process and shared by every letter (issue #13)."""

import datetime
import io

import pytest
from pypdf import PdfReader

from core import pdf
from reminders.letters import context as notice
from tests.factories import CustomerFactory, make_invoice


def test_weasyprint_subsets_fonts_with_harfbuzz():
    """Without libharfbuzz-subset0 (bin/_bootstrap.sh's and the Dockerfile's runtime
    packages) WeasyPrint falls back to fontTools, which doubles a letter's time."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    assert harfbuzz_subset is not None, "install libharfbuzz-subset0"
    assert harfbuzz.hb_version_atleast(4, 1, 0)


@pytest.mark.django_db
def test_the_letter_stylesheet_is_parsed_once_and_laid_out(company_profile):
    first = pdf.shared_stylesheet(notice.LETTER_STYLESHEET)
    assert pdf.shared_stylesheet(notice.LETTER_STYLESHEET) is first
    customer = CustomerFactory(name="Feuille Partagée SARL")
    make_invoice(customer, issue_date=datetime.date(2026, 5, 1), due_date=datetime.date(2026, 6, 1))
    html = notice.render_letter_html(
        notice.build_letter_context(customer=customer, letter_date=datetime.date(2026, 7, 1))
    )
    assert "<style" not in html  # the layout comes from the shared stylesheet only
    reader = PdfReader(io.BytesIO(notice.render_letter_pdf(
        customer=customer, letter_date=datetime.date(2026, 7, 1)
    )))  # fmt: skip
    pages = len(reader.pages)
    # The page counter and the embedded fonts (its @font-face) come from the stylesheet.
    assert f"1 / {pages}" in reader.pages[0].extract_text()
    fonts = {
        str(font["/BaseFont"]).split("+")[-1]
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert {"Relance-Letter", "Relance-Letter-Bold"} <= fonts
    assert pdf.shared_stylesheet(notice.LETTER_STYLESHEET) is first
