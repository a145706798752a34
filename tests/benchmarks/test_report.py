"""The benchmark's report: percentiles, ratios, answers compared, what fails --quick."""

import json
from decimal import Decimal

import pytest

from benchmarks.report import (
    Measure,
    Row,
    failed_row,
    percentile,
    problems,
    ratio,
    render_line,
    render_table,
    same_answer,
    write_json,
)


def test_percentile_is_nearest_rank():
    assert percentile([3.0, 1.0, 2.0, 5.0, 4.0], 95) == 5.0
    assert percentile([3.0, 1.0, 2.0, 5.0, 4.0], 50) == 3.0
    assert percentile([0.2], 95) == 0.2
    assert percentile(list(range(1, 101)), 95) == 95
    with pytest.raises(ValueError):
        percentile([], 95)


def test_measure_median_and_p95():
    m = Measure(times=[0.4, 0.1, 0.3, 0.2, 1.0])
    assert m.median == 0.3
    assert m.p95 == 1.0
    assert Measure(times=[0.1], p95_value=0.7).p95 == 0.7


def test_ratio():
    assert ratio(3.0, 1.5) == 2.0
    assert ratio(1.0, None) is None
    assert ratio(None, 1.0) is None
    assert ratio(1.0, 0.0) is None


def test_same_answer_compares_amounts_to_the_cent_whatever_their_type():
    assert same_answer({"total": Decimal("10.50")}, {"total": "10.5"}) is False  # str vs amount
    assert same_answer({"total": Decimal("10.50")}, {"total": 10.5})
    assert same_answer((3, Decimal("1.10")), [3, Decimal("1.1")])
    assert not same_answer((3, Decimal("1.10")), (3, Decimal("1.11")))
    assert not same_answer((3, Decimal("1.10")), (4, Decimal("1.10")))
    assert not same_answer({"a": 1}, {"a": 1, "b": 2})
    assert not same_answer([1, 2], [1, 2, 3])
    assert same_answer(200, 200)
    assert not same_answer(500, 200)
    assert not same_answer(True, 1)  # a boolean is not an amount


def _row(answer, floor_answer, queries=5, small=None, errors=0):
    return Row(
        "page",
        Measure(times=[0.2, 0.3], queries=queries, answer=answer),
        Measure(times=[0.1], answer=floor_answer),
        queries_small=small,
        errors=errors,
    )


def test_problems_are_a_differing_answer_a_growing_query_count_and_errors():
    assert problems([_row(200, 200, queries=7, small=7)]) == []
    assert problems([_row(200, 200, queries=6, small=7)]) == []  # fewer is fine
    (grew,) = problems([_row(200, 200, queries=8, small=7)])
    assert "8 queries" in grew and "7 on the smaller" in grew
    (differs,) = problems([_row(500, 200)])
    assert "differs" in differs and "500" in differs
    (failed,) = problems([_row(200, 200, errors=3)])
    assert "3 errors" in failed
    no_floor = Row("load", Measure(times=[0.1], answer=0))
    assert no_floor.same_answer is None and problems([no_floor]) == []


def test_table_and_json(tmp_path):
    rows = [_row(200, 200, queries=7, small=7), _row(500, 200)]
    rows[0].figures = {"emails/s": "120"}
    text = render_table(rows)
    header, _rule, first, second, *notes = text.splitlines()
    assert header.split("|")[1].strip() == "path"
    assert [c.strip() for c in first.split("|")[1:-1]] == [
        "page", "250.0 ms", "300.0 ms", "100.0 ms", "2.5x", "7 (7 small)", "yes", "-",
    ]  # fmt: skip
    assert "NO" in second
    assert "- page: emails/s 120" in notes
    out = tmp_path / "bench.json"
    write_json(str(out), rows, {"invoices": 10})
    data = json.loads(out.read_text())
    assert data["meta"] == {"invoices": 10}
    assert data["rows"][0]["ratio"] == 2.5 and data["rows"][1]["same_answer"] is False


def test_a_path_that_failed_is_a_failed_row_with_no_timing():
    row = failed_row("200 formal notices", RuntimeError("no font"))
    assert row.subject.median is None and row.ratio is None
    assert problems([row]) == ["200 formal notices: 1 errors"]
    assert "failed: RuntimeError: no font" in render_table([row])
    assert render_line(row).startswith("median -; p95 -; floor median -")
