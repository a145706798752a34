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
