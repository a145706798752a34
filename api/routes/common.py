"""What every route shares: the token's user, the rows they may see (404 outside), the
list parameters and a service's refusal turned into a problem naming the fields."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest


def visible[M: Model](model: type[M], request: HttpRequest) -> QuerySet[M]:
    return model.objects.visible_to(request.auth.user)  # type: ignore[attr-defined]


def get_visible[M: Model](queryset: QuerySet[M], pk: int) -> M:
    found = queryset.filter(pk=pk).first() if 0 < pk < 2**63 else None
    if found is None:
        raise Http404
    return found


def since(field: str, moment: datetime.datetime | None) -> Q:
    return Q(**{f"{field}__gte": moment}) if moment is not None else Q()


def referenced[M: Model](queryset: QuerySet[M], pk: int | None, field: str) -> M | None:
    """A row the payload names (``field``): one the token's user may see, else a
    refusal naming the field (the same for a row that does not exist: nothing leaks)."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    if pk is None:
        return None
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise ValidationError({field: _("No such %(what)s.") % {"what": field.replace("_", " ")}})
    return found


def dump(schema: Any, **values: Any) -> dict[str, Any]:
    return schema(**values).dict()
