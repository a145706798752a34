"""Installment plans ("échéanciers"): how an invoice total is split into dated parts.

Every plan returns parts that sum to the total to the cent: each part is rounded down to
the cent and the last part takes what is left, so no cent is ever created or lost.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from core.money import CENT, ZERO


class PlanKind(models.TextChoices):
    SINGLE = "single", "Single payment"
    HALVES = "50_50", "50/50"
    THIRTY_THIRTY_FORTY = "30_30_40", "30/30/40"
    MONTHLY = "monthly", "N equal monthly parts"
    CUSTOM = "custom", "Custom"


PERCENTAGES: dict[str, tuple[int, ...]] = {
    PlanKind.SINGLE: (100,),
    PlanKind.HALVES: (50, 50),
    PlanKind.THIRTY_THIRTY_FORTY: (30, 30, 40),
}


@dataclass(frozen=True)
class Part:
    due_date: datetime.date
    amount: Decimal


def split_by_weights(total: Decimal, weights: Sequence[int | Decimal]) -> list[Decimal]:
    """Split ``total`` proportionally to ``weights``; the last part absorbs rounding."""
    if not weights:
        raise ValidationError(_("A plan needs at least one part."))
    if any(w <= 0 for w in weights):
        raise ValidationError(_("Every part of a plan must be positive."))
    total = Decimal(total).quantize(CENT)
    weight_sum = sum(Decimal(w) for w in weights)
    parts = [
        (total * Decimal(w) / weight_sum).quantize(CENT, rounding=ROUND_DOWN) for w in weights[:-1]
    ]
    parts.append(total - sum(parts, ZERO))
    return parts


def monthly_dates(first_due: datetime.date, count: int) -> list[datetime.date]:
    """``count`` dates a month apart from ``first_due`` (31 Jan, 28 Feb, 31 Mar…).
    Refused with a message when the last one would fall after the year 9999 (no date
    can hold it)."""
    try:
        return [first_due + relativedelta(months=i) for i in range(count)]
    except (ValueError, OverflowError) as exc:
        raise ValidationError(
            _(
                "With %(count)s monthly parts from %(first)s, the last part would fall after "
                "the year 9999: choose an earlier due date or fewer parts."
            )
            % {"count": count, "first": first_due.isoformat()},
            code="plan_too_late",
        ) from exc


def build_plan(
    *,
    total: Decimal,
    first_due: datetime.date,
    kind: str = PlanKind.SINGLE,
    parts: int | None = None,
    custom: Sequence[tuple[datetime.date, Decimal]] | None = None,
) -> list[Part]:
    """The installments of an invoice of ``total`` whose first part is due on
    ``first_due``; later parts fall due monthly after it. ``custom`` gives explicit
    (date, amount) pairs that must sum to the total."""
    total = Decimal(total).quantize(CENT)
    if total < 0:
        raise ValidationError(_("An invoice total cannot be negative."))
    if kind == PlanKind.CUSTOM:
        if not custom:
            raise ValidationError(_("A custom plan needs its parts."))
        amounts = [Decimal(a).quantize(CENT) for _d, a in custom]
        if any(a <= 0 for a in amounts):
            raise ValidationError(_("Every part of a plan must be positive."))
        if sum(amounts, ZERO) != total:
            raise ValidationError(
                _("The parts sum to %(sum)s, not to the invoice total %(total)s.")
                % {"sum": sum(amounts, ZERO), "total": total}
            )
        dates = [d for d, _a in custom]
        if dates != sorted(dates):
            raise ValidationError(_("The parts of a plan must be in date order."))
        return [Part(d, a) for d, a in zip(dates, amounts, strict=True)]
    if kind == PlanKind.MONTHLY:
        if not parts or parts < 1 or parts > 120:
            raise ValidationError(_("A monthly plan needs between 1 and 120 parts."))
        weights: Sequence[int] = (1,) * parts
    elif kind in PERCENTAGES:
        weights = PERCENTAGES[kind]
    else:
        raise ValidationError(_("Unknown installment plan %(kind)s.") % {"kind": kind})
    if total == 0:
        return [Part(first_due, ZERO)]
    amounts = split_by_weights(total, weights)
    return [
        Part(d, a) for d, a in zip(monthly_dates(first_due, len(amounts)), amounts, strict=True)
    ]
