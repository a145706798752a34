"""The French translation: pages come out in the user's language, and the catalogue
(locale/fr/LC_MESSAGES/django.po) is complete.

bin/test compiles the catalogue (``manage.py compilemessages``) before pytest; the .mo
file is a build product and is not committed. When a string is added to the code or a
template, refresh and translate the catalogue::

    python manage.py makemessages -l fr --ignore=.venv --ignore=benchmarks \\
        --ignore=staticfiles --ignore=node_modules --no-obsolete

then fill every empty ``msgstr`` (and remove any ``#, fuzzy`` flag after checking the
entry): ``test_catalogue_is_complete`` lists what is left, and
``test_catalogue_has_every_string_of_the_sources`` what makemessages was not run for.
"""

from __future__ import annotations

import ast
import datetime
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from customers.models import UserPreferences
from receivables.models import Invoice
from tests.factories import CustomerFactory, make_invoice

BASE_DIR = Path(settings.BASE_DIR)
PO_FILE = BASE_DIR / "locale" / "fr" / "LC_MESSAGES" / "django.po"
MO_FILE = PO_FILE.with_suffix(".mo")
AS_OF = "2026-04-15"
# The makemessages options of the module docstring (the README's command).
IGNORED = (".venv", "benchmarks", "staticfiles", "node_modules")


# --- pages in the user's language ----------------------------------------------------

# Strings each page must show in each language, and strings of the other language it must
# not show. Navigation strings come from base.html, the rest from the page itself and its
# form (Python code, gettext_lazy).
CUSTOMER_LIST = {
    "fr": ["Clients", "Balance âgée", "Factures", "Se déconnecter", "Encours", "1 client"],
    "en": ["Customers", "Aged balance", "Invoices", "Log out", "Open balance", "1 customer"],
}
AGED_BALANCE = {
    "fr": ["Balance âgée", "Non échu", "1–30 jours", "Plus de 90 jours", "Afficher", "TOTAL"],
    "en": ["Aged balance", "Not due", "1–30 days", "Over 90 days", "Show", "TOTAL"],
}
NOT_IN = {
    "fr": ["Aged balance", "Log out", "Open balance", "Not due", "Over 90 days"],
    "en": ["Balance âgée", "Se déconnecter", "Encours", "Non échu", "Plus de 90 jours"],
}


def mo_hint() -> str:
    if not MO_FILE.exists():
        return f" ({MO_FILE.relative_to(BASE_DIR)} is missing: run manage.py compilemessages)"
    if MO_FILE.stat().st_mtime < PO_FILE.stat().st_mtime:
        return f" ({MO_FILE.relative_to(BASE_DIR)} is older than the .po: run compilemessages)"
    return ""


@pytest.fixture
def ledger(db):
    customer = CustomerFactory(customer_ref="411I18N", name="Traduction SARL")
    make_invoice(customer, number="I18N-1", issue_date=datetime.date(2026, 1, 5), amount="1200.00")
    return customer


def logged_in(client, user, language: str | None):
    if language:
        UserPreferences.objects.update_or_create(user=user, defaults={"language": language})
    client.force_login(user)
    return client


def check_page(response, language: str, expected: list[str]) -> None:
    assert response.status_code == 200
    assert response["Content-Language"] == language
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    missing = [s for s in expected if s not in html]
    assert not missing, f"not on the {language} page: {missing}{mo_hint()}"
    present = [s for s in NOT_IN[language] if s in html]
    assert not present, f"other-language strings on the {language} page: {present}{mo_hint()}"


@pytest.mark.parametrize("language", ["fr", "en"])
def test_customer_list_in_the_users_language(client, ledger, finance_user, language):
    logged_in(client, finance_user, language)
    response = client.get(reverse("workplaces:customer_list"))
    check_page(response, language, CUSTOMER_LIST[language])
    assert ("En retard uniquement" in response.content.decode()) == (language == "fr")


@pytest.mark.parametrize("language", ["fr", "en"])
def test_aged_balance_in_the_users_language(client, ledger, finance_user, language):
    logged_in(client, finance_user, language)
    response = client.get(reverse("receivables:aged_balance"), {"as_of": AS_OF})
    check_page(response, language, AGED_BALANCE[language])
    assert "Traduction SARL" in response.content.decode()


def test_french_by_default(client, ledger, finance_user, settings):
    """No preference, no cookie, no Accept-Language: LANGUAGE_CODE, French (pinned here
    so that a test-wide English default would not change what this test checks)."""
    settings.LANGUAGE_CODE = "fr"
    logged_in(client, finance_user, None)
    response = client.get(reverse("receivables:aged_balance"), {"as_of": AS_OF})
    check_page(response, "fr", AGED_BALANCE["fr"])


def test_the_language_cookie_applies_without_a_preference(client, ledger, finance_user):
    logged_in(client, finance_user, None)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(reverse("workplaces:customer_list"))
    check_page(response, "en", CUSTOMER_LIST["en"])


def test_python_strings_are_translated():
    with translation.override("fr"):
        assert str(Invoice._meta.verbose_name) == "facture", mo_hint()
        assert str(Invoice.Kind.CREDIT_NOTE.label) == "Avoir"
    with translation.override("en"):
        assert str(Invoice._meta.verbose_name) == "invoice"


# --- the catalogue ---------------------------------------------------------------------


@dataclass
class Entry:
    line: int
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)
    obsolete: bool = False

    def describe(self) -> str:
        where = " ".join(self.references[:2]) or f"line {self.line}"
        ctx = f" [context {self.msgctxt!r}]" if self.msgctxt else ""
        return f"{self.msgid!r}{ctx} ({where})"


KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')


def parse_po(text: str) -> list[Entry]:
    """A small parser of the gettext PO format: the entries with their flags, references
    and strings (C escapes decoded)."""
    entries: list[Entry] = []
    entry: Entry | None = None
    last: tuple[str, int | None] | None = None

    def value(quoted: str, lineno: int) -> str:
        try:
            return ast.literal_eval(quoted)
        except (SyntaxError, ValueError) as exc:
            raise AssertionError(f"{PO_FILE}:{lineno}: unreadable string {quoted}") from exc

    def append(keyword: str, index: int | None, text: str) -> None:
        if keyword == "msgstr":
            entry.msgstr[index or 0] = entry.msgstr.get(index or 0, "") + text
        elif keyword == "msgid_plural":
            entry.msgid_plural = (entry.msgid_plural or "") + text
        elif keyword == "msgctxt":
            entry.msgctxt = (entry.msgctxt or "") + text
        else:
            entry.msgid += text

    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            entry, last = None, None
            continue
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        elif line.startswith("#"):
            if entry is None or last is not None:
                entry = Entry(line=lineno)
                entries.append(entry)
                last = None
            if line.startswith("#,"):
                entry.flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
            elif line.startswith("#:"):
                entry.references += line[2:].split()
            continue
        if line.startswith('"'):
            assert last is not None, f"{PO_FILE}:{lineno}: a string continues nothing"
            append(last[0], last[1], value(line, lineno))
            continue
        match = KEYWORD.match(line)
        assert match, f"{PO_FILE}:{lineno}: cannot parse {raw!r}"
        keyword, index, quoted = match.groups()
        if keyword.startswith("msgstr["):
            keyword = "msgstr"
        # A new entry starts at msgctxt, or at msgid when no msgctxt opened it.
        if (
            entry is None
            or (keyword == "msgctxt" and last is not None)
            or (keyword == "msgid" and last is not None and last[0] != "msgctxt")
        ):
            entry = Entry(line=lineno)
            entries.append(entry)
        entry.obsolete = entry.obsolete or obsolete
        last = (keyword, int(index) if index is not None else None)
        append(last[0], last[1], value(quoted, lineno))
    return entries


def catalogue() -> tuple[Entry, list[Entry]]:
    assert PO_FILE.exists(), f"{PO_FILE} is missing"
    entries = [e for e in parse_po(PO_FILE.read_text(encoding="utf-8")) if not e.obsolete]
    headers = [e for e in entries if e.msgid == "" and e.msgctxt is None]
    assert len(headers) == 1, "the catalogue needs exactly one header entry"
    return headers[0], [e for e in entries if e is not headers[0]]


def nplurals(header: Entry) -> int:
    match = re.search(r"Plural-Forms:.*nplurals\s*=\s*(\d+)", header.msgstr.get(0, ""))
    assert match, "the catalogue header has no Plural-Forms"
    return int(match.group(1))


def test_catalogue_header():
    header, entries = catalogue()
    assert "fuzzy" not in header.flags, "the header is fuzzy: remove its '#, fuzzy' flag"
    assert "Language: fr\n" in header.msgstr[0]
    assert "charset=UTF-8" in header.msgstr[0]
    assert nplurals(header) >= 2
    assert len(entries) > 100


def test_catalogue_is_complete():
    """No empty msgstr, no fuzzy entry (gettext ignores fuzzy translations): a string added
    without its translation fails here, with the list of what is left to translate."""
    header, entries = catalogue()
    plurals = nplurals(header)
    problems = []
    for e in entries:
        if "fuzzy" in e.flags:
            problems.append(f"fuzzy: {e.describe()}")
        elif e.msgid_plural is not None and sorted(e.msgstr) != list(range(plurals)):
            problems.append(f"needs msgstr[0]..msgstr[{plurals - 1}]: {e.describe()}")
        elif not e.msgstr or any(not s for s in e.msgstr.values()):
            problems.append(f"untranslated: {e.describe()}")
    assert not problems, (
        f"{len(problems)} of {len(entries)} entries of {PO_FILE.relative_to(BASE_DIR)} are not "
        "translated; translate them (and remove '#, fuzzy' once checked):\n  "
        + "\n  ".join(problems)
    )


PLACEHOLDER = re.compile(r"%(?:\([A-Za-z_0-9]+\))?[sdfir]|\{[A-Za-z_0-9.]+\}")


def test_translations_keep_the_placeholders():
    """Every placeholder of the English string is in its translation (msgfmt -c checks
    only the python-format entries), and leading or trailing whitespace is kept. The
    singular form of a plural entry may leave out the count ("un client")."""
    _, entries = catalogue()
    problems = []
    for e in entries:
        singular = sorted(PLACEHOLDER.findall(e.msgid))
        plural = sorted(PLACEHOLDER.findall(e.msgid_plural or ""))
        for index, text in sorted(e.msgstr.items()):
            if not text:
                continue
            found = sorted(PLACEHOLDER.findall(text))
            if e.msgid_plural is None:
                ok = found == singular
            elif index == 0:
                # at most the count may be missing
                ok = set(found) <= set(plural) and len(set(plural) - set(found)) <= 1
            else:
                ok = found == plural
            if not ok:
                problems.append(f"{e.describe()}: msgstr[{index}] has {found}")
            if text[:1].isspace() != e.msgid[:1].isspace() or (
                text[-1:].isspace() != e.msgid[-1:].isspace()
            ):
                problems.append(f"{e.describe()}: msgstr[{index}] changes the outer spaces")
    assert not problems, "placeholders or spaces differ from the English:\n  " + "\n  ".join(
        problems
    )


def test_catalogue_has_every_string_of_the_sources(tmp_path):
    """makemessages, run on a copy of the sources, finds no string that the committed
    catalogue lacks: a string added to the code without refreshing the catalogue fails
    here, not silently in English on a French page."""
    if not (shutil.which("xgettext") and shutil.which("msguniq")):
        pytest.skip("the gettext tools are not installed")
    copy = tmp_path / "src"

    def ignore(directory, names):
        top = Path(directory) == BASE_DIR
        return [
            n
            for n in names
            if (top and (n.startswith(".") or n in (*IGNORED, "locale", "var", "media")))
            or n in ("__pycache__", "node_modules")
            or (Path(directory, n).is_file() and not n.endswith((".py", ".html", ".txt")))
        ]

    shutil.copytree(BASE_DIR, copy, ignore=ignore, symlinks=True)
    env = {
        **os.environ,
        "SECRET_KEY": "i18n-test-only-" + "x" * 40,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    command = [sys.executable, "manage.py", "makemessages", "-l", "fr", "--no-obsolete"]
    command += [f"--ignore={name}" for name in IGNORED]
    result = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    fresh_po = copy / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    fresh = {
        (e.msgctxt, e.msgid): e
        for e in parse_po(fresh_po.read_text(encoding="utf-8"))
        if e.msgid and not e.obsolete
    }
    _, entries = catalogue()
    known = {(e.msgctxt, e.msgid) for e in entries}
    missing = [e.describe() for key, e in sorted(fresh.items(), key=str) if key not in known]
    assert not missing, (
        f"{len(missing)} string(s) of the sources are not in {PO_FILE.relative_to(BASE_DIR)}: "
        "run makemessages (see the docstring of tests/test_i18n.py) and translate them:\n  "
        + "\n  ".join(missing)
    )


# The names makemessages (xgettext) extracts strings from; a translation function imported
# under another name (e.g. ``gettext_lazy as _lazy``) hides its strings from the catalogue.
EXTRACTED_NAMES = {
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "npgettext_lazy",
}


def test_translation_functions_keep_names_makemessages_knows():
    root = Path(__file__).resolve().parents[1]
    hidden = []
    for app in ("config", "core", "customers", "receivables", "reminders", "workplaces"):
        for path in (root / app).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
                    hidden += [
                        f"{path.relative_to(root)}:{node.lineno} {a.name} as {a.asname}"
                        for a in node.names
                        if a.asname and a.asname not in EXTRACTED_NAMES
                    ]
    assert not hidden, "makemessages would not see these strings: " + "; ".join(hidden)
