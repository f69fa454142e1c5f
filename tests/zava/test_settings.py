"""Settings read from the environment: production checks, the documented variables, providers."""

from __future__ import annotations

import ast
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

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


# --- Every variable read, documented: the README's table and the code, both ways -------

#: Calls that read one environment variable by its literal name.
_ENV_READERS = {
    "str",
    "bool",
    "int",
    "float",
    "list",
    "db",
    "cache",
    "email_url",
    "get",
    "getenv",
}
#: Read, but set by the code itself for its own child processes, not by people.
_INTERNAL = {"ZAVA_PROMETHEUS_DIR_OWNED"}  # infrastructure/observability/gunicorn_hooks.py


def _variables_the_code_reads() -> set[str]:
    """Names passed to ``env.<cast>(…)``, ``os.environ.get(…)`` or ``os.getenv(…)``."""
    names: set[str] = set()
    for package in ("zava", "infrastructure", "retail", "mcp_tools", "oauth_server"):
        for path in (settings.BASE_DIR / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                target = ast.unparse(node.func.value)
                if node.func.attr not in _ENV_READERS or target not in ("env", "os.environ", "os"):
                    continue
                argument = node.args[0] if node.args else None
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    names.add(argument.value)
                elif isinstance(argument, ast.Name):  # a module constant holding the name
                    names.add(_constant(path, argument.id))
    return names - _INTERNAL


def _constant(path: Path, name: str) -> str:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == name:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path}: {name} is not a module-level constant")


def _variables_the_readme_documents() -> set[str]:
    """The names in the first column of the README's configuration table."""
    readme = (settings.BASE_DIR / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert rows, "the README has no configuration table"
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def test_readme_configuration_table_matches_what_the_code_reads():
    read, documented = _variables_the_code_reads(), _variables_the_readme_documents()
    assert "ZAVA_EMBEDDING_PROVIDER" in read and "WEB_CONCURRENCY" in read  # the scan works
    assert read - documented == set(), "read by the code but missing from the README's table"
    assert documented - read == set(), "in the README's table but read by nothing"


# --- The embedding provider, chosen by environment variables alone ----------------------

_SHOW_PROVIDER = (
    "from retail.embeddings import get_provider; p = get_provider(); "
    "print(p.name, p.model_name, p.dimensions)"
)


def _without_embedding_variables() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ZAVA_EMBEDDING_", "OPENAI_", "AZURE_OPENAI_"))
    }


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        pytest.param({}, "local sentence-transformers/all-MiniLM-L6-v2 384", id="default"),
        pytest.param(
            {
                "ZAVA_EMBEDDING_PROVIDER": "openai",
                "OPENAI_API_KEY": "sk-test-not-a-key",
                "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",  # never called: building is offline
                "OPENAI_EMBEDDING_MODEL": "text-embedding-3-large",
                "OPENAI_EMBEDDING_DIMENSIONS": "256",
            },
            "openai text-embedding-3-large 256",
            id="openai",
        ),
        pytest.param(
            {
                "ZAVA_EMBEDDING_PROVIDER": "azure_openai",
                "AZURE_OPENAI_ENDPOINT": "http://127.0.0.1:9",
                "AZURE_OPENAI_API_KEY": "azure-test-not-a-key",
                "AZURE_OPENAI_EMBEDDING_DEPLOYMENT": "prod-embeddings",
                "AZURE_OPENAI_EMBEDDING_MODEL": "text-embedding-3-large",
                "AZURE_OPENAI_EMBEDDING_DIMENSIONS": "1024",
            },
            "azure_openai text-embedding-3-large 1024",
            id="azure_openai",
        ),
    ],
)
def test_embedding_provider_follows_the_environment(environment, expected):
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", _SHOW_PROVIDER],
        cwd=settings.BASE_DIR,
        env={**_without_embedding_variables(), **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected
