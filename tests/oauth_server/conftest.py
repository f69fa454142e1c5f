"""A manager who signs in, an account without a manager, registered clients, and the
HTTP steps of the authorization-code flow as a client and a person perform them."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, set_token_value

from retail.models import Manager
from tests.identities import SEATTLE

PASSWORD = "correct horse battery staple 7"
REDIRECT_URI = "http://127.0.0.1:8976/callback"
CLIENT_SECRET = "test-client-secret-" + "x" * 20
HIDDEN_INPUT = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')


@dataclass(frozen=True)
class Person:
    username: str
    password: str = PASSWORD


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


def _user(username: str) -> User:
    User.objects.filter(username=username).delete()
    return User.objects.create_user(username=username, password=PASSWORD)


@pytest.fixture
def seattle_person(database) -> Iterator[Person]:
    """An account linked to the Seattle store manager."""
    user = _user("seattle.signin")
    Manager.objects.filter(email=SEATTLE.email).update(user=user)
    yield Person(user.username)
    Manager.objects.filter(email=SEATTLE.email).update(user=None)
    user.delete()  # its grants and tokens go with it


@dataclass(frozen=True)
class Admin:
    username: str
    password: str


@pytest.fixture
def admin_account(database) -> Iterator[Admin]:
    """A head-office superuser, to sign in to the admin in a browser."""
    username, password = f"oauth-admin-{secrets.token_hex(3)}", secrets.token_urlsafe(18)
    user = User.objects.create_superuser(username, email="", password=password)
    yield Admin(username, password)
    user.delete()


@pytest.fixture
def person_without_manager(database) -> Iterator[Person]:
    user = _user("not.a.manager")
    yield Person(user.username)
    user.delete()


@pytest.fixture
def public_client(database) -> Iterator[Application]:
    app = Application.objects.create(
        name="Test MCP client",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,
    )
    yield app
    app.delete()


@pytest.fixture
def confidential_client(database) -> Iterator[Application]:
    app = Application.objects.create(
        name="Test confidential client",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,
        client_secret=CLIENT_SECRET,
    )
    yield app
    app.delete()


class Flow:
    """One browser-like session against the live server (cookies kept)."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.http = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)
        self.redirected_with: dict[str, list[str]] = {}  # the last consent's redirect query

    def sign_in(self, person: Person) -> None:
        self.http.get("/o/login/")
        response = self.http.post(
            "/o/login/",
            data={
                "username": person.username,
                "password": person.password,
                "csrfmiddlewaretoken": self.http.cookies["csrftoken"],
                "next": "/o/login/",
            },
        )
        assert response.status_code == 302, response.text

    def authorize(
        self, client_id: str, pkce: Pkce | None, **overrides: str | None
    ) -> httpx.Response:
        """GET /o/authorize/ as the client's redirect does; None drops a parameter."""
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "retail.read",
            "state": secrets.token_urlsafe(16),
            "resource": f"{self.base}/mcp",
        }
        if pkce:
            params.update(code_challenge=pkce.challenge, code_challenge_method="S256")
        params.update(overrides)
        return self.http.get(
            "/o/authorize/", params={k: v for k, v in params.items() if v is not None}
        )

    def consent(self, page: httpx.Response) -> str:
        """Press Allow on the consent page; the code the redirect carries."""
        assert page.status_code == 200, page.text
        fields = {name: html.unescape(value) for name, value in HIDDEN_INPUT.findall(page.text)}
        response = self.http.post(
            "/o/authorize/",
            data={**fields, "allow": "Allow"},
            headers={"Referer": str(page.url)},
        )
        assert response.status_code == 302, response.text
        location = response.headers["Location"]
        assert location.startswith(REDIRECT_URI)
        query = parse_qs(urlsplit(location).query)
        assert query["state"] == [fields["state"]]
        self.redirected_with = query
        return query["code"][0]

    def code(self, client_id: str, pkce: Pkce) -> str:
        return self.consent(self.authorize(client_id, pkce))

    def token(self, **data: str) -> httpx.Response:
        return self.http.post("/o/token/", data=data)

    def exchange(self, client_id: str, code: str, pkce: Pkce, **extra: str) -> httpx.Response:
        return self.token(
            grant_type="authorization_code",
            code=code,
            redirect_uri=REDIRECT_URI,
            client_id=client_id,
            code_verifier=pkce.verifier,
            resource=f"{self.base}/mcp",
            **extra,
        )


@pytest.fixture
def flow(zava_server) -> Iterator[Flow]:
    flow = Flow(zava_server.url)
    yield flow
    flow.http.close()


@pytest.fixture
def make_token(seattle_person, public_client, zava_server):
    """Writes an access token straight into the toolkit's table; returns the raw token."""
    user = User.objects.get(username=seattle_person.username)

    def make(
        *, resource: list[str] | None = None, scope: str = "retail.read", expires_in: int = 600
    ) -> str:
        raw = secrets.token_urlsafe(30)
        token = AccessToken(
            user=user,
            application=public_client,
            scope=scope,
            expires=timezone.now() + timedelta(seconds=expires_in),
            resource=[zava_server.mcp_url] if resource is None else resource,
        )
        set_token_value(token, raw)
        token.save()
        return raw

    return make
