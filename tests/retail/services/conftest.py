"""Fixtures for the services' tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache


@pytest.fixture
def empty_cache(database) -> Iterator[None]:
    """The shared cache (a database table by default) empty before and after the test."""
    cache.clear()
    yield
    cache.clear()
