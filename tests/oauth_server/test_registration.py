"""RFC 7591 dynamic client registration: open, limited per address, switchable off."""

from __future__ import annotations

import httpx
import pytest
from django.test import Client, override_settings
from oauth2_provider.models import Application

from retail.request_counters import clear_counters

NAME = "Registration test client"
BODY = {
    "client_name": NAME,
    "redirect_uris": ["http://127.0.0.1:8978/callback"],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "none",
}


@pytest.fixture
def forget_registrations(database):
    clear_counters()  # the per-address limits start afresh
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
