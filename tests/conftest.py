import os

import pytest
from django.utils import translation
from hypothesis import settings as hypothesis_settings

from core import access
from tests.factories import CustomerFactory, make_user

# Property tests draw the same examples on every run by default, so a green suite stays
# green and CI never fails on a draw nobody can replay; HYPOTHESIS_PROFILE=explore draws
# new ones (and keeps what fails in .hypothesis/ to replay it) — run it to hunt for bugs.
hypothesis_settings.register_profile("deterministic", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


@pytest.fixture(autouse=True)
def english_messages():
    """Messages raised by services are checked in English (their source language); pages
    follow each request's language as the middleware decides."""
    with translation.override("en"):
        yield


@pytest.fixture
def finance_user(db):
    return make_user(access.FINANCE, "finance_t")


@pytest.fixture
def manager_user(db):
    return make_user(access.MANAGER, "manager_t")


@pytest.fixture
def sales_user(db):
    return make_user(access.SALES, "sales_t")


@pytest.fixture
def other_sales_user(db):
    return make_user(access.SALES, "sales_other_t")


@pytest.fixture
def customer(db, sales_user):
    return CustomerFactory(sales_rep=sales_user)


@pytest.fixture
def company_profile(db):
    from tests.factories import make_company_profile

    return make_company_profile()


def pytest_addoption(parser):
    parser.addoption(
        "--faults",
        type=int,
        default=0,
        help="Run the fault-injection stage (marker 'faults') with this many kill -9.",
    )
    parser.addoption("--faults-seed", type=int, default=None, help="Seed of the kill points.")


def pytest_collection_modifyitems(config, items):
    """Browser tests last: they are the slowest, and their session-wide live server and
    Chromium stay up until the end of the run. The fault-injection stage runs only when
    asked (``--faults=N``, as .ci/run does after the main suite)."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
    if not config.getoption("--faults"):
        skip = pytest.mark.skip(reason="the fault stage: pytest -m faults --faults=N")
        for item in items:
            if item.get_closest_marker("faults") is not None:
                item.add_marker(skip)
