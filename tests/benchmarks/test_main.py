"""``python -m benchmarks``'s options: the sizes of --quick, the groups run."""

import pytest

from benchmarks.__main__ import GROUPS, main, parse


def test_full_run_defaults():
    args = parse([])
    assert (args.invoices, args.customers, args.repeat) == (1_000_000, 20_000, 5)
    assert (args.emails, args.letters, args.import_rows) == (1_000, 200, 100_000)
    assert args.groups == set(GROUPS)


def test_quick_is_small_and_leaves_the_load_test_out_unless_asked():
    args = parse(["--quick"])
    assert (args.invoices, args.customers, args.repeat) == (10_000, 2_000, 3)
    assert (args.emails, args.letters, args.import_rows) == (100, 10, 1_000)
    assert "load" not in args.groups
    assert "load" in parse(["--quick", "--load"]).groups
    assert parse(["--quick", "--invoices", "5000"]).invoices == 5000


def test_only_some_groups():
    assert parse(["--only", "pages, aged"]).groups == {"pages", "aged"}
    with pytest.raises(SystemExit):
        parse(["--only", "pagess"])


def test_refuses_a_database_that_is_not_postgresql(monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "sqlite:///bench.sqlite3")
    assert main(["--quick"]) == 2
    assert "PostgreSQL" in capsys.readouterr().err
