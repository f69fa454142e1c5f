"""Client ID Metadata Documents: the client_id is an HTTPS URL the server fetches.

A local HTTPS server (its own throwaway CA) serves the documents; a gunicorn server
of its own is told, by the test-only setting, to fetch https://localhost from the
loopback and trust that CA.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.test import override_settings
from oauth2_provider.cimd import CIMDError
from oauth2_provider.models import Application
from playwright.async_api import async_playwright

from oauth_server.client_metadata import ClientMetadataFetcher
from tests.browser.test_admin_flow import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import LiveServer, gunicorn_server, server_environment
from tests.oauth_server.conftest import REDIRECT_URI, Flow, Pkce
from tests.oauth_server.document_server import DocumentServer, self_signed_localhost
from tests.oauth_server.test_mcp_sign_in import (
    CALLBACK,
    BrowserPerson,
    MemoryStorage,
    _provider,
    _stores,
)

CLIENT_NAME = "CIMD test client"


def _document(url: str, redirect_uri: str) -> dict[str, Any]:
    return {
        "client_id": url,
        "client_name": CLIENT_NAME,
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return self_signed_localhost(tmp_path_factory.mktemp("cimd-ca"))


@pytest.fixture(scope="module")
def documents(certificate) -> Iterator[DocumentServer]:
    server = DocumentServer(*certificate)
    yield server
    server.close()


@pytest.fixture(scope="module")
def cimd_server(seeded, certificate, tmp_path_factory) -> Iterator[LiveServer]:
    environment = server_environment(ZAVA_OAUTH_CIMD_LOCALHOST_CA_FILE=str(certificate[0]))
    log = tmp_path_factory.mktemp("cimd-server") / "gunicorn.log"
    with gunicorn_server(log, environment) as server:
        yield server


@pytest.fixture
def forget_cimd_clients(database) -> Iterator[None]:
    yield
    Application.objects.filter(name=CLIENT_NAME).delete()


@pytest.mark.browser
def test_an_mcp_client_signs_in_with_its_metadata_document(
    cimd_server, documents, seattle_person, forget_cimd_clients
):
    url = documents.url("/sdk-client.json")
    documents.documents["/sdk-client.json"] = _document(url, CALLBACK)
    storage = MemoryStorage()

    async def connect() -> list[list[int]]:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            person = BrowserPerson(await browser.new_page(), seattle_person)
            provider = _provider(cimd_server.mcp_url, storage, person, client_metadata_url=url)
            async with httpx.AsyncClient(auth=provider, timeout=60) as http:
                stores = await _stores(http, cimd_server.mcp_url)
            await browser.close()
            return stores

    assert asyncio.run(connect()) == [[1]]
    assert storage.client_info.client_id == url  # no registration: the URL is the id
    app = Application.objects.get(client_id=url)
    assert app.registration_source == Application.RegistrationSource.CIMD
    assert app.client_type == Application.CLIENT_PUBLIC
    assert documents.fetches["/sdk-client.json"] == 1  # cached for the token request


def test_a_redirect_uri_the_document_does_not_list_is_refused(
    cimd_server, documents, seattle_person, forget_cimd_clients
):
    url = documents.url("/elsewhere.json")
    documents.documents["/elsewhere.json"] = _document(url, "https://client.example/callback")
    flow = Flow(cimd_server.url)
    flow.sign_in(seattle_person)

    response = flow.authorize(url, Pkce.new(), redirect_uri=REDIRECT_URI)

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert Application.objects.filter(client_id=url).exists()  # fetched, but not this URI


def test_a_document_naming_another_client_id_is_an_unknown_client(
    cimd_server, documents, seattle_person, forget_cimd_clients
):
    url = documents.url("/impostor.json")
    documents.documents["/impostor.json"] = _document("https://claude.ai/client.json", REDIRECT_URI)
    flow = Flow(cimd_server.url)
    flow.sign_in(seattle_person)

    response = flow.authorize(url, Pkce.new())

    assert response.status_code == 400
    assert not Application.objects.filter(client_id=url).exists()


@override_settings(ZAVA_OAUTH_CIMD_LOCALHOST_CA_FILE="")
def test_without_the_test_setting_loopback_documents_are_never_fetched(documents):
    url = documents.url("/private.json")
    documents.documents["/private.json"] = _document(url, REDIRECT_URI)

    with pytest.raises(CIMDError, match="non-public address"):
        ClientMetadataFetcher().fetch(url)
    assert documents.fetches["/private.json"] == 0


def test_the_deploy_check_refuses_the_test_only_setting(settings) -> None:
    from oauth_server.checks import cimd_loopback_fetch_off

    settings.ZAVA_OAUTH_CIMD_LOCALHOST_CA_FILE = "tests-ca.pem"
    assert [m.id for m in cimd_loopback_fetch_off()] == ["zava.E101"]
    settings.ZAVA_OAUTH_CIMD_LOCALHOST_CA_FILE = ""
    assert cimd_loopback_fetch_off() == []


@pytest.mark.parametrize("redirect_uri", ["http://evil.example/cb", "javascript:alert(1)"])
def test_a_document_with_a_refused_redirect_uri_is_an_unknown_client(
    cimd_server, documents, seattle_person, forget_cimd_clients, redirect_uri
):
    path = f"/refused-{abs(hash(redirect_uri))}.json"
    url = documents.url(path)
    documents.documents[path] = _document(url, redirect_uri)
    flow = Flow(cimd_server.url)
    flow.sign_in(seattle_person)

    response = flow.authorize(url, Pkce.new(), redirect_uri=redirect_uri)

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert documents.fetches[path] == 1  # fetched, read, refused
    assert not Application.objects.filter(client_id=url).exists()
