"""The audit trail's plumbing: who changed what, with the old and the new values.

The trail is django-pghistory's: each tracked model (customers, contacts, invoices,
installments, payments, allocations, the company profile, scenarios and their steps, a
customer's scenario) gets an event model in its own app (``<Model>Event``), filled by
PostgreSQL triggers on insert, update and delete. Being triggers, they also catch what
never goes through ``save()``: ``QuerySet.update()``, ``bulk_create``, raw SQL, data
migrations. Each app tracks its own models with :func:`track`, so the layers still only
point down.

Who did it is pghistory's *context*, written into every statement of a request, a
command or a task: ``user`` (id) and ``username`` plus ``url`` for a web request
(:class:`AuditMiddleware`), ``command`` for a management command (:class:`AuditedCommand`),
``task`` for a django-q2 task (:func:`audited_task`).

PostgreSQL only: SQLite has no triggers of that kind. pgtrigger installs nothing there
(its migration operations skip any other database), and the context, which pghistory
sends as ``set_config()`` before each statement, is only entered on PostgreSQL
(:func:`recorded`), so the embedded database works as before with an empty trail.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

import pghistory
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _


def recorded() -> bool:
    """Whether the database keeps the audit trail (PostgreSQL: yes; SQLite: no)."""
    return connection.vendor == "postgresql"


def track[M: type[Model]]() -> Callable[[M], M]:
    """The class decorator of a tracked model: every insert, update (when a value
    changes) and delete is stored as a snapshot in ``<Model>Event``, in the model's own
    app. Deleted rows keep their history (the event's link to the row is no constraint)."""
    return pghistory.track(
        pghistory.InsertEvent(),
        pghistory.UpdateEvent(),
        pghistory.DeleteEvent(),
        append_only=True,  # a trigger refuses any UPDATE or DELETE of an event
    )


@contextlib.contextmanager
def audit_context(**metadata: Any) -> Iterator[None]:
    """Tag every change made inside with ``metadata`` (nested contexts add to it).
    A no-op where the trail is not recorded. Also usable as a decorator."""
    if not recorded():
        yield
        return
    with pghistory.context(**metadata):
        yield


def many_writes() -> None:
    """Call before writing many rows of tracked models in the current transaction. Each
    audit trigger first asks whether ``pgtrigger.ignore`` names it; while that setting
    was never set, asking raises an error the function catches, a subtransaction per row
    that slows a long transaction more and more (20,000 invoices: 10 s, against 2 s).
    Set to an empty list (ignore nothing) for the rest of the transaction, it answers in
    a lookup. A list set by ``pgtrigger.ignore()`` is left alone. A no-op where the trail
    is not recorded."""
    if not recorded():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pgtrigger.ignore', '{}', true)"
            " WHERE COALESCE(current_setting('pgtrigger.ignore', true), '') = ''"
        )


class AuditMiddleware:
    """Tags the changes a request makes with its user and its path. Placed after the
    authentication middleware (it reads ``request.user``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not recorded():
            return self.get_response(request)
        user = getattr(request, "user", None)
        known = user is not None and user.is_authenticated
        with audit_context(
            user=user.pk if known else None,  # type: ignore[union-attr]
            username=user.get_username() if known else None,  # type: ignore[union-attr]
            url=request.path,
        ):
            return self.get_response(request)


class AuditedCommand(BaseCommand):
    """The base of every management command of the project: its changes carry the
    command's name (tests/test_audit.py checks that none is left out)."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        with audit_context(command=type(self).__module__.rsplit(".", 1)[-1]):
            return super().execute(*args, **options)


def audited_task[F: Callable[..., Any]](func: F) -> F:
    """Wraps a django-q2 task so that its changes carry the task's dotted name."""
    name = f"{func.__module__}.{func.__qualname__}"

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with audit_context(task=name):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def actor(metadata: dict[str, Any] | None) -> str:
    """Who or what made a change, from its context: the user, else the command or task."""
    metadata = metadata or {}
    if metadata.get("username"):
        return str(metadata["username"])
    if metadata.get("command"):
        return f"manage.py {metadata['command']}"
    if metadata.get("task"):
        return str(metadata["task"])
    return ""


class ActingUserFilter(admin.SimpleListFilter):
    title = _("user")
    parameter_name = "user"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        users = get_user_model().objects.order_by("username")
        return [(str(user.pk), user.get_username()) for user in users]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None or not value.isdigit():
            return queryset
        return queryset.filter(pgh_context__metadata__user=int(value))


class EventAdmin(admin.ModelAdmin):
    """Read-only: an event can be looked at, never added, changed or deleted, not even
    by a superuser. Filter by kind of change, user and date; search by the row's id."""

    list_display = ("pgh_created_at", "pgh_label", "pgh_obj_id", "acted_by", "where")
    list_filter = ("pgh_label", ActingUserFilter, "pgh_created_at")
    list_select_related = ("pgh_context",)
    search_fields = ("=pgh_obj__id",)
    search_help_text = _("The id of the changed row.")
    date_hierarchy = "pgh_created_at"
    ordering = ("-pgh_id",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        if not term.isdigit():
            return queryset.none(), False
        return queryset.filter(pgh_obj_id=int(term)), False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if not recorded():
            self.message_user(
                request, _("The audit trail is recorded on PostgreSQL only."), level="warning"
            )
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("by"))
    def acted_by(self, event: Any) -> str:
        context = event.pgh_context
        return actor(context.metadata if context else None)

    @admin.display(description=_("from"))
    def where(self, event: Any) -> str:
        context = event.pgh_context
        return str((context.metadata or {}).get("url", "")) if context else ""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def register_events(site: admin.AdminSite, *tracked: type[Model]) -> None:
    """Registers the event model of each tracked model, read-only."""
    for model in tracked:
        event_model = model._meta.apps.get_model(
            model._meta.app_label, f"{model._meta.object_name}Event"
        )
        site.register(event_model, EventAdmin)
