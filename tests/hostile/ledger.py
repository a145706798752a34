"""What "nothing changed" means: a fingerprint of every row of the ledger's tables."""

from __future__ import annotations

import hashlib

from django.apps import apps

# The apps whose rows are the ledger and its history (customers, contacts, invoices,
# installments, payments, allocations, disputes, promises, reminders, imports, bank lines).
LEDGER_APPS = ("customers", "receivables", "reminders", "workplaces")


def ledger_models() -> list:
    return [
        model
        for app in LEDGER_APPS
        if app in {c.label for c in apps.get_app_configs()}
        for model in apps.get_app_config(app).get_models()
        if not model._meta.proxy
    ]


def fingerprint() -> dict[str, str]:
    """Each table's rows, hashed: equal fingerprints mean no row added, removed or changed."""
    prints = {}
    for model in ledger_models():
        rows = model._base_manager.order_by("pk").values_list()
        digest = hashlib.sha256(repr(list(rows)).encode()).hexdigest()
        prints[model._meta.label] = digest
    return prints


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(label for label in before if before[label] != after.get(label))


ERROR_MARKS = (b"errorlist", b"field-error", b"form-errors", b"message-error")


def bound_form_with_errors(response) -> bool:
    """Whether the page shows a form posted with errors (read from the test client's
    captured template context, whatever the template's markup)."""
    from django.forms import BaseForm

    captured = response.context
    if captured is None:
        return False
    for context in captured if isinstance(captured, list) else [captured]:
        for layer in getattr(context, "dicts", [context]):
            for value in layer.values():
                if isinstance(value, BaseForm) and value.is_bound and value.errors:
                    return True
    return False


def refused(response) -> bool:
    """A 4xx, a form shown again with its errors, or an error message added by this
    request (not one left in the cookie by an earlier one)."""
    from django.contrib.messages import ERROR

    if response.status_code >= 400:
        return True
    if response.status_code == 200 and (
        bound_form_with_errors(response) or any(m in response.content for m in ERROR_MARKS)
    ):
        return True
    stored = getattr(response.wsgi_request, "_messages", None)
    return any(m.level >= ERROR for m in getattr(stored, "_queued_messages", ()))
