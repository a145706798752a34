"""HTML to PDF with WeasyPrint, safely and cheaply.

Two decisions live here:

- **One FontConfiguration per process.** Building one scans the system's fonts and every
  ``@font-face`` is loaded into it once (WeasyPrint caches faces by descriptor), so it is
  created lazily, on first use in each process (after a fork, too: the pid is checked),
  and shared by every render. Renders in one process are serialised by a lock, since
  fontconfig and Pango objects are not documented as thread-safe; WeasyPrint is CPU-bound
  anyway, so more letters per second come from more processes (the django-q2 workers).

- **A url_fetcher that only serves the project's own static files.** Letters print
  customer data; even though templates escape it, a document must never be able to read
  a local file (``file:///etc/passwd``), call a server (``http://127.0.0.1:9/``, the cloud
  metadata endpoint, anything that would leak data in a URL) or embed arbitrary ``data:``
  payloads. Documents get a fictitious base URL under the reserved ``.invalid`` domain;
  URLs under ``ASSET_BASE_URL`` are mapped to files of ``STATICFILES_DIRS`` (or
  ``STATIC_ROOT``) with an allowed extension, after resolving symlinks and ``..``;
  everything else is refused, and WeasyPrint then leaves the resource out.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import posixpath
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings

# WeasyPrint logs every rendering step (and its import) at INFO: a worker needs none.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

from weasyprint import CSS, HTML  # noqa: E402
from weasyprint.text.fonts import FontConfiguration  # noqa: E402
from weasyprint.urls import URLFetcher, URLFetcherResponse  # noqa: E402

logger = logging.getLogger(__name__)

# Reserved by RFC 2606: never resolvable, so even a bug could not reach a real host.
ASSET_BASE_URL = "https://assets.relance.invalid/static/"
ALLOWED_EXTENSIONS = frozenset(
    {".css", ".ttf", ".otf", ".woff", ".woff2", ".png", ".jpg", ".jpeg", ".gif", ".svg"}
)
MAX_ASSET_BYTES = 5 * 1024 * 1024


class RefusedURLError(ValueError):
    """A document asked for a resource outside the project's static files."""


def static_roots() -> list[Path]:
    """The directories assets may come from: the project's ``static/`` directories and
    the collected ``STATIC_ROOT`` (production images may hold only the latter)."""
    roots = [Path(d) for d in settings.STATICFILES_DIRS]
    if settings.STATIC_ROOT:
        roots.append(Path(settings.STATIC_ROOT))
    return [r.resolve() for r in roots if r.is_dir()]


def asset_url(relative_path: str) -> str:
    """The URL a document uses for ``static/<relative_path>`` (fonts, logo)."""
    return ASSET_BASE_URL + relative_path.lstrip("/")


class StaticOnlyFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that serves the project's static files and refuses every
    other URL (``file:``, ``http(s):`` elsewhere, ``data:``, ``ftp:``…). ``served`` and
    ``refused`` list what was asked for, for logs and tests."""

    def __init__(self) -> None:
        super().__init__(timeout=1, allowed_protocols=(), allow_redirects=False)
        self.served: list[str] = []
        self.refused: list[str] = []

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        try:
            path = self._resolve(url)
        except RefusedURLError:
            self.refused.append(url)
            logger.warning("PDF: refused to fetch %.200s", url)
            raise
        with path.open("rb") as f:
            body = f.read(MAX_ASSET_BYTES + 1)
        if len(body) > MAX_ASSET_BYTES:
            self.refused.append(url)
            raise RefusedURLError(f"asset too large: {url}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self.served.append(url)
        return URLFetcherResponse(url, body=body, headers={"Content-Type": content_type})

    @staticmethod
    def _resolve(url: str) -> Path:
        if not url.startswith(ASSET_BASE_URL):
            raise RefusedURLError(f"not a static asset URL: {url!r}")
        parts = urlsplit(url)
        relative = unquote(parts.path)[len(urlsplit(ASSET_BASE_URL).path) :]
        if not relative or "\\" in relative or "\x00" in relative:
            raise RefusedURLError(f"bad asset path: {url!r}")
        normalised = posixpath.normpath(relative)
        if normalised.startswith(("/", "..")) or "/../" in f"/{normalised}/":
            raise RefusedURLError(f"asset path escapes the static directory: {url!r}")
        if posixpath.splitext(normalised)[1].lower() not in ALLOWED_EXTENSIONS:
            raise RefusedURLError(f"asset type not allowed: {url!r}")
        for root in static_roots():
            candidate = (root / normalised).resolve()
            if candidate.is_relative_to(root) and candidate.is_file():
                return candidate
        raise RefusedURLError(f"no such static asset: {url!r}")


_lock = threading.Lock()
_font_config: tuple[int, FontConfiguration] | None = None


def font_configuration() -> FontConfiguration:
    """This process's shared FontConfiguration (created on first use after a fork)."""
    global _font_config
    pid = os.getpid()
    if _font_config is None or _font_config[0] != pid:
        _font_config = (pid, FontConfiguration())
    return _font_config[1]


_stylesheets: dict[tuple[int, str], CSS] = {}


def shared_stylesheet(relative_path: str) -> CSS:
    """The static stylesheet ``static/<relative_path>``, parsed once per process (its
    ``@font-face`` fonts loaded into the shared FontConfiguration with it) and shared by
    every document that names it: a letter's layout is not parsed again for each letter.
    Fetched through :class:`StaticOnlyFetcher` like any asset."""
    key = (os.getpid(), relative_path)
    stylesheet = _stylesheets.get(key)
    if stylesheet is None:
        stylesheet = _stylesheets[key] = CSS(
            url=asset_url(relative_path),
            url_fetcher=StaticOnlyFetcher(),
            font_config=font_configuration(),
        )
    return stylesheet


def render_pdf(
    html: str, *, fetcher: StaticOnlyFetcher | None = None, stylesheets: tuple[str, ...] = ()
) -> bytes:
    """Render an HTML document (already escaped by the template engine) to PDF bytes,
    with the shared static ``stylesheets`` (paths under ``static/``) after its own.
    ``fetcher`` may be passed to inspect what the document asked for."""
    fetcher = fetcher if fetcher is not None else StaticOnlyFetcher()
    with _lock:
        sheets = [shared_stylesheet(path) for path in stylesheets]
        document = HTML(string=html, base_url=ASSET_BASE_URL, url_fetcher=fetcher)
        return document.write_pdf(stylesheets=sheets, font_config=font_configuration())
