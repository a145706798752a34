"""A letter can neither read local files nor call any server, whatever customer data holds.

Two layers are tested: the template escapes customer data (the tags appear as text in the
PDF, nothing is fetched), and the url_fetcher refuses every URL outside the project's
static files even when markup gets through (simulated by rendering raw HTML). A local
TCP server stands in for an attacker's endpoint: it must receive no connection.
"""

import datetime
import socket
import threading
from pathlib import Path

import pytest

from core.pdf import (
    ASSET_BASE_URL,
    RefusedURLError,
    StaticOnlyFetcher,
    asset_url,
    font_configuration,
    render_pdf,
)
from reminders.letters import context as notice
from tests.factories import CustomerFactory, make_invoice
from tests.reminders.test_letters import flat, pdf_text, setup_company

D = datetime.date


def squash(text: str) -> str:
    return "".join(text.split())


class Listener:
    """A TCP server on 127.0.0.1 counting the connections it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.mark.django_db
def test_customer_data_is_escaped_and_nothing_is_fetched(listener):
    setup_company()
    port = listener.port
    name = '<img src="file:///etc/passwd">'
    line1 = f'<link rel=stylesheet href="http://127.0.0.1:{port}/x.css">'
    line2 = f"<style>body {{ background: url(http://127.0.0.1:{port}/bg.png) }}</style>"
    city = f'<p style="background: url(file:///etc/hostname)">x</p> url(http://127.0.0.1:{port}/c)'
    customer = CustomerFactory(
        name=name, address_line1=line1, address_line2=line2, city=city, customer_ref="411EVIL"
    )
    make_invoice(customer, number='F"<b>1</b>', issue_date=D(2025, 5, 1), due_date=D(2025, 6, 1))

    context = notice.build_letter_context(customer=customer, letter_date=D(2025, 7, 1))
    html = notice.render_letter_html(context)
    assert "&lt;img src=&quot;file:///etc/passwd&quot;&gt;" in html
    assert '<img src="file' not in html and "<link rel=stylesheet" not in html
    fetcher = StaticOnlyFetcher()
    pdf = render_pdf(html, fetcher=fetcher)
    text = flat(pdf_text(pdf))

    # The markup is printed as text…
    assert name in text
    assert squash(line1) in squash(text)  # long lines wrap in the address window
    assert squash(line2) in squash(text)
    assert squash(city) in squash(text)
    assert 'F"<b>1</b>' in text
    # …nothing but the project's fonts was asked for, nothing reached the listener,
    # no local file leaked into the PDF.
    assert fetcher.refused == []
    # (Empty when an earlier test already loaded the fonts into the shared FontConfiguration.)
    assert {Path(u).name for u in fetcher.served} <= {"DejaVuSans.ttf", "DejaVuSans-Bold.ttf"}
    assert listener.connections == 0
    assert "root:" not in text


def test_fetcher_refuses_injected_markup(listener, tmp_path):
    """If markup ever got through (a template edited carelessly), every resource outside
    the static files is refused and the listener still gets nothing."""
    port = listener.port
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red }")
    html = f"""<!doctype html><html><head>
      <link rel="stylesheet" href="http://127.0.0.1:{port}/x.css">
      <link rel="stylesheet" href="file://{secret}">
      <style>
        @import url("https://127.0.0.1:{port}/imported.css");
        @font-face {{ font-family: X; src: url("http://127.0.0.1:{port}/font.ttf"); }}
        body {{ background: url("http://127.0.0.1:{port}/bg.png") }}
        h1 {{ background-image: url("file:///etc/passwd") }}
      </style></head><body>
      <h1 style="background: url(http://127.0.0.1:{port}/inline.png)">Title</h1>
      <img src="file:///etc/passwd"><img src="http://127.0.0.1:{port}/pixel.png">
      <img src="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E">
      <img src="../../../../etc/passwd"><img src="/etc/passwd">
      <object data="file:///etc/passwd"></object><embed src="file:///etc/hostname">
      <iframe src="http://127.0.0.1:{port}/frame"></iframe>
      <a href="http://127.0.0.1:{port}/link">a link is not fetched</a>
      </body></html>"""
    fetcher = StaticOnlyFetcher()
    pdf = render_pdf(html, fetcher=fetcher)
    assert pdf.startswith(b"%PDF-")
    refused = "\n".join(fetcher.refused)
    for url in (
        f"http://127.0.0.1:{port}/x.css",
        f"file://{secret}",
        f"https://127.0.0.1:{port}/imported.css",
        f"http://127.0.0.1:{port}/bg.png",
        f"http://127.0.0.1:{port}/inline.png",
        "file:///etc/passwd",
        f"http://127.0.0.1:{port}/pixel.png",
        "data:image/svg+xml",
        "https://assets.relance.invalid/etc/passwd",  # relative paths resolve outside static/
    ):
        assert url in refused, url
    assert fetcher.served == []
    assert listener.connections == 0
    assert "root:" not in pdf_text(pdf)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://127.0.0.1:9/x.css",
        "https://example.com/font.ttf",
        "ftp://example.com/x.png",
        "data:text/css,body{}",
        "https://assets.relance.invalid.example.com/static/fonts/DejaVuSans.ttf",
        "http://assets.relance.invalid/static/fonts/DejaVuSans.ttf",
        ASSET_BASE_URL + "../../config/settings.py",
        ASSET_BASE_URL + "fonts/../../config/settings.py",
        ASSET_BASE_URL + "%2e%2e/%2e%2e/etc/passwd",
        ASSET_BASE_URL + "fonts/..%2f..%2f..%2fetc/passwd.css",
        ASSET_BASE_URL + "fonts\\..\\..\\etc\\passwd.css",
        ASSET_BASE_URL + "fonts/README",  # not an asset type
        ASSET_BASE_URL + "js/htmx.min.js",  # not an asset type
        ASSET_BASE_URL + "fonts/missing.ttf",
        ASSET_BASE_URL + "fonts/x.ttf%00.png",
    ],
)
def test_fetcher_refuses_anything_but_static_assets(url):
    fetcher = StaticOnlyFetcher()
    with pytest.raises(RefusedURLError):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_fetcher_serves_static_fonts_and_refuses_symlinks_out(settings, tmp_path):
    fetcher = StaticOnlyFetcher()
    response = fetcher.fetch(ASSET_BASE_URL + "fonts/DejaVuSans.ttf")
    assert response.read(4) == b"\x00\x01\x00\x00"  # a TrueType font
    response.close()
    static = tmp_path / "static"
    static.mkdir()
    (static / "leak.css").symlink_to("/etc/passwd")
    (static / "ok.css").write_text("p { color: black }")
    settings.STATICFILES_DIRS = [static]
    settings.STATIC_ROOT = None
    assert fetcher.fetch(ASSET_BASE_URL + "ok.css").read() == b"p { color: black }"
    with pytest.raises(RefusedURLError):
        fetcher.fetch(ASSET_BASE_URL + "leak.css")


def test_one_font_configuration_per_process_loads_the_fonts_once():
    font = asset_url("fonts/DejaVuSans.ttf")
    html = (
        f'<style>@font-face {{ font-family: Once; src: url("{font}") }}'
        "body { font-family: Once }</style><p>Bonjour</p>"
    )
    first, second = StaticOnlyFetcher(), StaticOnlyFetcher()
    render_pdf(html, fetcher=first)
    render_pdf(html, fetcher=second)
    assert font_configuration() is font_configuration()
    assert len(first.served) <= 1 and second.served == []  # cached by the shared config
