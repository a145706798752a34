"""The permission matrix of every page: anonymous, another sales rep, the owning sales rep,
finance staff and a manager. Scoping comes from ``visible_to`` (core/access.py):
what a sales rep may not see answers 404 on detail pages and is absent from lists,
downloads and totals. What a role may *do* comes from ``access.may(user, action)`` and
its one table; the matrix below pins that table, and one page per action answers 403
exactly when ``may`` says no."""

import datetime
from urllib.parse import urlsplit

import pytest
from django.template import Context, Template
from django.urls import reverse

from core import access
from core.access import Action
from customers.models import Activity
from receivables.models import Dispute, PromiseToPay
from tests.factories import CustomerFactory, make_invoice, make_payment, make_user

pytestmark = pytest.mark.django_db
AS_OF = "2026-04-15"

# (URL name, the object whose pk it takes: the owned customer or invoice, or None)
PAGES = [
    ("workplaces:customer_list", None),
    ("workplaces:customer_detail", "customer"),
    ("receivables:invoice_list", None),
    ("receivables:invoice_detail", "invoice"),
    ("receivables:aged_balance", None),
    ("receivables:aged_balance_csv", None),
    ("receivables:aged_balance_xlsx", None),
]
DETAIL_PAGES = [p for p in PAGES if p[1]]
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}  # the CSV in DESIGN.md's contract (a French user's differs)
ROLES = ["owner", "other_sales", "finance", "manager"]


@pytest.fixture
def world(sales_user, other_sales_user, finance_user, manager_user):
    """``owned`` belongs to sales_user; ``foreign`` to other_sales_user."""
    owned = CustomerFactory(customer_ref="411OWNED", name="Owned SARL", sales_rep=sales_user)
    foreign = CustomerFactory(
        customer_ref="411FOREIGN", name="Foreign SA", sales_rep=other_sales_user
    )
    own_invoice = make_invoice(
        owned, number="OWN-1", issue_date=datetime.date(2026, 1, 1), amount="1000.00"
    )
    make_invoice(foreign, number="FOR-1", issue_date=datetime.date(2026, 1, 1), amount="70.00")
    return {
        "users": {
            "owner": sales_user,
            "other_sales": other_sales_user,
            "finance": finance_user,
            "manager": manager_user,
        },
        "customer": owned,
        "invoice": own_invoice,
    }


def url_for(world, name, obj):
    args = [world[obj].pk] if obj else []
    url = reverse(name, args=args)
    return f"{url}?as_of={AS_OF}" if "aged_balance" in name else url


@pytest.mark.parametrize(("name", "obj"), PAGES)
def test_anonymous_is_sent_to_login(client, world, name, obj):
    url = url_for(world, name, obj)
    response = client.get(url)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("login")
    assert "next=" in location.query


def test_home_needs_login_too(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("login")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "obj"), PAGES)
def test_matrix(client, world, name, obj, role):
    client.force_login(world["users"][role])
    response = client.get(url_for(world, name, obj))
    expected = 404 if (obj and role == "other_sales") else 200
    assert response.status_code == expected


@pytest.mark.parametrize("role", ["owner", "finance", "manager"])
def test_lists_show_the_owned_customer(client, world, role):
    client.force_login(world["users"][role])
    assert "Owned SARL" in client.get(reverse("workplaces:customer_list")).content.decode()
    assert "OWN-1" in client.get(reverse("receivables:invoice_list")).content.decode()
    ab = client.get(reverse("receivables:aged_balance"), {"as_of": AS_OF}).context["ab"]
    assert "411OWNED" in [r["customer_ref"] for r in ab.rows]


def test_other_sales_rep_does_not_see_the_owned_customer_anywhere(client, world):
    client.force_login(world["users"]["other_sales"])
    customers = client.get(reverse("workplaces:customer_list")).content.decode()
    assert "Owned SARL" not in customers and "Foreign SA" in customers
    invoices = client.get(reverse("receivables:invoice_list")).content.decode()
    assert "OWN-1" not in invoices and "FOR-1" in invoices
    ab = client.get(reverse("receivables:aged_balance"), {"as_of": AS_OF}).context["ab"]
    assert [r["customer_ref"] for r in ab.rows] == ["411FOREIGN"]
    assert str(ab.totals["total"]) == "70.00"
    csv = client.get(
        reverse("receivables:aged_balance_csv"), {"as_of": AS_OF}, **EN
    ).content.decode()
    assert "411OWNED" not in csv
    assert csv.splitlines()[-1] == "TOTAL,,0.00,0.00,0.00,70.00,0.00,70.00"
    # Searching by name or reference does not reveal it either.
    search = client.get(reverse("workplaces:customer_list"), {"q": "OWNED"})
    assert list(search.context["page"].object_list) == []
    search = client.get(reverse("receivables:invoice_list"), {"q": "OWN-1"})
    assert list(search.context["page"].object_list) == []


@pytest.mark.parametrize("role", ["finance", "manager"])
def test_finance_and_managers_see_every_customer_in_totals(client, world, role):
    client.force_login(world["users"][role])
    csv = client.get(
        reverse("receivables:aged_balance_csv"), {"as_of": AS_OF}, **EN
    ).content.decode()
    assert csv.splitlines()[-1] == "TOTAL,,0.00,0.00,0.00,1070.00,0.00,1070.00"


@pytest.mark.parametrize(("name", "obj"), DETAIL_PAGES)
def test_user_without_a_role_sees_nothing(client, world, name, obj):
    client.force_login(make_user(None, "norole_t"))
    assert client.get(url_for(world, name, obj)).status_code == 404
    assert list(client.get(reverse("workplaces:customer_list")).context["page"].object_list) == []


def test_user_without_a_role_cannot_download(client, world):
    client.force_login(make_user(None, "norole_t"))
    assert client.get(reverse("receivables:aged_balance_csv")).status_code == 403
    assert client.get(reverse("receivables:aged_balance_xlsx")).status_code == 403


def test_login_page_is_public_and_styled(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/css/app.css" in html
    assert 'name="username"' in html and 'name="password"' in html


ADMIN_MODELS = [
    "customers/customer",
    "customers/activity",
    "receivables/invoice",
    "receivables/payment",
    "receivables/dispute",
    "receivables/promisetopay",
]


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_admin_pages_open_for_a_superuser(client, world, model):
    owned = world["customer"]
    Activity.objects.create(customer=owned, kind=Activity.Kind.NOTE, summary="Note")
    Dispute.objects.create(invoice=world["invoice"], reason=Dispute.Reason.OTHER)
    PromiseToPay.objects.create(
        customer=owned, promised_date=datetime.date(2026, 5, 1), amount="10.00"
    )
    make_payment(owned, date=datetime.date(2026, 2, 1), amount="100.00")
    admin = make_user(None, "admin_t")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    changelist = client.get(f"/admin/{model}/")
    assert changelist.status_code == 200
    obj = changelist.context["cl"].result_list[0]
    assert client.get(f"/admin/{model}/{obj.pk}/change/").status_code == 200
    # Ledger rows come from the services; the timeline is read-only.
    can_add = model not in ("receivables/invoice", "receivables/payment", "customers/activity")
    assert client.get(f"/admin/{model}/add/").status_code == (200 if can_add else 403)


def test_admin_refuses_sales_reps(client, world):
    client.force_login(world["users"]["owner"])
    assert client.get("/admin/customers/customer/").status_code == 302


# --- Actions: role x action -> allowed ---------------------------------------------------

# The rights of each role, written out once more by hand: changing core/access.py's table
# must change this one too, on purpose.
EXPECTED_RIGHTS = {
    "finance": set(Action),
    "manager": {
        Action.VIEW_ALL,
        Action.VIEW_LETTERS,
        Action.EXPORT,
        Action.DOWNLOAD_AGED_BALANCE,
        Action.VIEW_REPORTS,
        Action.TAKE_SNAPSHOTS,
    },
    "sales": {Action.ADD_NOTES, Action.DOWNLOAD_AGED_BALANCE},
    "superuser": set(Action),
    "no role": set(),
}


def user_with(role: str):
    if role == "superuser":
        user = make_user(None, "super_t")
        user.is_superuser = True
        user.save()
        return user
    return make_user(None if role == "no role" else role, f"{role.replace(' ', '_')}_m")


def test_the_table_is_the_expected_one():
    assert {role: set(rights) for role, rights in access.RIGHTS.items()} == {
        role: EXPECTED_RIGHTS[role] for role in access.ROLES
    }


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", list(EXPECTED_RIGHTS))
def test_may_matrix(role, action):
    user = user_with(role)
    allowed = action in EXPECTED_RIGHTS[role]
    assert access.may(user, action) is allowed
    assert access.may(user, action.value) is allowed  # the plain name works too
    assert access.Permissions(user)[action.name] is allowed


def test_anonymous_may_do_nothing():
    from django.contrib.auth.models import AnonymousUser

    assert not any(access.may(AnonymousUser(), action) for action in Action)


def test_rights_of_several_roles_add_up():
    user = make_user(access.SALES, "sales_and_manager")
    user.groups.add(make_user(access.MANAGER, "manager_m").groups.get())
    assert access.rights(user) == EXPECTED_RIGHTS["sales"] | EXPECTED_RIGHTS["manager"]


def test_an_unknown_action_raises(finance_user):
    with pytest.raises(access.UnknownAction):
        access.may(finance_user, "edit_everything")
    with pytest.raises(access.UnknownAction):
        access.require(finance_user, "edit_everything")


def test_an_unknown_action_in_a_template_raises_instead_of_saying_no(finance_user):
    template = Template("{% if may.EDIT_LEDGER %}y{% endif %}{% if may.EDTI_LEDGER %}!{% endif %}")
    with pytest.raises(access.UnknownAction):
        template.render(Context({"may": access.Permissions(finance_user)}))
    ok = Template("{% if may.EDIT_LEDGER %}yes{% else %}no{% endif %}")
    assert ok.render(Context({"may": access.Permissions(finance_user)})) == "yes"


def test_the_context_processor_offers_may_to_every_page(client, world):
    client.force_login(world["users"]["manager"])
    response = client.get(reverse("workplaces:customer_list"))
    assert response.context["may"]["VIEW_REPORTS"] is True
    assert response.context["may"]["EDIT_LEDGER"] is False


# One page per action, the one that action guards (GET unless said), and its object:
# allowed -> anything but 403, refused -> 403.
ACTION_PAGES = [
    (Action.VIEW_ALL, "workplaces:dashboard", None, "get"),
    (Action.EDIT_LEDGER, "receivables:invoice_create", "customer", "get"),
    (Action.VIEW_LETTERS, "letters:list", None, "get"),
    (Action.APPROVE_LETTERS, "letters:approve", "missing", "post"),
    (Action.ADD_NOTES, "reminders:log_call", "customer", "get"),
    (Action.EXPORT, "reports:snapshot_csv", "missing", "get"),
    (Action.DOWNLOAD_AGED_BALANCE, "receivables:aged_balance_csv", None, "get"),
    (Action.VIEW_REPORTS, "reports:home", None, "get"),
    (Action.TAKE_SNAPSHOTS, "reports:snapshot_create", None, "post"),
]


@pytest.mark.parametrize("role", ["owner", "finance", "manager"])
@pytest.mark.parametrize(("action", "name", "obj", "method"), ACTION_PAGES)
def test_each_action_guards_its_page(client, world, role, action, name, obj, method):
    user = world["users"][role]
    client.force_login(user)
    args = {None: [], "customer": [world["customer"].pk], "missing": [999999]}[obj]
    response = getattr(client, method)(reverse(name, args=args), {"as_of": AS_OF})
    allowed = action in EXPECTED_RIGHTS["sales" if role == "owner" else role]
    assert (response.status_code == 403) is not allowed, response.status_code
