"""RFC 7591 dynamic client registration: open, limited per address, switchable off."""

from __future__ import annotations

import httpx
import pytest
from django.test import Client, override_settings
from oauth2_provider.models import Application

NAME = "Registration test client"
BODY = {
    "client_name": NAME,
    "redirect_uris": ["http://127.0.0.1:8978/callback"],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "none",
}


@pytest.fixture
def forget_registrations(fresh_rate_limits):
    yield
    Application.objects.filter(name=NAME).delete()


def _register(client: Client, body: dict = BODY):
    return client.post("/o/register/", body, content_type="application/json")


def test_a_client_registers_itself_as_a_public_client(forget_registrations, zava_server):
    response = httpx.post(f"{zava_server.url}/o/register/", json=BODY, timeout=30)

    assert response.status_code == 201, response.text
    registered = response.json()
    app = Application.objects.get(client_id=registered["client_id"])
    assert app.client_type == Application.CLIENT_PUBLIC
    assert app.redirect_uris == "http://127.0.0.1:8978/callback"
    assert "client_secret" not in registered


def test_a_client_registered_for_another_grant_gets_no_token(forget_registrations, zava_server):
    body = {
        **BODY,
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_post",
    }
    registered = httpx.post(f"{zava_server.url}/o/register/", json=body, timeout=30).json()

    response = httpx.post(
        f"{zava_server.url}/o/token/",
        data={
            "grant_type": "client_credentials",
            "client_id": registered["client_id"],
            "client_secret": registered["client_secret"],
        },
        timeout=30,
    )

    assert response.status_code in (400, 401)
    assert "access_token" not in response.json()


@override_settings(ZAVA_OAUTH_REGISTRATIONS_PER_MINUTE=2)
def test_registrations_are_limited_per_address(forget_registrations, rate_limit_clock):
    client = Client(HTTP_HOST="127.0.0.1")

    statuses = [_register(client).status_code for _ in range(3)]

    assert statuses == [201, 201, 429]
    assert Application.objects.filter(name=NAME).count() == 2


def test_registration_can_be_switched_off(forget_registrations, settings):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "DCR_ENABLED": False}
    client = Client(HTTP_HOST="127.0.0.1")

    assert _register(client).status_code == 404
    metadata = client.get("/.well-known/oauth-authorization-server").json()
    assert "registration_endpoint" not in metadata
    assert not Application.objects.filter(name=NAME).exists()


REFUSED_REDIRECTS = [
    "http://evil.example/cb",
    "http://evil.example:8978/cb",
    "http://127.0.0.1.nip.io/cb",  # a name that starts like the loopback
    "http://localhost.evil.example/cb",
    "http://127.0.0.1@evil.example/cb",  # userinfo: the host is evil.example
    "javascript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "com.example.app:/oauth2redirect",  # private-use schemes are not allowed here
    "ftp://files.example/cb",
]
ALLOWED_REDIRECTS = [
    "https://client.example/callback",
    "https://vscode.dev/redirect",
    "http://127.0.0.1:8978/callback",
    "http://127.0.0.1/callback",
    "http://localhost:33418/",
    "http://[::1]:9000/callback",
]


@pytest.mark.parametrize("uri", REFUSED_REDIRECTS)
def test_a_redirect_uri_off_https_and_the_loopback_is_refused_at_registration(
    forget_registrations, zava_server, uri
):
    body = {**BODY, "client_name": NAME, "redirect_uris": ["https://client.example/ok", uri]}
    response = httpx.post(f"{zava_server.url}/o/register/", json=body, timeout=30)

    assert response.status_code == 400, response.text
    refusal = response.json()
    assert refusal["error"] == "invalid_redirect_uri"
    assert uri in refusal["error_description"]
    assert "https://client.example/ok" not in refusal["error_description"]
    assert not Application.objects.filter(name=NAME).exists()


@pytest.mark.parametrize("uri", ALLOWED_REDIRECTS)
def test_https_and_loopback_redirect_uris_register(forget_registrations, zava_server, uri):
    response = httpx.post(
        f"{zava_server.url}/o/register/", json={**BODY, "redirect_uris": [uri]}, timeout=30
    )

    assert response.status_code == 201, response.text
    assert Application.objects.get(client_id=response.json()["client_id"]).redirect_uris == uri


def test_a_registered_client_cannot_update_itself_to_a_plain_http_host(
    forget_registrations, zava_server
):
    registered = httpx.post(f"{zava_server.url}/o/register/", json=BODY, timeout=30).json()
    headers = {"Authorization": f"Bearer {registered['registration_access_token']}"}
    update = {
        **BODY,
        "client_id": registered["client_id"],
        "redirect_uris": ["http://evil.example/cb"],
    }

    response = httpx.put(registered["registration_client_uri"], json=update, headers=headers)

    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_redirect_uri"
    stored = Application.objects.get(client_id=registered["client_id"])
    assert stored.redirect_uris == BODY["redirect_uris"][0]
