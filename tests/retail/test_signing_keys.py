"""Rotating the tenant-identity key: the old key works during the overlap, then proves nothing.

The attacker here runs SQL as the tenant role in their own (Seattle) context and holds
a retired key (a leaked backup, a former operator): they sign the head office's
identity for their own backend and transaction, exactly as the application would.
"""

from __future__ import annotations

import time

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection
from django.test import override_settings

from retail import signing_keys
from retail.services.seeding import HEAD_OFFICE_ID, STORES
from retail.tenancy.transaction import TenantContextDrift, sign_identity, tenant_transaction

SEATTLE = STORES[0]


def _stores_seen_with_a_proof_made_by(key: bytes) -> set[int]:
    """Seattle's context, re-signed by the attacker as head office with ``key``.

    Whatever the re-signed identity saw, leaving the transaction fails closed: the
    identity is not the one the context set (the drift check)."""
    with (
        pytest.raises(TenantContextDrift),
        tenant_transaction(SEATTLE.manager_id) as tenant,
        tenant.connection.cursor() as cursor,
    ):
        cursor.execute("SELECT (extract(epoch FROM transaction_timestamp()) * 1000000)::bigint")
        start = cursor.fetchone()[0]
        proof = sign_identity(key, HEAD_OFFICE_ID, tenant.backend_pid, start)
        cursor.execute(
            "SELECT set_config('app.current_rls_user_id', %s, true), "
            "set_config('app.rls_context_proof', %s, true)",
            [str(HEAD_OFFICE_ID), proof],
        )
        cursor.execute("SELECT DISTINCT store_id FROM retail.orders")
        seen = {row[0] for row in cursor.fetchall()}
    return seen


def _genuine_seattle_stores() -> set[int]:
    with tenant_transaction(SEATTLE.manager_id) as tenant, tenant.connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT store_id FROM retail.orders")
        return {row[0] for row in cursor.fetchall()}


def _wait_for_expiry() -> None:
    """Until the database's clock has passed every retired key's expiry."""
    deadline = time.monotonic() + 30
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM zava_private.rls_signing_key "
                           "WHERE expires_at > clock_timestamp()")  # fmt: skip
            if cursor.fetchone()[0] == 0:
                return
        assert time.monotonic() < deadline
        time.sleep(0.1)


ALL_STORES = set(range(1, len(STORES) + 1))  # seeded in this order


def test_a_retired_key_is_accepted_during_the_overlap_and_refused_after_finish(original_keys):
    old = signing_keys.current_key("tenant")
    assert _stores_seen_with_a_proof_made_by(old) == ALL_STORES  # the key works, as the app's

    call_command("rotate_keys", overlap=60)
    assert signing_keys.current_key("tenant") != old
    assert _stores_seen_with_a_proof_made_by(old) == ALL_STORES  # in-flight signers still OK
    assert _genuine_seattle_stores() == {1}

    with override_settings(ZAVA_SIGNING_KEY_REFRESH_SECONDS=0):
        call_command("rotate_keys", finish=True)
    assert _stores_seen_with_a_proof_made_by(old) == set()
    assert _genuine_seattle_stores() == {1}
    assert [key.expires_at for key in signing_keys.list_keys()] == [None]


@override_settings(ZAVA_SIGNING_KEY_REFRESH_SECONDS=0.2)
def test_a_retired_key_proves_nothing_once_the_overlap_has_passed(original_keys):
    old = signing_keys.current_key("tenant")
    call_command("rotate_keys", overlap=0.5)
    _wait_for_expiry()
    assert _stores_seen_with_a_proof_made_by(old) == set()
    assert _genuine_seattle_stores() == {1}


@override_settings(ZAVA_SIGNING_KEY_REFRESH_SECONDS=0.2)
def test_the_next_rotation_deletes_expired_keys(original_keys):
    call_command("rotate_keys", overlap=0.5)
    _wait_for_expiry()
    call_command("rotate_keys", overlap=30)
    keys = signing_keys.list_keys()
    assert len(keys) == 2  # the one retired just now, and the current one
    assert keys[-1].expires_at is None


def test_an_overlap_shorter_than_the_refresh_interval_is_refused(original_keys):
    with pytest.raises(CommandError, match="must be longer"):
        call_command("rotate_keys", overlap=5)  # the default refresh is 10 s
    with pytest.raises(CommandError, match="Wait"):
        call_command("rotate_keys", overlap=60)
        call_command("rotate_keys", finish=True)  # every process may not have the new key yet


def test_the_tenant_role_cannot_read_any_key_after_a_rotation(original_keys):
    call_command("rotate_keys", overlap=60)
    for statement in (
        "SELECT secret FROM zava_private.rls_signing_key",
        "SELECT inner_pad FROM zava_private.rls_signing_key WHERE expires_at IS NOT NULL",
    ):
        with (
            pytest.raises(DatabaseError) as excinfo,
            tenant_transaction(SEATTLE.manager_id) as tenant,
            tenant.connection.cursor() as cursor,
        ):
            cursor.execute(statement)
        assert excinfo.value.__cause__.sqlstate == "42501"  # insufficient privilege
