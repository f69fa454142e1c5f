"""Settings for Zava MCP, read from the environment (and an optional ``.env``).

Everything a deployment changes is an environment variable; the defaults suit a
first local run. Without ``DATABASE_URL`` the project starts its embedded
PostgreSQL in ``var/pgdata``.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import unquote, urlsplit

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _local_secret_key() -> str:
    """A key generated once into the ignored ``var/`` folder, never committed."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="") or _local_secret_key()
# Previous keys, still accepted for signatures (sessions, password resets) while they
# expire: rotate by moving the old SECRET_KEY here, then drop it after a session age.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- HTTPS (production) -----------------------------------------------------------
# ZAVA_HTTPS=true when clients reach the server over HTTPS (directly or through a
# proxy): secure cookies, HSTS and a redirect of plain HTTP. Behind a proxy that
# terminates TLS, also ZAVA_PROXY_SSL_HEADER=true so that Django believes the proxy's
# X-Forwarded-Proto (only then: a client could send that header itself).
ZAVA_HTTPS = env.bool("ZAVA_HTTPS", default=False)
if env.bool("ZAVA_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = ZAVA_HTTPS
SECURE_SSL_REDIRECT = env.bool("ZAVA_SSL_REDIRECT", default=ZAVA_HTTPS)
# Probes and scrapers often speak plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("ZAVA_HSTS_SECONDS", default=31_536_000) if ZAVA_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("ZAVA_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("ZAVA_HSTS_PRELOAD", default=True)
SESSION_COOKIE_HTTPONLY = True

INSTALLED_APPS = [
    "retail.admin_site.ZavaAdminConfig",  # Django's admin with the head-office dashboard
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "mcp_server",
    "zava.apps.ZavaConfig",  # connects the project's signals in ready()
    "oauth2_provider",  # django-oauth-toolkit: the OAuth 2.1 authorization server under /o/
    "oauth_server",  # Zava's sign-in pages and settings checks around it
    "retail",
    "mcp_tools",
]

MIDDLEWARE = [
    # Outermost: a request id and one log line per request, whatever answers it.
    "infrastructure.observability.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves the admin's CSS and JS from gunicorn itself (no web server in front needed).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # The same refusal to be framed, as CSP frame-ancestors (what browsers follow first).
    "infrastructure.frame_ancestors.FrameAncestorsMiddleware",
    # Authenticates /mcp requests; every answer of /mcp is JSON, errors included.
    "mcp_tools.middleware.McpAuthMiddleware",
]

ROOT_URLCONF = "zava.urls"
WSGI_APPLICATION = "zava.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------
# Two aliases on one database. ``default`` logs in as the owner role (migrations,
# admin, seeding, authentication). ``tenant`` logs in as the gateway role, which
# can do nothing but switch to the restricted tenant role inside a tenant context
# (see retail/tenancy/transaction.py).

ZAVA_DB_ROLES = {
    "owner": env.str("ZAVA_DB_OWNER_ROLE", default="zava_owner"),
    "gateway": env.str("ZAVA_DB_GATEWAY_ROLE", default="zava_gateway"),
    "tenant": env.str("ZAVA_DB_TENANT_ROLE", default="zava_tenant"),
}
ZAVA_EMBEDDED_DB = not env.str("DATABASE_URL", default="")

_pool = {
    "min_size": env.int("ZAVA_DB_POOL_MIN", default=1),
    "max_size": env.int("ZAVA_DB_POOL_MAX", default=4),  # ≥ gunicorn threads per worker
    # How long a request waits for a connection; past it the database counts as down.
    "timeout": env.float("ZAVA_DB_POOL_TIMEOUT", default=2.0),
    "max_idle": 300,
}
_db_options = {"pool": _pool} if env.bool("ZAVA_DB_POOL", default=True) else {}

if ZAVA_EMBEDDED_DB:
    from infrastructure.embedded_postgres import ensure_embedded_server

    _server = ensure_embedded_server(
        Path(env.str("ZAVA_PGDATA", default=str(VAR_DIR / "pgdata"))),
        database="zava",
        roles=ZAVA_DB_ROLES,
    )
    _default_db = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "zava",
        "USER": ZAVA_DB_ROLES["owner"],
        "PASSWORD": "",
        "HOST": str(_server.socket_dir),
        "PORT": str(_server.port),
    }
else:
    _default_db = env.db("DATABASE_URL")
# Point a process at another database on the same server (the test suite's server).
_default_db["NAME"] = env.str("ZAVA_DB_NAME", default=_default_db["NAME"])

_default_db.update(
    {
        # Parallel test runs on one server each need their own test database.
        "TEST": {"NAME": env.str("ZAVA_TEST_DB_NAME", default="") or None},
        # Django's backend with a pool check that needs no round trip (infrastructure/postgresql).
        "ENGINE": "infrastructure.postgresql",
        "CONN_MAX_AGE": 0,  # the pool keeps connections; Django must not as well
        "CONN_HEALTH_CHECKS": False,  # the pool checks them instead
        # Outside a transaction Django's server-side cursors (QuerySet.iterator(), the
        # admin's choice lists) are WITH HOLD cursors fetched over several transactions,
        # which a transaction-mode pooler (PgBouncer) may send to other server
        # connections; without them the project runs behind one (docs/scaling.md).
        "DISABLE_SERVER_SIDE_CURSORS": True,
        "OPTIONS": {**_db_options, **_default_db.get("OPTIONS", {})},
    }
)
DATABASES = {
    "default": _default_db,
    "tenant": {
        **_default_db,
        "USER": ZAVA_DB_ROLES["gateway"],
        "PASSWORD": env.str("ZAVA_DB_GATEWAY_PASSWORD", default=""),
        "OPTIONS": {**_default_db["OPTIONS"]},
    },
}
# Read replicas (PostgreSQL streaming replicas of the primary): one alias each,
# replica_1, replica_2, ..., logging in as the gateway role like ``tenant``. A URL gives
# the replica's host, port and options (postgres://replica1.example:5432); database
# name, roles and passwords are the primary's, which a physical replica carries.
# retail/replicas.py routes tenant reads to them and skips one that is down or lags.
ZAVA_REPLICA_ALIASES: list[str] = []
for _number, _url in enumerate(env.list("DATABASE_REPLICA_URLS", default=[]), start=1):
    # With a path (any: the name is the primary's), django-environ quotes a host once.
    _parts = urlsplit(_url)
    _replica = environ.Env.db_url_config(_parts._replace(path=_parts.path or "/").geturl())
    ZAVA_REPLICA_ALIASES.append(f"replica_{_number}")
    DATABASES[f"replica_{_number}"] = {
        **DATABASES["tenant"],
        "HOST": unquote(_replica["HOST"]),  # a socket directory may come %2F-quoted
        "PORT": str(_replica["PORT"] or ""),
        "OPTIONS": {**DATABASES["tenant"]["OPTIONS"], **_replica.get("OPTIONS", {})},
        "TEST": {"MIRROR": "tenant"},  # never a test database of its own
    }
DATABASE_ROUTERS = ["retail.replicas.ReplicaRouter"] if ZAVA_REPLICA_ALIASES else []
ZAVA_REPLICA_MAX_LAG_SECONDS = env.float("ZAVA_REPLICA_MAX_LAG_SECONDS", default=30.0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cached answers, shared by every worker and host: by default Django's database cache
# (the zava_cache table, created by migration 0007, readable by the owner role only);
# CACHE_URL=redis://host:6379/0 for Redis. Rate limits count in the same place, except
# that with the database cache they use their own one-statement counters
# (retail/rate_limits.py).
CACHES = {"default": env.cache("CACHE_URL", default="dbcache://zava_cache")}
if CACHES["default"]["BACKEND"].endswith("DatabaseCache"):
    CACHES["default"].setdefault("OPTIONS", {}).setdefault(
        "MAX_ENTRIES", env.int("ZAVA_CACHE_MAX_ENTRIES", default=10_000)
    )
# Cached tool answers (schemas, repeated identical queries), keyed by identity, store
# set and data version; 0 turns caching of query results off.
ZAVA_CACHE_SECONDS = env.int("ZAVA_CACHE_SECONDS", default=300)

# Idempotent reads that lose their connection run again, this many times in all.
ZAVA_DB_RETRY_ATTEMPTS = env.int("ZAVA_DB_RETRY_ATTEMPTS", default=3)
ZAVA_DB_RETRY_BACKOFF_MS = env.int("ZAVA_DB_RETRY_BACKOFF_MS", default=100)

# --- Tenant queries -------------------------------------------------------------
ZAVA_QUERY_TIMEOUT_MS = env.int("ZAVA_QUERY_TIMEOUT_MS", default=30_000)
ZAVA_LOCK_TIMEOUT_MS = env.int("ZAVA_LOCK_TIMEOUT_MS", default=2_000)
ZAVA_IDLE_IN_TRANSACTION_TIMEOUT_MS = env.int("ZAVA_IDLE_IN_TRANSACTION_TIMEOUT_MS", default=60_000)
# Tenant-identity HMAC key rotation (manage.py rotate_keys): each process reads the
# current key again after REFRESH seconds; the old key stays valid for OVERLAP seconds,
# which must be longer, so that no worker signs with a key the database refuses.
ZAVA_SIGNING_KEY_REFRESH_SECONDS = env.float("ZAVA_SIGNING_KEY_REFRESH_SECONDS", default=10.0)
ZAVA_SIGNING_KEY_OVERLAP_SECONDS = env.float("ZAVA_SIGNING_KEY_OVERLAP_SECONDS", default=60.0)

# Days the tool-call audit is kept; `manage.py prune_audit` deletes older rows.
ZAVA_AUDIT_RETENTION_DAYS = env.int("ZAVA_AUDIT_RETENTION_DAYS", default=90)

ZAVA_MAX_ROWS = env.int("ZAVA_MAX_ROWS", default=1_000)
ZAVA_MAX_RESULT_BYTES = env.int("ZAVA_MAX_RESULT_BYTES", default=512 * 1024)
# Database values in tool and resource answers are wrapped in <untrusted-data-ID> tags
# (mcp_tools/untrusted.py); off gives the reference's bare text, for clients that
# parse it strictly and never show it to a model.
ZAVA_FENCE_UNTRUSTED_DATA = env.bool("ZAVA_FENCE_UNTRUSTED_DATA", default=True)
# Charts stay readable by their caller as zava://charts/<id> this long; 0: no links.
ZAVA_CHART_LINK_SECONDS = env.int("ZAVA_CHART_LINK_SECONDS", default=3_600)

# --- MCP -------------------------------------------------------------------------
ZAVA_MCP_PATH = "/mcp"
# Browser origins allowed to call /mcp (DNS-rebinding protection); requests without
# an Origin header (SDK clients, curl) and same-origin requests are always allowed.
ZAVA_MCP_ALLOWED_ORIGINS = env.list(
    "ZAVA_MCP_ALLOWED_ORIGINS", default=["http://localhost:6274", "http://127.0.0.1:6274"]
)
ZAVA_MCP_MAX_BODY_BYTES = env.int("ZAVA_MCP_MAX_BODY_BYTES", default=1024 * 1024)
# Requests per minute and token (0: no limit), and failed logins per minute and address.
ZAVA_RATE_LIMIT_PER_MINUTE = env.int("ZAVA_RATE_LIMIT_PER_MINUTE", default=600)
ZAVA_AUTH_FAILURES_PER_MINUTE = env.int("ZAVA_AUTH_FAILURES_PER_MINUTE", default=60)
# The public base URL (https://mcp.example.com) when clients reach the server through a
# proxy; empty: taken from each request. /mcp under it is the OAuth token audience.
ZAVA_PUBLIC_URL = env.str("ZAVA_PUBLIC_URL", default="")
DJANGO_MCP_GLOBAL_SERVER_CONFIG = {"name": "zava-mcp", "stateless": True}
DJANGO_MCP_GET_SERVER_INSTRUCTIONS_TOOL = False

# --- Embeddings (semantic product search) ----------------------------------------
# retail/embeddings/factory.py builds the provider from these. "local" runs
# all-MiniLM-L6-v2 on ONNX Runtime, offline; "openai" and "azure_openai" call the API.
# Empty values count as unset.
ZAVA_EMBEDDING_PROVIDER = env.str("ZAVA_EMBEDDING_PROVIDER", default="") or "local"
ZAVA_EMBEDDING_TIMEOUT = env.float("ZAVA_EMBEDDING_TIMEOUT", default=30.0)  # seconds
ZAVA_EMBEDDING_MAX_RETRIES = env.int("ZAVA_EMBEDDING_MAX_RETRIES", default=3)
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="")  # empty: api.openai.com
OPENAI_EMBEDDING_MODEL = env.str("OPENAI_EMBEDDING_MODEL", default="") or "text-embedding-3-small"
OPENAI_EMBEDDING_DIMENSIONS = env.int("OPENAI_EMBEDDING_DIMENSIONS", default=None)
AZURE_OPENAI_ENDPOINT = env.str("AZURE_OPENAI_ENDPOINT", default="")
AZURE_OPENAI_API_KEY = env.str("AZURE_OPENAI_API_KEY", default="")  # empty: Entra ID
AZURE_OPENAI_API_VERSION = env.str("AZURE_OPENAI_API_VERSION", default="") or "2024-10-21"
AZURE_OPENAI_EMBEDDING_DEPLOYMENT = (
    env.str("AZURE_OPENAI_EMBEDDING_DEPLOYMENT", default="") or "text-embedding-3-small"
)
# The model name recorded beside each embedding; empty: the deployment's name.
AZURE_OPENAI_EMBEDDING_MODEL = env.str("AZURE_OPENAI_EMBEDDING_MODEL", default="")
AZURE_OPENAI_EMBEDDING_DIMENSIONS = env.int("AZURE_OPENAI_EMBEDDING_DIMENSIONS", default=None)

# --- Auth, i18n, static -----------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Also serve files straight from the apps, so the admin is styled without collectstatic
# (tests, `make serve`); `make run` still collects them into STATIC_ROOT.
WHITENOISE_USE_FINDERS = True

# --- Observability ----------------------------------------------------------------
# JSON lines (one object per line) by default, readable text in DEBUG; ZAVA_LOG_FORMAT
# overrides. Tokens and bearer credentials are redacted from every line.
ZAVA_LOG_FORMAT = env.str("ZAVA_LOG_FORMAT", default="text" if DEBUG else "json")
# Tool calls slower than this get a WARNING with their SQL fingerprint.
ZAVA_SLOW_QUERY_MS = env.int("ZAVA_SLOW_QUERY_MS", default=1_000)
# Characters of model-written SQL kept in log lines beside its fingerprint (0: none).
ZAVA_LOG_SQL_CHARS = env.int("ZAVA_LOG_SQL_CHARS", default=300)
# Bearer secret of the Prometheus scraper; /metrics answers 404 while it is empty.
ZAVA_METRICS_TOKEN = env.str("ZAVA_METRICS_TOKEN", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_context": {"()": "infrastructure.observability.logs.RequestContextFilter"},
        "redact_secrets": {"()": "infrastructure.observability.logs.RedactSecretsFilter"},
    },
    "formatters": {
        "json": {"()": "infrastructure.observability.logs.JsonFormatter"},
        "text": {"()": "infrastructure.observability.logs.TextFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if ZAVA_LOG_FORMAT == "json" else "text",
            "filters": ["request_context", "redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # 4xx answers are logged once, by zava.http; server errors still come through.
        "django.request": {"level": "ERROR"},
        "pgserver": {"level": "WARNING"},
    },
}

# Errors to Sentry when SENTRY_DSN is set (never SQL, tokens or request bodies).
ZAVA_RELEASE = env.str("ZAVA_RELEASE", default="") or None
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from infrastructure.observability.sentry import git_commit, init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        release=ZAVA_RELEASE or git_commit(BASE_DIR),
        environment=env.str("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# --- OAuth 2.1 sign-in (django-oauth-toolkit under /o/) ------------------------------
# MCP clients find the authorization server from /mcp's 401, sign the manager in and
# get a short-lived token bound to /mcp (RFC 8707) with the scope retail.read.
# Admin-issued zava_… tokens keep working beside these.
ZAVA_OAUTH_ACCESS_TOKEN_SECONDS = env.int("ZAVA_OAUTH_ACCESS_TOKEN_SECONDS", default=3600)
# RFC 7591 dynamic client registration, open to anyone (clients register before sign-in).
ZAVA_OAUTH_DYNAMIC_REGISTRATION = env.bool("ZAVA_OAUTH_DYNAMIC_REGISTRATION", default=True)
# Per client address and minute: login and token requests, and registrations (0: no limit).
ZAVA_OAUTH_REQUESTS_PER_MINUTE = env.int("ZAVA_OAUTH_REQUESTS_PER_MINUTE", default=30)
ZAVA_OAUTH_REGISTRATIONS_PER_MINUTE = env.int("ZAVA_OAUTH_REGISTRATIONS_PER_MINUTE", default=10)
# Client ID Metadata Documents: a client_id that is an HTTPS URL of the client's metadata.
ZAVA_OAUTH_CLIENT_METADATA_DOCUMENTS = env.bool(
    "ZAVA_OAUTH_CLIENT_METADATA_DOCUMENTS", default=True
)
# Tests only: fetch https://localhost:<port>/… documents from the loopback, trusting this CA.
ZAVA_OAUTH_CIMD_LOCALHOST_CA_FILE = env.str("ZAVA_OAUTH_CIMD_LOCALHOST_CA_FILE", default="")
OAUTH2_PROVIDER = {
    "CIMD_ENABLED": ZAVA_OAUTH_CLIENT_METADATA_DOCUMENTS,
    "CIMD_METADATA_FETCHER": "oauth_server.client_metadata.ClientMetadataFetcher",
    "CIMD_FETCH_TIMEOUT_SECONDS": 5,
    "CIMD_MAX_DOCUMENT_SIZE": 16 * 1024,
    "OAUTH2_VALIDATOR_CLASS": "oauth_server.validator.ZavaOAuth2Validator",
    # Redirect URIs: https, or http to the loopback only (oauth_server.redirect_uris).
    "APPLICATION_ADMIN_CLASS": "oauth_server.admin.ApplicationAdmin",
    "OIDC_ISS_ENDPOINT": ZAVA_PUBLIC_URL.rstrip("/"),  # empty: the issuer is the request's origin
    "DCR_ENABLED": ZAVA_OAUTH_DYNAMIC_REGISTRATION,
    "DCR_REGISTRATION_PERMISSION_CLASSES": ("oauth2_provider.dcr.AllowAllDCRPermission",),
    "SCOPES": {"retail.read": "Read your stores' sales, products and stock"},
    "DEFAULT_SCOPES": ["retail.read"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": ZAVA_OAUTH_ACCESS_TOKEN_SECONDS,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "REFRESH_TOKEN_EXPIRE_SECONDS": env.int("ZAVA_OAUTH_REFRESH_TOKEN_SECONDS", default=30 * 86400),
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,  # a reused refresh token revokes its family
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,  # S256 only, "plain" refused
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,  # only SHA-256 checksums of tokens at rest
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,  # RFC 9207 mix-up defence
    "REQUEST_APPROVAL_PROMPT": "force",  # the consent page every time
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
    "OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": [
        "none",
        "client_secret_post",
        "client_secret_basic",
    ],
    # Native clients listen on a loopback port of their choice (RFC 8252 §7.3).
    "ALLOW_LOCALHOST_LOOPBACK": True,
}
# W008 warns that http redirect URIs are allowed: native MCP clients receive the code on
# http://127.0.0.1:<port> (RFC 8252 §7.3), so they must be; oauth_server.redirect_uris
# refuses plain http to any other host, at registration and at authorization.
SILENCED_SYSTEM_CHECKS = ["oauth2_provider.W008"]
# Where sign-in pages send people to log in (the consent flow and invitations).
LOGIN_URL = "oauth2_provider:login"

# --- Email: head office's sign-in invitations --------------------------------------
# smtp+tls://user:password@host:587 in production; by default the message is printed
# in the server's log, which is enough to try invitations locally.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Zava head office <no-reply@zava.example>"
)
