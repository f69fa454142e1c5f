"""At /mcp an OAuth token counts only if it is bound to /mcp, current, scoped and a manager's.

Tokens are written straight into the toolkit's table here, so that each one differs
from a good token in exactly one way (retail/services/oauth_access.py decides).
"""

from __future__ import annotations

import re

import pytest

from retail.models import Manager
from tests.identities import SEATTLE
from tests.mcp_client import post, rows

CALL = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "tools/call",
    "params": {"name": "get_current_utc_date", "arguments": {}},
}


def _challenge(response) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="([^"]*)"', response.headers["WWW-Authenticate"]))


def test_a_good_token_acts_as_its_manager(make_token, zava_server):
    assert rows(
        zava_server.mcp_url, make_token(), "SELECT DISTINCT store_id FROM retail.orders"
    ) == [[1]]


@pytest.mark.parametrize(
    "flaw",
    [
        {"resource": ["https://other.example/mcp"]},
        {"resource": []},
        {"expires_in": -1},
    ],
    ids=["another audience", "no audience", "expired"],
)
def test_a_flawed_token_gets_401_invalid_token(make_token, zava_server, flaw):
    response = post(zava_server.mcp_url, CALL, token=make_token(**flaw))

    assert response.status_code == 401
    challenge = _challenge(response)
    assert challenge["error"] == "invalid_token"
    assert challenge["resource_metadata"].endswith("/.well-known/oauth-protected-resource/mcp")


def test_a_token_for_a_longer_path_on_this_host_is_not_for_mcp(make_token, zava_server):
    token = make_token(resource=[zava_server.url + "/"])
    assert post(zava_server.mcp_url, CALL, token=token).status_code == 401


def test_a_token_without_the_scope_gets_403_insufficient_scope(make_token, zava_server):
    response = post(zava_server.mcp_url, CALL, token=make_token(scope="profile"))

    assert response.status_code == 403
    challenge = _challenge(response)
    assert challenge["error"] == "insufficient_scope"
    assert challenge["scope"] == "retail.read"
    assert challenge["resource_metadata"].endswith("/.well-known/oauth-protected-resource/mcp")
    assert response.headers["Content-Type"] == "application/json"
    assert "retail.read" in response.json()["error"]["message"]


def test_unlinking_or_deactivating_the_manager_takes_effect_on_the_next_call(
    make_token, zava_server
):
    token = make_token()
    assert post(zava_server.mcp_url, CALL, token=token).status_code == 200

    user = Manager.objects.get(email=SEATTLE.email).user
    Manager.objects.filter(email=SEATTLE.email).update(user=None)
    assert post(zava_server.mcp_url, CALL, token=token).status_code == 401

    Manager.objects.filter(email=SEATTLE.email).update(user=user, is_active=False)
    try:
        assert post(zava_server.mcp_url, CALL, token=token).status_code == 401
    finally:
        Manager.objects.filter(email=SEATTLE.email).update(is_active=True)
