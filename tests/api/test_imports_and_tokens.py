"""Import runs through the API (upload, poll, commit), the preferences page's tokens, and
lists whose queries do not grow with their rows."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.models import ApiToken
from core.tokens import digest_of
from customers.models import Activity
from receivables.models import Invoice
from tests.factories import make_invoice, make_payment

pytestmark = pytest.mark.django_db

CSV = (
    b"customer_ref,customer_name,invoice_number,issue_date,due_date,amount\n"
    b"411IMP,Import SAS,IMP-1,2026-11-02,2026-12-02,120.00\n"
)


@pytest.fixture(autouse=True)
def storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    settings.MEDIA_ROOT = tmp_path / "media"


def test_upload_poll_and_commit_an_import(api_for, finance_user, sales_user):
    api = api_for(finance_user)
    upload = api.client.post(
        "/api/v1/imports",
        {"file": SimpleUploadedFile("invoices.csv", CSV, content_type="text/csv")},
        headers=api._headers(None),
    )
    assert upload.status_code == 201, upload.content
    run = upload.json()
    assert (run["kind"], run["status"], run["can_commit"]) == ("invoices", "previewed", True)
    polled = api.get(f"/api/v1/imports/{run['id']}").json()
    assert polled["status"] == "previewed"
    assert not Invoice.objects.filter(number="IMP-1").exists()
    done = api.post(f"/api/v1/imports/{run['id']}/commit")
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "imported"
    assert Invoice.objects.filter(number="IMP-1").exists()
    again = api.post(f"/api/v1/imports/{run['id']}/commit")
    assert again.status_code == 422
    assert api_for(sales_user).get(f"/api/v1/imports/{run['id']}").status_code == 403


def test_a_token_is_shown_once_stored_hashed_and_revocable(client, sales_user):
    client.force_login(sales_user)
    page = client.post(
        reverse("customers:token_create"), {"name": "Compta sync", "read_only": "on"}
    )
    assert page.status_code == 200
    secret = page.context["new_token"]
    assert secret.startswith("rel_") and len(secret) > 40
    assert page["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(user=sales_user)
    assert token.digest == digest_of(secret) and secret not in (token.digest, token.prefix)
    assert token.read_only
    again = client.get(reverse("customers:preferences"))
    assert secret not in again.content.decode()
    assert token.prefix in again.content.decode()
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/customers", headers=bearer).status_code == 200
    revoked = client.post(reverse("customers:token_revoke", args=[token.pk]))
    assert revoked.status_code == 302
    client.logout()
    assert client.get("/api/v1/customers", headers=bearer).status_code == 401


def test_a_token_needs_a_name_and_no_past_expiry(client, sales_user):
    client.force_login(sales_user)
    page = client.post(reverse("customers:token_create"), {"name": " ", "expires_on": "2020-01-01"})
    assert page.status_code == 200
    assert page.context["token_form"].errors
    assert not ApiToken.objects.exists()


def test_another_users_token_cannot_be_revoked(client, sales_user, other_sales_user):
    from core.tokens import token_create

    token, _secret = token_create(user=other_sales_user, name="theirs")
    client.force_login(sales_user)
    assert client.post(reverse("customers:token_revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.parametrize(
    "url", ["/api/v1/invoices", "/api/v1/payments", "/api/v1/customers", "/api/v1/activities"]
)
def test_lists_run_the_same_queries_with_2_or_20_rows(api_for, finance_user, customer, url):
    api = api_for(finance_user)
    api.get(url)  # the token's last use is recorded once

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(url).status_code == 200
        return len(ctx.captured_queries)

    def add(numbers: range) -> None:
        for n in numbers:
            make_invoice(customer, number=f"Q-{n}")
            make_payment(customer, date=timezone.localdate(), amount="1.00")
            Activity.objects.create(customer=customer, kind=Activity.Kind.NOTE, summary=f"{n}")

    add(range(2))
    small = count()
    add(range(2, 20))
    assert count() == small
