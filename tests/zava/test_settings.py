"""Production settings: `manage.py check --deploy` is clean with HTTPS configured."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = pytest.mark.slow  # each test starts manage.py in a subprocess


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    for name in ("SENTRY_DSN", "ZAVA_PROXY_SSL_HEADER", "ZAVA_SSL_REDIRECT", "ZAVA_HSTS_SECONDS"):
        full_env.pop(name, None)
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50)[:50],
    "ALLOWED_HOSTS": "zava.example",
}


def test_check_deploy_passes_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, ZAVA_HTTPS="1")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_check_deploy_flags_a_server_without_https():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr, warning


def test_https_settings_follow_the_environment():
    show = (
        "import json; from django.conf import settings as s; print(json.dumps(["
        "s.SECURE_PROXY_SSL_HEADER, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS,"
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_REDIRECT_EXEMPT]))"
    )
    result = _manage("shell", "-c", show, **PRODUCTION, ZAVA_HTTPS="1", ZAVA_PROXY_SSL_HEADER="1")
    assert result.returncode == 0, result.stderr
    header, redirect, hsts, session_secure, csrf_secure, exempt = json.loads(
        result.stdout.strip().splitlines()[-1]
    )
    assert header == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert redirect is True
    assert hsts == 31_536_000
    assert session_secure is csrf_secure is True
    assert "^health/" in exempt  # probes over plain HTTP are not redirected
    # Local runs (no HTTPS) keep plain-HTTP cookies and no proxy trust.
    assert settings.SECURE_PROXY_SSL_HEADER is None
    assert settings.SESSION_COOKIE_SECURE is False
