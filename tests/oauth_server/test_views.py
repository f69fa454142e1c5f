"""Signing in at /o/ and using the token at /mcp, over HTTP against gunicorn.

The person's part (login, consent) is posted as a browser would; the browser itself
drives it in tests/oauth_server/test_mcp_sign_in.py.
"""

from __future__ import annotations

import re

import httpx
from django.test import Client, override_settings
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken

from retail.models import AuditedRequest
from tests.identities import SEATTLE
from tests.mcp_client import post, rows
from tests.oauth_server.conftest import CLIENT_SECRET, REDIRECT_URI, Pkce

CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
STORES_SQL = "SELECT DISTINCT store_id FROM retail.orders ORDER BY store_id"


def _challenge(response) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="([^"]*)"', response.headers["WWW-Authenticate"]))


def test_a_public_client_gets_a_token_that_sees_exactly_the_managers_store(
    flow, seattle_person, public_client, zava_server
):
    flow.sign_in(seattle_person)
    pkce = Pkce.new()
    page = flow.authorize(public_client.client_id, pkce)
    assert "Test MCP client" in page.text
    assert "127.0.0.1:8976" in page.text  # the redirect's host
    assert "retail.read" in page.text
    assert re.search(r'<ul id="stores">\s*<li>Zava Retail Seattle</li>\s*</ul>', page.text)

    response = flow.exchange(public_client.client_id, flow.consent(page), pkce)

    assert response.status_code == 200, response.text
    issued = response.json()
    assert issued["token_type"] == "Bearer"
    assert issued["scope"] == "retail.read"
    assert issued["expires_in"] == 3600
    assert rows(zava_server.mcp_url, issued["access_token"], STORES_SQL) == [[1]]
    latest = AuditedRequest.objects.filter(tool="execute_sales_query").latest("created_at")
    assert str(latest.manager_id) == str(seattle_person_manager_id())
    # Only a checksum is stored, never the token itself.
    assert not AccessToken.objects.filter(token=issued["access_token"]).exists()


def test_the_authorization_response_names_its_issuer(flow, seattle_person, public_client):
    """RFC 9207, which MCP 2026-07-28 asks for: the client checks ``iss`` before it
    redeems the code, so a code from another authorization server is never sent here."""
    metadata = flow.http.get("/.well-known/oauth-authorization-server").json()
    assert metadata["authorization_response_iss_parameter_supported"] is True
    flow.sign_in(seattle_person)
    flow.code(public_client.client_id, Pkce.new())
    assert flow.redirected_with["iss"] == [metadata["issuer"]]


def seattle_person_manager_id():

    return SEATTLE.id


def test_a_confidential_client_must_authenticate(
    flow, seattle_person, confidential_client, zava_server
):
    flow.sign_in(seattle_person)
    pkce = Pkce.new()
    client_id = confidential_client.client_id

    without_secret = flow.exchange(client_id, flow.code(client_id, pkce), pkce)
    assert without_secret.status_code == 401
    assert without_secret.json()["error"] == "invalid_client"

    with_secret = flow.exchange(
        client_id, flow.code(client_id, pkce), pkce, client_secret=CLIENT_SECRET
    )
    assert with_secret.status_code == 200, with_secret.text
    assert (
        post(zava_server.mcp_url, CALL, token=with_secret.json()["access_token"]).status_code == 200
    )


def test_pkce_is_required_and_plain_is_refused(flow, seattle_person, public_client):
    flow.sign_in(seattle_person)
    before = Grant.objects.count()
    plain = {"code_challenge": "x" * 43, "code_challenge_method": "plain"}

    without = flow.authorize(public_client.client_id, None)
    assert without.status_code == 302
    assert without.headers["Location"].startswith(REDIRECT_URI)
    assert "error=invalid_request" in without.headers["Location"]

    with_plain = flow.authorize(public_client.client_id, None, **plain)
    assert with_plain.status_code == 400
    assert "plain&quot; is refused" in with_plain.text
    assert Grant.objects.count() == before


def test_a_code_without_its_verifier_or_with_another_gets_no_token(
    flow, seattle_person, public_client
):
    flow.sign_in(seattle_person)
    pkce = Pkce.new()
    code = flow.code(public_client.client_id, pkce)

    wrong = flow.exchange(public_client.client_id, code, Pkce.new())

    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"


def test_a_code_works_once(flow, seattle_person, public_client):
    flow.sign_in(seattle_person)
    pkce = Pkce.new()
    code = flow.code(public_client.client_id, pkce)

    assert flow.exchange(public_client.client_id, code, pkce).status_code == 200
    again = flow.exchange(public_client.client_id, code, pkce)

    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_family(
    flow, seattle_person, public_client, zava_server
):
    flow.sign_in(seattle_person)
    pkce = Pkce.new()
    first = flow.exchange(
        public_client.client_id, flow.code(public_client.client_id, pkce), pkce
    ).json()
    refresh = {"grant_type": "refresh_token", "client_id": public_client.client_id}

    second = flow.token(**refresh, refresh_token=first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert post(zava_server.mcp_url, CALL, token=second["access_token"]).status_code == 200
    assert post(zava_server.mcp_url, CALL, token=first["access_token"]).status_code == 401

    replay = flow.token(**refresh, refresh_token=first["refresh_token"])

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    # The thief's replay cost the whole family: the newest tokens are dead too.
    assert post(zava_server.mcp_url, CALL, token=second["access_token"]).status_code == 401
    assert flow.token(**refresh, refresh_token=second["refresh_token"]).status_code == 400
    assert not RefreshToken.objects.filter(
        revoked__isnull=True, user__username=seattle_person.username
    ).exists()


def test_an_unknown_redirect_uri_is_never_redirected_to(flow, seattle_person, public_client):
    flow.sign_in(seattle_person)

    response = flow.authorize(
        public_client.client_id, Pkce.new(), redirect_uri="https://attacker.example/callback"
    )

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "attacker.example" not in response.text or "invalid_request" in response.text


def test_a_loopback_redirect_may_use_another_port(flow, seattle_person, public_client):
    flow.sign_in(seattle_person)
    other_port = REDIRECT_URI.replace("8976", "50123")

    page = flow.authorize(public_client.client_id, Pkce.new(), redirect_uri=other_port)

    assert page.status_code == 200
    assert "127.0.0.1:50123" in page.text


def test_state_and_this_servers_resource_are_required(flow, seattle_person, public_client):
    flow.sign_in(seattle_person)
    client_id = public_client.client_id

    for overrides in (
        {"state": None},
        {"resource": None},
        {"resource": "https://other.example/mcp"},
    ):
        response = flow.authorize(client_id, Pkce.new(), **overrides)
        assert response.status_code == 400, overrides
        assert 'id="problem"' in response.text


def test_an_account_without_a_manager_gets_a_clear_page_and_no_grant(
    flow, person_without_manager, public_client
):
    flow.sign_in(person_without_manager)
    before = Grant.objects.count()

    response = flow.authorize(public_client.client_id, Pkce.new())

    assert response.status_code == 403
    assert "not linked to an active Zava manager" in response.text
    assert Grant.objects.count() == before


def test_authorize_sends_a_signed_out_person_to_the_admin_styled_login(flow, public_client):
    response = flow.authorize(public_client.client_id, Pkce.new())

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/o/login/?next=/o/authorize/")
    login = flow.http.get(response.headers["Location"])
    assert 'id="login-form"' in login.text
    assert "Zava head office" in login.text


@override_settings(ZAVA_OAUTH_REQUESTS_PER_MINUTE=2)
def test_login_and_token_requests_are_limited_per_address(fresh_rate_limits, rate_limit_clock):
    client = Client()
    wrong = {"username": "nobody", "password": "wrong"}

    logins = [client.post("/o/login/", wrong).status_code for _ in range(3)]
    tokens = [
        client.post("/o/token/", {"grant_type": "authorization_code"}).status_code for _ in range(3)
    ]

    assert logins == [200, 200, 429]
    assert 429 not in tokens[:2]
    assert tokens[2] == 429


def test_the_sign_in_and_consent_pages_refuse_to_be_framed(flow, seattle_person, public_client):
    """X-Frame-Options for older browsers, CSP frame-ancestors for the rest."""
    login = flow.http.get("/o/login/")
    flow.sign_in(seattle_person)
    consent = flow.authorize(public_client.client_id, Pkce.new())
    refused = flow.authorize(public_client.client_id, Pkce.new(), state=None)

    for page in (login, consent, refused):
        assert page.status_code in (200, 400), page.text
        assert page.headers["X-Frame-Options"] == "DENY"
        assert page.headers["Content-Security-Policy"] == "frame-ancestors 'none'"


def test_a_client_stored_with_a_plain_http_host_never_gets_a_code(flow, seattle_person, database):
    """Written before the rule (or by hand): refused at authorization, named or not."""
    stored = Application.objects.create(
        name="Zava Official",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="http://evil.example/cb",
        registration_source=Application.RegistrationSource.DCR,
    )
    try:
        flow.sign_in(seattle_person)
        before = Grant.objects.count()
        named = flow.authorize(stored.client_id, Pkce.new(), redirect_uri="http://evil.example/cb")
        default = flow.authorize(stored.client_id, Pkce.new(), redirect_uri=None)

        for response in (named, default):
            assert response.status_code == 400, response.text
            assert "evil.example" not in response.headers.get("Location", "")
        assert Grant.objects.count() == before
    finally:
        stored.delete()


def test_the_consent_page_marks_a_self_registered_name_unverified(
    flow, seattle_person, public_client, zava_server
):
    registered = httpx.post(
        f"{zava_server.url}/o/register/",
        json={"client_name": "Zava Official", "redirect_uris": [REDIRECT_URI],
              "token_endpoint_auth_method": "none"},
        timeout=30,
    ).json()  # fmt: skip
    try:
        flow.sign_in(seattle_person)
        self_named = flow.authorize(registered["client_id"], Pkce.new())
        head_office = flow.authorize(public_client.client_id, Pkce.new())

        assert self_named.status_code == head_office.status_code == 200
        assert re.search(
            r'Zava Official</strong>\s*<span id="client-unverified">\(unverified', self_named.text
        )
        assert 'id="client-unverified"' not in head_office.text  # entered by head office
        for page in (self_named, head_office):
            host = re.search(r'<strong id="redirect-host">([^<]*)</strong>', page.text)
            assert host and host.group(1) == "127.0.0.1:8976"
            assert "a program on this computer" in page.text
    finally:
        Application.objects.filter(client_id=registered["client_id"]).delete()
