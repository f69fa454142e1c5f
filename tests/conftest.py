"""Shared fixtures: one small, committed, deterministic dataset for the whole run.

Tool queries run on the ``tenant`` connection, which logs in as another role and so
only sees committed rows; the usual per-test transaction would hide the data from
it. The suite therefore seeds the test database once and treats it as read-only.
Tests that change tenancy state restore it themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from django.db import connections
from django.test.utils import setup_databases, teardown_databases

from retail.services.seeding import SeedSummary, seed_retail

SEED = 7
SEED_CUSTOMERS = 1_500
SEED_END_DATE = date(2026, 6, 30)


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker) -> Iterator[None]:
    """Create the test database for both aliases, whichever tests were collected.

    pytest-django only creates databases that ``django_db`` marks ask for; this
    suite reaches the database through fixtures instead.
    """
    with django_db_blocker.unblock():
        config = setup_databases(verbosity=0, interactive=False, aliases={"default", "tenant"})
        for alias in ("default", "tenant"):
            connections[alias].close_pool()  # pools must not keep the old database name
    yield
    with django_db_blocker.unblock():
        for alias in ("default", "tenant"):
            connections[alias].close()
            connections[alias].close_pool()
        teardown_databases(config, verbosity=0)


@pytest.fixture(scope="session")
def seeded(django_db_setup, django_db_blocker) -> SeedSummary:
    with django_db_blocker.unblock():
        return seed_retail(customers=SEED_CUSTOMERS, seed=SEED, end_date=SEED_END_DATE)


@pytest.fixture
def database(seeded, django_db_blocker) -> Iterator[SeedSummary]:
    """Database access to the committed, seeded test database."""
    with django_db_blocker.unblock():
        yield seeded
