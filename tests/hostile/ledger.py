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
