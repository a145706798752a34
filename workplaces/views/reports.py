"""The manager's workplace: KPIs and charts, and the monthly aged-balance snapshots with
their downloads (CSV, XLSX, PDF).

Managers and finance staff only (``Action.VIEW_REPORTS``, ``TAKE_SNAPSHOTS`` and
``EXPORT`` in core/access.py): the KPIs are scoped by ``visible_to`` like every page, but
snapshots cover the whole ledger, so sales reps get a 403 on every URL here. Views parse
input, call one selector or service, render; the charts are SVG drawn by the template
from the geometry computed below (no JavaScript, nothing from a CDN, nothing the CSP
would refuse).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from core import access
from core.access import AuthenticatedHttpRequest
from core.dates import DayField
from core.htmx import render_page
from receivables import exports, kpis, snapshots
from receivables.models import AgedBalanceSnapshot

SNAPSHOTS_SHOWN = 24
DOWNLOAD_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


class SnapshotRequestForm(forms.Form):
    as_of = DayField(
        label=gettext_lazy("Month end"),
        error_messages={
            "required": gettext_lazy("Enter a month end, such as 2026-03-31."),
            "invalid": gettext_lazy("Enter a valid date, such as 2026-03-31."),
        },
    )

    def __init__(self, *args, today: datetime.date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_as_of(self) -> datetime.date:
        as_of = self.cleaned_data["as_of"]
        snapshots.validate_snapshot_date(as_of, today=self.today)
        return as_of


# --- Chart geometry --------------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    y: float
    value: Decimal


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    value: Decimal
    series: str


@dataclass(frozen=True)
class Label:
    x: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    ticks: list[Tick]
    labels: list[Label]
    rects: list[Rect]
    lines: list[str]  # SVG "points" attributes, one per unbroken stretch
    dots: list[tuple[float, float, Decimal]]


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5 or 5 × 10^n at least ``value``: round axis maxima."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value)


def _frame(width: int, height: int, top_value: float, *, left: int = 72) -> dict:
    top, bottom, right = 10, height - 26, width - 8
    ticks = [
        Tick(
            y=bottom - (bottom - top) * i / 4,
            value=Decimal(str(top_value * i / 4)).quantize(Decimal("1")),
        )
        for i in range(5)
    ]
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": right,
        "top": top,
        "bottom": bottom,
        "ticks": ticks,
    }


def column_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[Decimal]]],
    *,
    width: int = 720,
    height: int = 240,
) -> Chart:
    """Grouped columns, one group per label and one column per series; negative values
    are drawn as zero (a net credit has no height)."""
    top_value = nice_ceiling(max((float(v) for _, vs in series for v in vs), default=0))
    frame = _frame(width, height, top_value)
    slot = (frame["right"] - frame["left"]) / max(len(labels), 1)
    column = slot * 0.8 / max(len(series), 1)
    scale = (frame["bottom"] - frame["top"]) / top_value
    rects = []
    for s_index, (name, values) in enumerate(series):
        for i, value in enumerate(values):
            h = max(float(value), 0.0) * scale
            rects.append(
                Rect(
                    x=round(frame["left"] + slot * i + slot * 0.1 + column * s_index, 1),
                    y=round(frame["bottom"] - h, 1),
                    width=round(column, 1),
                    height=round(h, 1),
                    value=value,
                    series=name,
                )
            )
    return Chart(
        **frame,
        labels=[
            Label(x=round(frame["left"] + slot * (i + 0.5), 1), text=t)
            for i, t in enumerate(labels)
        ],
        rects=rects,
        lines=[],
        dots=[],
    )


def line_chart(
    labels: Sequence[str], values: Sequence[Decimal | None], *, width: int = 720, height: int = 170
) -> Chart:
    """One line through ``values``; a missing value (None) breaks the line."""
    top_value = nice_ceiling(max((float(v) for v in values if v is not None), default=0))
    frame = _frame(width, height, top_value, left=48)
    slot = (frame["right"] - frame["left"]) / max(len(labels), 1)
    scale = (frame["bottom"] - frame["top"]) / top_value
    lines: list[str] = []
    dots = []
    stretch: list[str] = []
    for i, value in enumerate(values):
        if value is None:
            if stretch:
                lines.append(" ".join(stretch))
            stretch = []
            continue
        x = round(frame["left"] + slot * (i + 0.5), 1)
        y = round(frame["bottom"] - max(float(value), 0.0) * scale, 1)
        stretch.append(f"{x},{y}")
        dots.append((x, y, value))
    if stretch:
        lines.append(" ".join(stretch))
    return Chart(
        **frame,
        labels=[
            Label(x=round(frame["left"] + slot * (i + 0.5), 1), text=t)
            for i, t in enumerate(labels)
        ],
        rects=[],
        lines=lines,
        dots=dots,
    )


def _bucket_labels() -> dict[str, str]:
    return {
        "not_due": _("Not due"),
        "d1_30": _("1–30 days"),
        "d31_60": _("31–60 days"),
        "d61_90": _("61–90 days"),
        "d90_plus": _("Over 90 days"),
    }


# --- Pages -----------------------------------------------------------------------------


def _home_context(request: HttpRequest, *, today: datetime.date, form: SnapshotRequestForm):
    data = kpis.manager_kpis(user=request.user, as_of=today)
    months = [date_format(p.as_of, "M y") for p in data.trend]
    names = _bucket_labels()
    buckets = [(key, names[key], amount) for key, amount in data.totals.overdue_buckets]
    return {
        "kpis": data,
        "buckets": buckets,
        "bucket_chart": column_chart(
            [label for _key, label, _amount in buckets],
            [("overdue", [amount for _key, _label, amount in buckets])],
            width=520,
            height=230,
        ),
        "trend_chart": column_chart(
            months,
            [
                ("outstanding", [p.outstanding for p in data.trend]),
                ("overdue", [p.overdue for p in data.trend]),
            ],
            width=1100,
            height=300,
        ),
        "dso_chart": line_chart(months, [p.dso for p in data.trend], width=1100, height=190),
        "snapshots": list(
            AgedBalanceSnapshot.objects.visible_to(request.user).select_related("created_by")[
                :SNAPSHOTS_SHOWN
            ]
        ),
        "form": form,
    }


@require_GET
def reports_home(request: HttpRequest) -> HttpResponse:
    access.require(request.user, access.Action.VIEW_REPORTS)
    today = timezone.localdate()
    form = SnapshotRequestForm(initial={"as_of": snapshots.previous_month_end(today)}, today=today)
    return render(
        request, "workplaces/reports/home.html", _home_context(request, today=today, form=form)
    )


@require_POST
def snapshot_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    access.require(request.user, access.Action.TAKE_SNAPSHOTS)
    today = timezone.localdate()
    form = SnapshotRequestForm(request.POST, today=today)
    if form.is_valid():
        try:
            snapshot, queued = snapshots.snapshot_request(
                as_of=form.cleaned_data["as_of"], user=request.user, today=today
            )
        except ValidationError as error:
            form.add_error("as_of", error)
        else:
            date = date_format(snapshot.as_of, "SHORT_DATE_FORMAT")
            if queued:
                messages.success(
                    request, _("The snapshot as of %(date)s is being prepared.") % {"date": date}
                )
            else:
                messages.info(
                    request,
                    _("A snapshot as of %(date)s already exists: here it is.") % {"date": date},
                )
            return redirect("reports:snapshot_detail", pk=snapshot.pk)
    context = _home_context(request, today=today, form=form)
    return render(request, "workplaces/reports/home.html", context, status=400)


@require_GET
def snapshot_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, access.Action.VIEW_REPORTS)
    snapshot = get_object_or_404(
        AgedBalanceSnapshot.objects.visible_to(request.user).select_related("created_by"), pk=pk
    )
    context = {
        "snapshot": snapshot,
        "ab": snapshots.snapshot_aged_balance(snapshot=snapshot) if snapshot.is_done else None,
    }
    return render_page(
        request, "workplaces/reports/snapshot_detail.html", context, fragment="status"
    )


@require_GET
def snapshot_download(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    access.require(request.user, access.Action.EXPORT)
    if fmt not in DOWNLOAD_TYPES:
        raise Http404
    snapshot = get_object_or_404(AgedBalanceSnapshot.objects.visible_to(request.user).done(), pk=pk)
    ab = snapshots.snapshot_aged_balance(snapshot=snapshot)
    if fmt == "csv":
        response = HttpResponse(content_type=DOWNLOAD_TYPES[fmt])
        exports.aged_balance_csv_localized(ab, response)
    elif fmt == "xlsx":
        response = HttpResponse(exports.aged_balance_xlsx(ab), content_type=DOWNLOAD_TYPES[fmt])
    else:
        response = HttpResponse(
            snapshots.snapshot_pdf(snapshot=snapshot, ab=ab), content_type=DOWNLOAD_TYPES[fmt]
        )
    filename = f"aged-balance-snapshot-{snapshot.as_of.isoformat()}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
