"""Cursor pagination on every list: keyset on (the list's ordering field, pk), so a page
costs one indexed query however deep, and rows added meanwhile are neither skipped nor
repeated. The cursor is opaque to clients (base64 of the last row's key)."""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from collections.abc import Callable
from typing import Any

from django.db.models import Model, Q, QuerySet
from ninja import Schema

from core.dates import parse_day

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


class BadCursor(ValueError):
    pass


def _encode(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadCursor from exc
    if not isinstance(values, list) or len(values) != 2:
        raise BadCursor
    return values


def _typed(value: Any, sample: Any) -> Any:
    if isinstance(sample, datetime.datetime):
        return datetime.datetime.fromisoformat(str(value))
    if isinstance(sample, datetime.date):
        return parse_day(str(value))
    if isinstance(sample, int) and not isinstance(value, int):
        raise BadCursor
    if isinstance(sample, str) and not isinstance(value, str):
        raise BadCursor
    return value


class Page(Schema):
    next_cursor: str | None


def paginate[M: Model](
    queryset: QuerySet[M],
    *,
    cursor: str | None,
    limit: int,
    field: str = "pk",
    sample: Any = 0,
    serialize: Callable[[list[M]], list[Any]] | None = None,
) -> dict[str, Any]:
    """The page of ``queryset`` after ``cursor``, ordered by (``field``, pk) ascending;
    ``sample`` tells the field's type (to read the cursor back). Raises
    :class:`BadCursor` for a cursor this list did not give."""
    limit = max(1, min(limit, MAX_LIMIT))
    keys = ["pk"] if field == "pk" else [field, "pk"]
    queryset = queryset.order_by(*keys)
    if cursor:
        value, pk = _decode(cursor)
        if not isinstance(pk, int):
            raise BadCursor
        try:
            value = _typed(value, sample)
        except (TypeError, ValueError) as exc:
            raise BadCursor from exc
        if field == "pk":
            queryset = queryset.filter(pk__gt=pk)
        else:
            queryset = queryset.filter(
                Q(**{f"{field}__gt": value}) | Q(**{field: value, "pk__gt": pk})
            )
    rows = list(queryset[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        key = last.pk if field == "pk" else getattr(last, field)
        next_cursor = _encode([key, last.pk])
    return {"items": serialize(rows) if serialize else rows, "next_cursor": next_cursor}
