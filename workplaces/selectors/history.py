"""The customer's history page: the audit trail (core/audit.py) of the customer, its
contacts, its invoices, its payments and its reminder scenario, newest first, each
change with who made it and its old and new values.

Read through pghistory's ``Events``, which gathers the event tables of every model that
references the customer and computes each event's difference with the previous one of
the same row, in one query. PostgreSQL only, as the trail is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db import models
from django.utils.translation import gettext_lazy as _
from pghistory.models import Events

from core import audit
from customers.models import Customer

HISTORY_LIMIT = 200
"""The newest changes shown; older ones are in the admin's event lists."""

LABELS = {"insert": _("Creation"), "update": _("Change"), "delete": _("Deletion")}


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class Change:
    at: datetime
    kind: str
    action: str
    object_id: str
    actor: str
    via: str
    fields: list[FieldChange] = field(default_factory=list)


def _columns(model: type[models.Model]) -> dict[str | None, models.Field]:
    """The model's fields by column name (a snapshot's keys), leaving out the automatic
    timestamps, whose change says nothing."""
    return {
        f.column: f
        for f in model._meta.concrete_fields
        if not getattr(f, "auto_now", False) and not getattr(f, "auto_now_add", False)
    }


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return str(value)


def customer_history(*, customer: Customer, limit: int = HISTORY_LIMIT) -> list[Change]:
    """The newest ``limit`` changes of the customer and of the rows that reference it."""
    if not audit.recorded():
        return []
    events = Events.objects.references(customer).order_by("-pgh_created_at", "-pgh_id")
    changes = []
    for event in events[:limit]:
        model = apps.get_model(event.pgh_obj_model)
        columns = _columns(model)
        fields = []
        if event.pgh_label == "update":
            for column, (old, new) in sorted((event.pgh_diff or {}).items()):
                if column in columns:
                    name = str(columns[column].verbose_name)
                    fields.append(FieldChange(field=name, old=_shown(old), new=_shown(new)))
            if not fields:
                continue  # only a timestamp moved
        context = event.pgh_context or {}
        changes.append(
            Change(
                at=event.pgh_created_at,
                kind=str(model._meta.verbose_name),
                action=str(LABELS.get(event.pgh_label, event.pgh_label)),
                object_id=str(event.pgh_obj_id),
                actor=audit.actor(context),
                via=str(context.get("url", "")),
                fields=fields,
            )
        )
    return changes
