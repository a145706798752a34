"""Nothing is ever deleted from the ledger: the admin offers no deletion of invoices
(and credit notes), installments, payments, allocations or reminders, even to a
superuser, neither on a row nor as a bulk action nor through an inline."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import RequestFactory

from receivables.models import Allocation, Installment, Invoice, Payment
from reminders.models import Reminder, ReminderItem

LEDGER = (Invoice, Installment, Payment, Allocation, Reminder, ReminderItem)


@pytest.mark.django_db
def test_the_admin_deletes_no_ledger_row():
    request = RequestFactory().get("/admin/")
    request.user = User.objects.create_superuser("root_t", "root@example.com", "pw-test-1234")
    for model_admin in admin.site._registry.values():
        if model_admin.model in LEDGER:
            assert not model_admin.has_delete_permission(request), model_admin
            assert "delete_selected" not in model_admin.get_actions(request), model_admin
        for inline in model_admin.get_inline_instances(request):
            if inline.model in LEDGER:
                assert not inline.has_delete_permission(request), inline
    registered = {m for m in admin.site._registry if m in LEDGER}
    assert {Invoice, Payment, Reminder} <= registered


@pytest.mark.django_db
def test_delete_pages_answer_forbidden(client):
    from tests.factories import make_invoice

    invoice = make_invoice()
    User.objects.create_superuser("root_t", "root@example.com", "pw-test-1234")
    client.login(username="root_t", password="pw-test-1234")
    response = client.get(f"/admin/receivables/invoice/{invoice.pk}/delete/")
    assert response.status_code == 403
    assert Invoice.objects.filter(pk=invoice.pk).exists()


@pytest.mark.django_db
def test_the_timeline_is_read_only_in_the_admin(client):
    """The timeline (customers.Activity) can be read in the admin, not added, edited or
    deleted, not even by deleting its customer."""
    from customers.models import Activity
    from tests.factories import CustomerFactory

    customer = CustomerFactory()
    entry = Activity.objects.create(customer=customer, kind="note", summary="Called, promised")
    request = RequestFactory().get("/admin/")
    request.user = User.objects.create_superuser("root_t", "root@example.com", "pw-test-1234")
    model_admin = admin.site._registry[Activity]
    assert model_admin.has_view_permission(request, entry)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, entry)
    assert not model_admin.has_delete_permission(request, entry)
    assert "delete_selected" not in model_admin.get_actions(request)
    client.login(username="root_t", password="pw-test-1234")
    base = f"/admin/customers/activity/{entry.pk}"
    page = client.get(f"{base}/change/")
    assert page.status_code == 200 and 'name="summary"' not in page.content.decode()
    client.post(f"{base}/change/", {"customer": customer.pk, "kind": "note", "summary": "Edited"})
    assert client.get(f"{base}/delete/").status_code == 403
    assert client.post(f"{base}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/customers/activity/add/").status_code == 403
    # Deleting the customer would delete its timeline: refused too.
    client.post(f"/admin/customers/customer/{customer.pk}/delete/", {"post": "yes"})
    entry.refresh_from_db()
    assert entry.summary == "Called, promised"


@pytest.mark.django_db
def test_stored_files_are_linked_through_the_views_that_check_rights(client, settings, tmp_path):
    """The admin never links to /media/ (which nothing serves): an invoice's PDF and a
    formal notice's PDF are reached through the views that check who may see them."""
    from django.core.files.base import ContentFile
    from django.urls import reverse

    from tests.factories import make_invoice

    settings.MEDIA_ROOT = tmp_path
    invoice = make_invoice()
    invoice.pdf.save("f.pdf", ContentFile(b"%PDF-1.7"))
    from reminders.models import ScenarioStep

    letter = Reminder.objects.create(
        customer=invoice.customer,
        step=ScenarioStep.objects.order_by("-position").first(),
        channel=Reminder.Channel.LETTER,
        status=Reminder.Status.SENT,
        run_date=invoice.due_date,
    )
    letter.pdf.save("l.pdf", ContentFile(b"%PDF-1.7"))
    User.objects.create_superuser("root_t", "root@example.com", "pw-test-1234")
    client.login(username="root_t", password="pw-test-1234")
    page = client.get(f"/admin/receivables/invoice/{invoice.pk}/change/").content.decode()
    assert reverse("receivables:invoice_pdf", args=[invoice.pk]) in page
    assert settings.MEDIA_URL not in page
    page = client.get(f"/admin/reminders/reminder/{letter.pk}/change/").content.decode()
    assert reverse("letters:pdf", args=[letter.pk]) in page
    assert settings.MEDIA_URL not in page
