"""The permission matrix of every route, kept from going stale.

The test walks the URL configuration (``get_resolver()``, through every ``include``) and
requests each route as six people: anonymous, a user with no role, finance staff, a
manager, the sales rep who owns the customer, another sales rep. Each route's path
parameters are filled with the ids of rows made for the owner's customer (``world``).
What each of them gets is compared with :data:`MATRIX_TABLE`, the decision written
down:

- every route needs at least one row, and a row for each method it accepts: GET, and
  POST for an action or a form (a method that answers 405 to every logged-in user is
  not accepted and needs no row);
- a route added without its row fails here, with the row to add (so a new page cannot
  ship without someone deciding who sees it); a row whose route is gone fails too.

Only the Django admin (its own permissions), ``i18n/`` (Django's language switch) and
static or media files are left out, by :data:`EXCLUDED_PREFIXES` and
:data:`EXCLUDED_VIEWS`.

To add a route: one line in :data:`MATRIX_TABLE` per method (method, route name,
parameters, six statuses); if its parameters name a kind of row ``world`` does not make
yet, add it to :func:`world` (a parameter that is no row, such as a token, is given
literally). A POST is sent with no data (forms answer with their errors): what is
checked is who gets through, not what the action does.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.views import static

from core.tokens import token_create
from customers.models import Activity, Contact
from customers.portal_links import token_for
from receivables.models import BankTransaction, Dispute, ImportRun, PaymentClaim, PromiseToPay
from receivables.snapshots import snapshot_take_month_end
from reminders.models import Reminder, ReminderItem, ScenarioStep
from tests.factories import make_invoice, make_payment, make_reminder_customer, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]  # rows built from today

ROLES = ("anonymous", "norole", "finance", "manager", "owner", "other")

# Left out of the walk, each for its reason.
EXCLUDED_PREFIXES = (
    "admin/",  # the Django admin: staff only, its own permission system
    "i18n/",  # Django's set_language (a POST any visitor may make)
)
EXCLUDED_VIEWS = (static.serve,)  # static and media files (only mounted under DEBUG)

# One line per route and method: the method, the route's name ("namespace:name"), its
# path parameters ("name=key" of a row of ``world``, comma separated, or "-" for none; a
# key ``world`` lacks is taken literally, e.g. a dashboard section), then what each of
# ROLES gets, in this order: anonymous, no role ("nor"), finance ("fin"), manager
# ("mgr"), the owning sales rep ("own"), another sales rep ("oth").
#   login  a redirect to the login page          302  a redirect elsewhere
#   200; 400 (a form refused); 403 (not allowed); 404 (not found, or outside the
#   person's scope); 405 (method not allowed)
# Outside the scope is 404 for a sales rep and for a user without a role (nothing of
# the row is revealed), 403 where the role may not act at all.
MATRIX_TABLE = """
#    route                           parameters                     anon  nor fin mgr own oth
GET  home                            -                              login 302 302 302 302 302
GET  login                           -                              200   200 200 200 200 200
POST login                           -                              200   200 200 200 200 200
POST logout                          -                              login login login login login login
GET  workplaces:customer_list        -                              login 200 200 200 200 200
GET  workplaces:customer_detail      pk=customer                    login 404 200 200 200 404
GET  workplaces:customer_history     pk=customer                    login 404 200 200 200 404
GET  workplaces:sales                -                              login 200 200 200 200 200
GET  workplaces:dashboard            -                              login 403 200 200 403 403
GET  workplaces:invoice_cancel       pk=invoice                     login 404 200 403 403 404
POST workplaces:invoice_cancel       pk=invoice                     login 404 200 403 403 404
GET  workplaces:dashboard_section    section=tasks                  login 403 200 200 403 403
POST workplaces:worklist_call        section=tasks,pk=task          login 404 302 403 403 404
POST workplaces:worklist_postpone    section=followups,pk=followup  login 404 302 403 403 404
POST workplaces:worklist_handed_over section=collection,pk=handoff  login 404 302 403 403 404
POST workplaces:worklist_approve     section=letters,pk=letter      login 404 302 403 403 404
POST workplaces:worklist_cancel      section=sends,pk=failed        login 404 302 403 403 404
POST workplaces:worklist_retry       section=sends,pk=failed        login 404 302 403 403 404
POST workplaces:worklist_mark_sent   section=sends,pk=unknown       login 404 302 403 403 404
POST workplaces:worklist_resolve     section=disputes,pk=dispute    login 404 302 403 403 404
GET  customers:preferences           -                              login 200 200 200 200 200
POST customers:preferences           -                              login 200 200 200 200 200
POST customers:language              -                              login 302 302 302 302 302
GET  customers:customer_create       -                              login 403 200 403 403 403
POST customers:customer_create       -                              login 403 200 403 403 403
GET  customers:customer_edit         pk=customer                    login 404 200 403 403 404
POST customers:customer_edit         pk=customer                    login 404 200 403 403 404
GET  customers:contact_create        pk=customer                    login 404 200 403 403 404
POST customers:contact_create        pk=customer                    login 404 200 403 403 404
GET  customers:contact_edit          pk=customer,contact_pk=contact login 404 200 403 403 404
POST customers:contact_edit          pk=customer,contact_pk=contact login 404 200 403 403 404
GET  receivables:invoice_list        -                              login 200 200 200 200 200
GET  receivables:invoice_detail      pk=invoice                     login 404 200 200 200 404
GET  receivables:invoice_edit        pk=invoice                     login 404 200 403 403 404
POST receivables:invoice_edit        pk=invoice                     login 404 200 403 403 404
GET  receivables:invoice_create      customer_pk=customer           login 404 200 403 403 404
POST receivables:invoice_create      customer_pk=customer           login 404 200 403 403 404
GET  receivables:payment_create      customer_pk=customer           login 404 200 403 403 404
POST receivables:payment_create      customer_pk=customer           login 404 200 403 403 404
GET  receivables:credit_note_create  customer_pk=customer           login 404 200 403 403 404
POST receivables:credit_note_create  customer_pk=customer           login 404 200 403 403 404
GET  receivables:credit_apply        customer_pk=customer           login 404 200 403 403 404
POST receivables:credit_apply        customer_pk=customer           login 404 200 403 403 404
GET  receivables:write_off           customer_pk=customer           login 404 200 403 403 404
POST receivables:write_off           customer_pk=customer           login 404 200 403 403 404
GET  receivables:payment_reallocate  pk=payment                     login 404 200 403 403 404
POST receivables:payment_reallocate  pk=payment                     login 404 200 403 403 404
GET  receivables:aged_balance        -                              login 200 200 200 200 200
GET  receivables:aged_balance_csv    -                              login 403 200 200 200 200
GET  receivables:aged_balance_xlsx   -                              login 403 200 200 200 200
GET  reminders:preview               -                              login 200 200 200 200 200
GET  reminders:customer_actions      pk=customer                    login 404 200 200 200 404
POST reminders:send_now              pk=customer                    login 404 200 403 403 404
GET  reminders:log_call              pk=customer                    login 404 200 403 200 404
POST reminders:log_call              pk=customer                    login 404 200 403 200 404
GET  reminders:record_promise        pk=customer                    login 404 200 403 200 404
POST reminders:record_promise        pk=customer                    login 404 200 403 200 404
GET  reminders:pause                 pk=customer                    login 404 200 403 403 404
POST reminders:pause                 pk=customer                    login 404 200 403 403 404
GET  reminders:open_dispute          pk=customer                    login 404 200 403 403 404
POST reminders:open_dispute          pk=customer                    login 404 200 403 403 404
POST reminders:resolve_dispute       pk=dispute                     login 404 302 403 403 404
GET  reports:home                    -                              login 403 200 200 403 403
POST reports:snapshot_create         -                              login 403 400 400 403 403
GET  reports:snapshot_detail         pk=snapshot                    login 403 200 200 403 403
GET  reports:snapshot_csv            pk=snapshot                    login 403 200 200 403 403
GET  reports:snapshot_xlsx           pk=snapshot                    login 403 200 200 403 403
GET  reports:snapshot_pdf            pk=snapshot                    login 403 200 200 403 403
GET  letters:list                    -                              login 403 200 200 403 403
GET  letters:detail                  pk=letter                      login 403 200 200 403 403
GET  letters:preview                 pk=letter                      login 403 200 200 403 403
GET  letters:pdf                     pk=posted                      login 403 200 200 403 403
POST letters:approve                 pk=letter                      login 403 302 403 403 403
POST letters:cancel                  pk=letter                      login 403 302 403 403 403
POST letters:post                    pk=letter                      login 403 302 403 403 403
GET  letters:recovery_file           customer_pk=customer           login 403 200 200 403 403
GET  receivables:invoice_pdf         pk=pdf_invoice                 login 404 200 200 200 404
GET  imports:home                    -                              login 403 200 403 403 403
GET  imports:upload                  -                              login 405 405 405 405 405
POST imports:upload                  -                              login 403 400 403 403 403
GET  imports:run                     pk=importrun                   login 403 200 403 403 403
POST imports:run_map                 pk=importrun                   login 403 400 403 403 403
POST imports:run_confirm             pk=importrun                   login 403 302 403 403 403
POST imports:run_commit              pk=importrun                   login 403 302 403 403 403
GET  imports:run_download            pk=importrun                   login 403 200 403 403 403
GET  imports:bank_queue              -                              login 403 200 403 403 403
POST imports:bank_confirm            pk=bankline                    login 403 302 403 403 403
POST imports:bank_split              pk=bankline                    login 403 302 403 403 403
POST imports:bank_assign             pk=bankline                    login 403 302 403 403 403
POST imports:bank_set_aside          pk=bankline                    login 403 302 403 403 403
POST imports:bank_undo               pk=bankline                    login 403 302 403 403 403
POST workplaces:portal_link_issue    pk=customer                    login 404 302 403 403 404
POST workplaces:portal_link_revoke   pk=customer                    login 404 302 403 403 404
GET  workplaces:portal_file          pk=customer,kind=proof,file_pk=claim login 404 200 403 403 404
GET  portal:home                     token=portal_token             200   200 200 200 200 200
GET  portal:invoice_pdf              token=portal_token,pk=pdf_invoice 200 200 200 200 200 200
POST portal:paid                     token=portal_token             400   400 400 400 400 400
POST portal:promise                  token=portal_token             400   400 400 400 400 400
POST portal:dispute                  token=portal_token             400   400 400 400 400 400
POST portal:copy                     token=portal_token             400   400 400 400 400 400
POST portal:send_to                  token=portal_token             400   400 400 400 400 400
GET  password_reset                  -                              200   200 200 200 200 200
POST password_reset                  -                              200   200 200 200 200 200
GET  password_reset_done             -                              200   200 200 200 200 200
GET  password_reset_confirm          uidb64=x,token=y               200   200 200 200 200 200
POST password_reset_confirm          uidb64=x,token=y               200   200 200 200 200 200
GET  password_reset_complete         -                              200   200 200 200 200 200
POST customers:token_create          -                              login 200 200 200 200 200
POST customers:token_revoke          pk=token                       login 404 404 404 302 404
GET  api:api-root                    -                              404   404 404 404 404 404
GET  api:openapi-json                -                              200   200 200 200 200 200
GET  api:openapi-view                -                              200   200 200 200 200 200
GET  api:customers                   -                              401   200 200 200 200 200
POST api:customers                   -                              401   403 422 403 403 403
GET  api:customer                    customer_id=customer           401   404 200 200 200 404
GET  api:invoices                    -                              401   200 200 200 200 200
POST api:invoices                    -                              401   403 422 403 403 403
GET  api:invoice                     invoice_id=invoice             401   404 200 200 200 404
GET  api:invoice_by_number           number=M-1                     401   404 200 200 200 404
POST api:credit_notes                -                              401   403 422 403 403 403
GET  api:payments                    -                              401   200 200 200 200 200
POST api:payments                    -                              401   403 422 403 403 403
GET  api:payment                     payment_id=payment             401   404 200 200 200 404
GET  api:aged_balance                -                              401   200 200 200 200 200
GET  api:disputes                    -                              401   200 200 200 200 200
POST api:disputes                    -                              401   403 422 403 403 403
POST api:dispute_resolve             dispute_id=dispute             401   403 200 403 403 403
GET  api:promises                    -                              401   200 200 200 200 200
POST api:promises                    -                              401   403 422 403 422 422
GET  api:activities                  -                              401   200 200 200 200 200
POST api:activities                  -                              401   403 422 403 422 422
GET  api:reminders                   -                              401   200 200 200 200 200
GET  api:imports                     -                              401   403 200 403 403 403
POST api:imports                     -                              401   403 422 403 403 403
GET  api:import_run                  run_id=importrun               401   403 200 403 403 403
POST api:import_commit               run_id=importrun               401   403 422 403 403 403
"""  # noqa: E501  (the logout row: a redirect to the login page for all)


@dataclass(frozen=True)
class Row:
    method: str
    name: str
    params: dict[str, str]
    expected: tuple[str, ...]


def parse_matrix(table: str) -> dict[tuple[str, str], Row]:
    rows: dict[tuple[str, str], Row] = {}
    for number, line in enumerate(table.strip().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        method, name, params, *expected = line.split()
        assert method in ("GET", "POST"), f"MATRIX line {number}: GET or POST, not {method}"
        assert len(expected) == len(ROLES), f"MATRIX line {number}: {len(ROLES)} statuses"
        assert (method, name) not in rows, f"MATRIX line {number}: {method} {name} twice"
        pairs = [] if params == "-" else [p.split("=", 1) for p in params.split(",")]
        rows[method, name] = Row(method, name, dict(pairs), tuple(expected))
    return rows


MATRIX = parse_matrix(MATRIX_TABLE)


# --- the walk ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    route: str  # the full pattern, e.g. "receivables/invoices/<int:pk>/"
    name: str | None  # "namespace:name"
    params: tuple[str, ...]


PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>")


def walk(resolver: URLResolver, prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if route.lstrip("^").startswith(EXCLUDED_PREFIXES):
            continue
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry, route, inner)
        elif isinstance(entry, URLPattern):
            view = getattr(entry.callback, "__wrapped__", entry.callback)
            if view in EXCLUDED_VIEWS or entry.callback in EXCLUDED_VIEWS:
                continue
            params = tuple(a or b for a, b in PARAM.findall(route))
            name = f"{namespace}{entry.name}" if entry.name else None
            yield Route(route, name, params)


def all_routes() -> list[Route]:
    return list(walk(get_resolver()))


def suggested_row(route: Route, method: str = "GET", statuses: str = "") -> str:
    params = ",".join(f"{p}=?" for p in route.params) or "-"
    return f"{method:<5}{route.name} {params} {statuses or ' '.join('?' for _ in ROLES)}"


def test_every_route_has_a_row_and_every_row_a_route():
    routes = all_routes()
    unnamed = [r.route for r in routes if r.name is None]
    assert not unnamed, f"Routes without a name (name them, then add their rows): {unnamed}"
    names = [r.name for r in routes]
    twice = sorted({n for n in names if names.count(n) > 1})
    assert not twice, f"Route names used by several routes (make them unique): {twice}"
    in_matrix = {name for _method, name in MATRIX}
    missing = [
        f"  /{r.route} ({r.name}):  {suggested_row(r)}" for r in routes if r.name not in in_matrix
    ]
    assert not missing, "Routes with no row in MATRIX_TABLE: decide who may use them\n" + (
        "\n".join(missing)
    )
    gone = sorted(in_matrix - set(names))
    assert not gone, f"MATRIX_TABLE has rows for routes that no longer exist: {gone}"
    by_name = {r.name: r for r in routes}
    for (method, name), row in MATRIX.items():
        wanted = set(by_name[name].params)
        assert set(row.params) == wanted, (
            f"{method} {name}: the row gives {sorted(row.params)}, the route takes {sorted(wanted)}"
        )


# --- the people and the rows they ask for ------------------------------------------------


def step(position: int) -> ScenarioStep:
    return ScenarioStep.objects.get(scenario__is_default=True, position=position)


def reminder(customer, channel: str, status: str, position: int, **kwargs: Any) -> Reminder:
    return Reminder.objects.create(
        customer=customer,
        step=step(position),
        channel=channel,
        status=status,
        run_date=timezone.localdate(),
        **kwargs,
    )


@pytest.fixture
def world(
    sales_user, other_sales_user, finance_user, manager_user, company_profile, settings, tmp_path
) -> dict[str, Any]:
    """The people, and one row of every kind a route takes, all on the customer of the
    owning sales rep (``sales_user``)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    C, S = Reminder.Channel, Reminder.Status
    customer = make_reminder_customer("MATRIX", sales_rep=sales_user)
    invoice = make_invoice(
        customer, number="M-1", issue_date=today - 70 * day, due_date=today - 40 * day
    )
    letter = reminder(customer, C.LETTER, S.AWAITING_APPROVAL, 4)
    ReminderItem.objects.create(
        reminder=letter,
        installment=invoice.installments.get(),
        step=letter.step,
        amount_left=invoice.amount,
        days_late=40,
    )
    posted = reminder(customer, C.LETTER, S.SENT, 4, sent_at=timezone.now())
    posted.pdf.save("posted.pdf", ContentFile(b"%PDF-1.7 posted"))
    other_invoice = make_invoice(
        customer, number="M-2", issue_date=today - 60 * day, due_date=today - 30 * day
    )
    pdf_invoice = make_invoice(
        customer, number="M-3", issue_date=today - 20 * day, due_date=today + 10 * day
    )
    pdf_invoice.pdf.save("m-3.pdf", ContentFile(b"%PDF-1.7 invoice"))
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    import_run = ImportRun.objects.create(
        created_by=finance_user,
        file_name="f.csv",
        sha256="0" * 64,
        size=1,
        kind=ImportRun.Kind.INVOICES,
        columns=["a", "b"],
    )
    import_run.file.save("f.csv", ContentFile(b"a,b\n1,2\n"))
    claim = PaymentClaim.objects.create(
        customer=customer, paid_on=today - day, amount=Decimal("10.00"), hold_until=today
    )
    claim.proof.save("proof.pdf", ContentFile(b"%PDF-1.7 proof"))
    users = {
        "norole": make_user(None, "norole_t"),
        "finance": finance_user,
        "manager": manager_user,
        "owner": sales_user,
        "other": other_sales_user,
    }
    return {
        "users": users,
        # The API's people: a personal token each (sent as "Authorization: Bearer").
        "tokens": {role: token_create(user=u, name="matrix")[1] for role, u in users.items()},
        "token": token_create(user=sales_user, name="revocable")[0],
        "customer": customer,
        "contact": Contact.objects.filter(customer=customer).first(),
        "invoice": invoice,
        "payment": make_payment(customer, date=today - 5 * day, amount="10.00"),
        "pdf_invoice": pdf_invoice,
        "importrun": import_run,
        "claim": claim,
        # The customer's page is reached by its link, whoever asks (no login).
        "portal_token": token_for(customer.pk),
        "bankline": BankTransaction.objects.create(
            import_key="matrix-1",
            date=today - day,
            amount=Decimal("42.00"),
            currency="EUR",
            direction=BankTransaction.Direction.CREDIT,
            status=BankTransaction.Status.UNMATCHED,
            remittance="M-1",
        ),
        "dispute": Dispute.objects.create(invoice=other_invoice, reason=Dispute.Reason.PRICE),
        "letter": letter,
        "posted": posted,
        "snapshot": snapshot_take_month_end(today=today),
        # The worklist's rows, one per section an action takes.
        "task": reminder(customer, C.PHONE, S.TODO, 3),
        "handoff": reminder(customer, C.COLLECTION, S.TODO, 5),
        "failed": reminder(customer, C.EMAIL, S.FAILED, 1, attempts=1),
        "unknown": reminder(customer, C.EMAIL, S.UNKNOWN, 2, attempts=1),
        "followup": Activity.objects.create(
            customer=customer,
            kind=Activity.Kind.NOTE,
            author=finance_user,
            summary="Call back",
            next_action_date=today - day,
        ),
        "promise": PromiseToPay.objects.create(
            customer=customer,
            promised_date=today - 5 * day,
            amount=Decimal("100.00"),
            status=PromiseToPay.Status.BROKEN,
            recorded_by=finance_user,
        ),
    }


@pytest.fixture(autouse=True)
def no_pdf_rendering(monkeypatch):
    """Who gets a PDF is what is checked here, not the PDF (WeasyPrint is slow)."""
    fake = lambda html, **kwargs: b"%PDF-1.7 fake"  # noqa: E731
    for module in ("core.pdf", "reminders.letters.context", "reminders.letters.recovery"):
        monkeypatch.setattr(f"{module}.render_pdf", fake)


def url_of(route: Route, row: Row | None, world: dict[str, Any]) -> str:
    params = row.params if row else {}
    kwargs = {}
    for param in route.params:
        value = params.get(param, "?")
        target = world.get(value)
        kwargs[param] = (
            target.pk if hasattr(target, "pk") else target if isinstance(target, str) else value
        )
    return reverse(route.name, kwargs=kwargs)


def outcome(response) -> str:
    if response.status_code == 302 and urlsplit(response["Location"]).path == reverse("login"):
        return "login"
    return str(response.status_code)


def ask(client, world, role: str, method: str, url: str) -> str:
    """One request, its writes rolled back: each person finds the rows as they were made.
    The API (/api/) is asked with each person's token instead of a session, a POST with
    an empty JSON object."""
    client.logout()
    headers = {"accept-language": "en"}
    kwargs: dict[str, Any] = {}
    if url.startswith(API_PREFIX):
        if role != "anonymous":
            headers["Authorization"] = f"Bearer {world['tokens'][role]}"
        if method == "POST":
            kwargs = {"data": "{}", "content_type": "application/json"}
    elif role != "anonymous":
        client.force_login(world["users"][role])
    send = client.get if method == "GET" else client.post
    with transaction.atomic():
        response = send(url, headers=headers, **kwargs)
        transaction.set_rollback(True)
    return outcome(response)


API_PREFIX = "/api/"


@pytest.mark.parametrize("route", all_routes(), ids=lambda r: r.name or r.route)
def test_route_answers_each_person_as_the_matrix_says(client, world, route):
    if not any(name == route.name for _method, name in MATRIX):
        # What it answers now, when it takes no parameter: a start for its rows.
        observed = ""
        if not route.params:
            for method in ("GET", "POST"):
                got = [ask(client, world, role, method, reverse(route.name)) for role in ROLES]
                observed += f"\n  now answering:  {suggested_row(route, method, ' '.join(got))}"
        pytest.fail(
            f"/{route.route} ({route.name}) has no row in MATRIX_TABLE: decide who may use "
            f"it, with a line such as\n  {suggested_row(route)}{observed}"
        )
    problems = []
    for method in ("GET", "POST"):
        row = MATRIX.get((method, route.name))
        other = MATRIX.get(("POST" if method == "GET" else "GET", route.name))
        url = url_of(route, row or other, world)
        got = tuple(ask(client, world, role, method, url) for role in ROLES)
        if row is None and any(status != "405" for status in got[1:]):
            problems.append(
                f"{method} {url} is accepted but has no row: add (after checking it)\n"
                f"  {suggested_row(route, method, ' '.join(got))}"
            )
        elif row is not None and got != row.expected:
            problems.append(
                f"{method} {url} ({route.name}), for {', '.join(ROLES)}:\n"
                f"    expected {' '.join(row.expected)}\n"
                f"    got      {' '.join(got)}"
            )
    assert not problems, "\n".join(problems)
