"""The apps are layers that only point down (STYLE.md, "The shape we want"):

    core  <  customers  <  receivables  <  reminders  <  workplaces | portal | api

A module may import its own app and the apps below it, never one above: a customer knows
nothing of invoices, an invoice nothing of reminders, and nothing imports the top layer.
The top layer's apps (the staff's pages, the customer's page, the API) are siblings: each
combines the layers below and none imports another. The same holds for the schema: a
model's relations point to its own app or below.
"""

import ast
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["core", "customers", "receivables", "reminders", "workplaces"]
# Apps on the same rank as the last layer (workplaces): siblings that never import each other.
TOP = ["portal", "api"]
RANK = {app: rank for rank, app in enumerate(LAYERS)} | dict.fromkeys(TOP, len(LAYERS) - 1)


def installed_layers() -> list[str]:
    """The layers and the top apps that exist in this checkout."""
    return [*LAYERS, *(app for app in TOP if (ROOT / app / "apps.py").exists())]


def imported_apps(path: Path) -> set[tuple[str, int]]:
    """The project apps ``path`` imports (anywhere in the file), with the line."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in RANK:
                found.add((top, node.lineno))
    return found


def upward_imports() -> list[str]:
    offenders = []
    for app in installed_layers():
        for path in sorted((ROOT / app).rglob("*.py")):
            for imported, line in sorted(imported_apps(path)):
                if RANK[imported] > RANK[app] or (
                    imported != app and RANK[imported] == RANK[app] == len(LAYERS) - 1
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    return offenders


def test_every_app_is_a_layer():
    packages = {p.parent.name for p in ROOT.glob("*/apps.py")}
    assert packages == set(installed_layers())


def test_imports_only_point_down():
    assert upward_imports() == []


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    fake = tmp_path / "customers"
    fake.mkdir()
    (fake / "views.py").write_text("def f():\n    from reminders import services\n")
    (fake / "models.py").write_text("from core import access\nimport receivables.models\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    monkeypatch.setattr(f"{__name__}.LAYERS", ["core", "customers"])
    for app in ("core",):
        (tmp_path / app).mkdir()
    assert upward_imports() == [
        "customers/models.py:2 imports receivables",
        "customers/views.py:2 imports reminders",
    ]


@pytest.mark.parametrize("app", installed_layers())
def test_relations_only_point_down(app):
    config = apps.get_app_config(app)
    offenders = [
        f"{model.__name__}.{field.name} -> {field.related_model._meta.label}"
        for model in config.get_models()
        for field in model._meta.get_fields(include_hidden=True)
        if field.is_relation
        and not field.auto_created
        and field.related_model is not None
        and field.related_model._meta.app_label in RANK
        and (
            RANK[field.related_model._meta.app_label] > RANK[app]
            or (
                field.related_model._meta.app_label != app
                and RANK[field.related_model._meta.app_label] == RANK[app] == len(LAYERS) - 1
            )
        )
    ]
    assert offenders == []


# "A module past about 500 lines becomes a package" (README, Where things are): the margin
# leaves room for a docstring, never for a second concern.
MAX_MODULE_LINES = 520


def test_no_module_is_past_about_500_lines():
    long_modules = [
        f"{path.relative_to(ROOT)}: {count} lines"
        for app in [*installed_layers(), "config"]
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
        and (count := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert not long_modules, "split these into packages: " + "; ".join(long_modules)
