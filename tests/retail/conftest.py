"""Fixtures for the data layer's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection

from retail import signing_keys


@pytest.fixture
def original_keys(database) -> Iterator[None]:
    """Put the key table back as it was, so that running servers keep their cached key."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, secret, inner_pad, outer_pad, created_at, expires_at "
                       "FROM zava_private.rls_signing_key")  # fmt: skip
        rows = cursor.fetchall()
    yield
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM zava_private.rls_signing_key")
        cursor.executemany(
            "INSERT INTO zava_private.rls_signing_key "
            "(id, secret, inner_pad, outer_pad, created_at, expires_at) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            rows,
        )
    signing_keys.forget_cached_keys()
