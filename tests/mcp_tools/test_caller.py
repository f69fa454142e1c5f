"""``mcp_tools.caller``: the identity a request runs as cannot change once it is made."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from mcp_tools.caller import Caller
from tests.identities import BELLEVUE, SEATTLE


def test_nothing_can_switch_the_callers_identity_after_authentication():
    caller = Caller(manager_id=SEATTLE.id, token_id=1, request_id=uuid.uuid4().hex)
    with pytest.raises(dataclasses.FrozenInstanceError):
        caller.manager_id = BELLEVUE.id  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        caller.token_id = None  # type: ignore[misc]
    assert caller.manager_id == SEATTLE.id
