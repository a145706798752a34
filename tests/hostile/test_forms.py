"""Every form a finance user, a manager or a sales rep can post, fed hostile values.

The forms are not listed by hand: each page of the URL configuration (the permission
matrix's GET rows, with its ``world``) is read as each person, and every
``<form method="post">`` on it is taken with its fields as the page shows them (inputs,
selects and their options, textareas, file inputs). Each field gets values drawn for its
kind (see ``strategies``): dates from year 1 to 9999 in both formats and garbage, amounts
from 0.001 to 10^20 and negative in both notations, strings up to 10,000 characters with
control characters, NUL, RTL marks, emoji and injection payloads; a select gets one of
its options or garbage; a file input gets random bytes under a random name.

The property, for each post: the answer is 200, 302, 400, 403 or 404 (the test client
re-raises any exception, so a 500 fails with its traceback), and when the answer is a
refusal (a 4xx, a form shown again with its errors, or a redirect carrying an error
message) no row of the ledger changed. :func:`test_every_post_route_is_fuzzed` fails
when a POST route of the matrix is not reached by the harvest, so a new form cannot
escape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile import strategies as hs
from tests.hostile.ledger import changed, fingerprint, refused
from tests.test_permission_matrix import MATRIX, ROLES, all_routes, url_of

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]

PEOPLE = ("finance", "manager", "owner")
ALLOWED = {200, 302, 400, 403, 404}
EXAMPLES = 10  # per route and person, in the developer's loop
SLOW_EXAMPLES = 40  # per route and person, in CI


# --- reading the forms off the pages ----------------------------------------------------


@dataclass
class Field:
    name: str
    kind: str  # input type, "select", "textarea"
    value: str = ""
    options: list[str] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass
class Form:
    action: str
    fields: dict[str, Field] = field(default_factory=dict)
    method: str = "post"


class FormParser(HTMLParser):
    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.page_url = page_url
        self.forms: list[Form] = []
        self.form: Form | None = None
        self.select: Field | None = None

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in attrs_list}
        if tag == "form":
            method = attrs.get("method", "get").lower()
            action = attrs.get("action") or attrs.get(f"hx-{method}") or self.page_url
            self.form = Form(urljoin(self.page_url, action), method=method)
            self.forms.append(self.form)
        if self.form is None or not attrs.get("name"):
            if tag == "option" and self.select is not None:
                self.select.options.append(attrs.get("value", ""))
            return
        name = attrs["name"]
        if tag == "input":
            kind = attrs.get("type", "text").lower()
            if kind in ("submit", "button", "reset", "image"):
                return
            self.form.fields.setdefault(
                name, Field(name, kind, attrs.get("value", ""), attrs=attrs)
            )
        elif tag == "textarea":
            self.form.fields[name] = Field(name, "textarea", attrs=attrs)
        elif tag == "select":
            self.select = self.form.fields.setdefault(name, Field(name, "select", attrs=attrs))
        elif tag == "option" and self.select is not None:
            self.select.options.append(attrs.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.form = None
        elif tag == "select":
            self.select = None


def route_name(url: str) -> str | None:
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return None
    return match.view_name


# The pages that showed each person each route's forms (read once, then only those).
SOURCES: dict[tuple[str, str], set[str]] = {}
# The search and filter forms (method GET) seen, by route and person.
GET_FORMS: dict[tuple[str, str], dict[tuple[str, ...], Form]] = {}


def harvest(
    client, world: dict[str, Any], role: str, pages: set[str] | None = None
) -> dict[str, list[Form]]:
    """Every post form on every page ``role`` may open (or on ``pages``), by the route it
    posts to."""
    found: dict[str, list[Form]] = {}
    routes = {r.name: r for r in all_routes()}
    client.force_login(world["users"][role])
    for (method, name), row in MATRIX.items():
        if method != "GET" or row.expected[ROLES.index(role)] != "200" or name not in routes:
            continue
        if pages is not None and name not in pages:
            continue
        url = url_of(routes[name], row, world)
        response = client.get(url, headers={"accept-language": "en"})
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        parser = FormParser(url)
        parser.feed(response.content.decode())
        for form in parser.forms:
            target = route_name(form.action)
            if form.method == "get":
                GET_FORMS.setdefault((name, role), {})[tuple(sorted(form.fields))] = form
            elif target:
                found.setdefault(target, []).append(form)
                SOURCES.setdefault((target, role), set()).add(name)
    return found


# --- what each field gets ----------------------------------------------------------------


def upload() -> st.SearchStrategy[SimpleUploadedFile]:
    names = st.one_of(
        st.sampled_from(["f.csv", "f.xlsx", "f.xml", "f.pdf", "f", ".csv", "a" * 300 + ".csv"]),
        hs.hostile_text(300).map(lambda s: (s.replace("\x00", "").replace("/", "") or "x")[:255]),
    )
    contents = st.one_of(
        st.binary(max_size=4096),
        st.sampled_from(
            [
                b"",
                b"PK\x03\x04" + b"\x00" * 40,
                b"\xef\xbb\xbfcustomer_ref;amount\n\x00;1e400\n",
                b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]><x>&a;</x>",
                b"%PDF-1.7\n%%EOF",
            ]
        ),
        hs.hostile_text(2000).map(lambda s: s.encode("utf-8", "surrogatepass")),
    )
    return st.builds(lambda n, c: SimpleUploadedFile(n, c), names, contents)


def value_for(f: Field) -> st.SearchStrategy[Any]:
    name = f.name.lower()
    if f.kind == "file":
        return upload()
    if name == "confirm":
        return st.sampled_from(["", "on", "true", "False", "\x00"])
    if f.kind == "select":
        return st.one_of(
            st.sampled_from(f.options or [""]), hs.integer_text(), hs.hostile_text(200)
        )
    if f.kind == "checkbox":
        return st.sampled_from(["", "on", f.value or "on", "0"])
    if f.kind == "date" or "date" in name or name in ("until", "as_of", "month"):
        return hs.date_text()
    if f.attrs.get("inputmode") == "decimal" or "amount" in name:
        return hs.amount_text()
    if f.kind == "number":
        return hs.integer_text()
    if f.kind == "hidden":
        return st.one_of(st.just(f.value), hs.integer_text(), hs.hostile_text(100))
    return hs.hostile_text()


def form_data(form: Form) -> st.SearchStrategy[dict[str, Any]]:
    fields = {name: f for name, f in form.fields.items() if name != "csrfmiddlewaretoken"}
    # Each field is either left out or given a hostile value.
    return st.fixed_dictionaries({}, optional={name: value_for(f) for name, f in fields.items()})


# --- the property ------------------------------------------------------------------------


def post_once(client, url: str, data: dict[str, Any], *, label: str) -> None:
    """One post inside a transaction rolled back afterwards, so each example finds the
    world as it was made."""
    with transaction.atomic():
        before = fingerprint()
        response = client.post(url, data, headers={"accept-language": "fr"})
        assert response.status_code in ALLOWED, f"{label}: {response.status_code}"
        if refused(response):
            after = fingerprint()
            assert not changed(before, after), (
                f"{label} was refused ({response.status_code}) but changed "
                f"{changed(before, after)} with {data!r}"
            )
        transaction.set_rollback(True)


def post_routes() -> list[tuple[str, str]]:
    """Each POST route of the matrix with each person who may post to it."""
    cases = []
    for (method, name), row in sorted(MATRIX.items()):
        if method != "POST" or name in NOT_FORMS:
            continue
        for role in PEOPLE:
            if row.expected[ROLES.index(role)] in ("200", "302", "400"):
                cases.append((name, role))
    return cases


# Posts that are no forms of the application (Django's own, or with a test of their own).
NOT_FORMS = {
    "login": "Django's login form; throttling in tests/core/test_login_throttling.py",
    "logout": "no data",
    "password_reset": "Django's form; tests/core/test_password_reset.py",
    "password_reset_confirm": "Django's form, behind a token",
    # The JSON API takes no form: its own hostile test posts random JSON to each write.
    **{
        name: "the JSON API: tests/api/test_hostile.py"
        for method, name in MATRIX
        if method == "POST" and name.startswith("api:")
    },
}


# Routes whose form the world shows no one (their row is not in the state that offers the
# action: a letter not approved yet, an import not previewed, a bank line not matched):
# their fields, posted to the matrix row's URL all the same.
UNSHOWN: dict[str, dict[str, str]] = {
    "letters:post": {"tracking_number": "text", "posted_on": "date"},
    "imports:run_confirm": {},
    "imports:run_commit": {},
    "imports:bank_undo": {"next": "hidden"},
}


def forms_for(client, world, name: str, role: str) -> list[Form]:
    pages = SOURCES.get((name, role))
    forms = harvest(client, world, role, pages).get(name, [])
    if not forms and name in UNSHOWN:
        route = next(r for r in all_routes() if r.name == name)
        url = url_of(route, MATRIX["POST", name], world)
        fields = {n: Field(n, kind) for n, kind in UNSHOWN[name].items()}
        forms = [Form(url, fields)]
    assert forms, (
        f"No page shows {role} a form posting to {name}: give the route a page in the "
        "permission matrix's world, or say in NOT_FORMS why it is no form."
    )
    return forms


def fuzz(client, world, name: str, role: str, examples: int) -> None:
    forms = forms_for(client, world, name, role)
    # Forms differ by their fields (a worklist row's call form and its postpone form…).
    kinds = {tuple(sorted(f.fields)): f for f in forms}

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(data=st.data())
    def check(data):
        form = data.draw(st.sampled_from(sorted(kinds.values(), key=lambda f: f.action)))
        values = data.draw(form_data(form), label=form.action)
        post_once(client, form.action, values, label=f"POST {name} as {role}")

    check()


@pytest.mark.parametrize(("name", "role"), post_routes())
def test_hostile_posts(client, world, name, role):
    fuzz(client, world, name, role, EXAMPLES)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "role"), post_routes())
def test_hostile_posts_at_length(client, world, name, role):
    fuzz(client, world, name, role, SLOW_EXAMPLES)


def test_every_post_route_is_fuzzed():
    """A POST route of the URL configuration is either fuzzed or named in NOT_FORMS."""
    posted = {name for method, name in MATRIX if method == "POST"}
    fuzzed = {name for name, _role in post_routes()}
    missing = sorted(posted - fuzzed - set(NOT_FORMS))
    assert not missing, f"POST routes no person is fuzzed on: {missing}"
    assert set(NOT_FORMS) <= posted, sorted(set(NOT_FORMS) - posted)


# --- the search and filter forms (GET) ---------------------------------------------------

GET_CASES = [
    # (route, person): each page with a filter or search form, or query parameters.
    ("workplaces:customer_list", "finance"),
    ("workplaces:customer_detail", "owner"),
    ("workplaces:sales", "owner"),
    ("workplaces:dashboard", "finance"),
    ("workplaces:dashboard_section", "finance"),
    ("receivables:invoice_list", "finance"),
    ("receivables:aged_balance", "manager"),
    ("receivables:aged_balance", "owner"),
    ("receivables:aged_balance_csv", "finance"),
    ("receivables:aged_balance_xlsx", "owner"),
    ("receivables:credit_note_create", "finance"),
    ("imports:home", "finance"),
]
# The query parameters a page reads besides its forms' fields.
QUERY_PARAMETERS = {
    "workplaces:customer_detail": {"timeline": "number", "log": "number", "part": "text"},
    "workplaces:dashboard": {"part": "text"},
    "receivables:credit_note_create": {"invoice": "number"},
}
# An export reads the query of the page it is downloaded from.
EXPORT_OF = {
    "receivables:aged_balance_csv": "receivables:aged_balance",
    "receivables:aged_balance_xlsx": "receivables:aged_balance",
}


def fuzz_get(client, world, name: str, role: str, examples: int) -> None:
    """The page's query string fed hostile values for its own filter forms' fields
    (the form of the page it is a download of, for an export)."""
    source = EXPORT_OF.get(name, name)
    harvest(client, world, role, {source})
    forms = list(GET_FORMS.get((source, role), {}).values())
    fields = {n: f for form in forms for n, f in form.fields.items()}
    fields |= {n: Field(n, kind) for n, kind in QUERY_PARAMETERS.get(name, {}).items()}
    fields.setdefault("page", Field("page", "number"))
    route = next(r for r in all_routes() if r.name == name)
    url = url_of(route, MATRIX["GET", name], world)

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(values=form_data(Form(url, fields, "get")))
    def check(values):
        with transaction.atomic():
            before = fingerprint()
            response = client.get(url, values, headers={"accept-language": "fr"})
            assert response.status_code in ALLOWED, f"GET {name} as {role}: {response.status_code}"
            assert not changed(before, fingerprint()), f"GET {name} changed the ledger"
            transaction.set_rollback(True)

    check()


@pytest.mark.parametrize(("name", "role"), GET_CASES)
def test_hostile_queries(client, world, name, role):
    fuzz_get(client, world, name, role, EXAMPLES)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "role"), GET_CASES)
def test_hostile_queries_at_length(client, world, name, role):
    fuzz_get(client, world, name, role, SLOW_EXAMPLES)
