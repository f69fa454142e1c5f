"""The one definition of a token's shape and of a bearer header, which every reader uses."""

from __future__ import annotations

import secrets

import pytest
from django.test import RequestFactory

from infrastructure.credentials import TOKEN_PATTERN, bearer_credential, is_token_shaped

TOKEN = "zava_" + secrets.token_urlsafe(32)


def test_a_token_is_the_prefix_and_43_url_safe_characters():
    assert is_token_shaped(TOKEN)
    assert not is_token_shaped(TOKEN + "x")
    assert not is_token_shaped(TOKEN[:-1])
    assert not is_token_shaped(" " + TOKEN)
    assert not is_token_shaped(TOKEN + "\n")
    assert TOKEN_PATTERN.search(f"id=abc;{TOKEN};") is not None  # found inside text


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param(f"Bearer {TOKEN}", TOKEN, id="bearer"),
        pytest.param(f"bearer  {TOKEN} ", TOKEN, id="any-case-and-spaces"),
        pytest.param(f"Basic {TOKEN}", None, id="other-scheme"),
        pytest.param("Bearer ", None, id="empty"),
        pytest.param(TOKEN, None, id="no-scheme"),
        pytest.param(None, None, id="no-header"),
    ],
)
def test_bearer_credential(header, expected):
    headers = {} if header is None else {"HTTP_AUTHORIZATION": header}
    assert bearer_credential(RequestFactory().get("/", **headers)) == expected
