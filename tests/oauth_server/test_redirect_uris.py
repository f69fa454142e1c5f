"""The redirect URI rule on its own: https anywhere, plain http only to the loopback."""

from __future__ import annotations

import pytest

from oauth_server.redirect_uris import (
    metadata_redirect_problems,
    redirect_uri_problem,
    redirect_uri_problems,
)


@pytest.mark.parametrize(
    "uri",
    [
        "https://client.example/cb",
        "HTTPS://Client.Example/cb",
        "http://127.0.0.1:8976/callback",
        "http://127.8.9.10/callback",  # all of 127.0.0.0/8 is the loopback
        "http://LOCALHOST:3000/",
        "http://[::1]:9000/cb",
    ],
)
def test_https_and_the_loopback_are_allowed(uri):
    assert redirect_uri_problem(uri) == ""


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("http://evil.example/cb", "plain http"),
        ("http://10.0.0.5:8080/cb", "plain http"),  # a private address is not this machine
        ("http://[::ffff:8.8.8.8]/cb", "plain http"),
        ("http://localhost.evil.example/cb", "plain http"),
        ("http://127.0.0.1@evil.example/cb", "plain http"),
        ("https:///cb", "no host"),
        ("http://[::1/cb", "not a valid URI"),
        ("javascript:alert(1)", "'javascript'"),
        ("vbscript:msgbox(1)", "'vbscript'"),
        ("/relative/cb", "'(none)'"),
    ],
)
def test_everything_else_is_refused_with_the_reason(uri, says):
    assert says in redirect_uri_problem(uri)


def test_each_refused_uri_is_named_once_and_the_allowed_ones_not_at_all():
    problems = redirect_uri_problems(
        ["https://ok.example/cb", "http://evil.example/a", "data:text/html,x"]
    )
    assert len(problems) == 2
    assert "'http://evil.example/a'" in problems[0] and "'data:text/html,x'" in problems[1]


def test_metadata_with_malformed_redirect_uris_is_left_to_the_toolkit():
    assert metadata_redirect_problems({"redirect_uris": "http://evil.example/cb"}) == []
    assert metadata_redirect_problems({"redirect_uris": [7]}) == []
    assert metadata_redirect_problems(["not", "a", "dict"]) == []
    (problem,) = metadata_redirect_problems({"redirect_uris": ["http://evil.example/cb"]})
    assert "http://evil.example/cb" in problem
