"""Fetching Client ID Metadata Documents (CIMD), the MCP spec's recommended registration.

django-oauth-toolkit fetches, validates and caches the document whose HTTPS URL is
the ``client_id``: HTTPS only, public addresses only, no redirects, time- and
size-limited (``CIMD_FETCH_TIMEOUT_SECONDS``, ``CIMD_MAX_DOCUMENT_SIZE``). Tests
need a document served from this machine, which those rules rightly refuse; only
when ``ZAVA_OAUTH_CIMD_LOCALHOST_CA_FILE`` names a CA file (never in production)
is ``https://localhost:<port>/…`` fetched from the loopback, verified against it.
A document naming a redirect URI Zava refuses (plain http off the loopback, say) is
refused whole, as an invalid document.
"""

from __future__ import annotations

import ssl
import time
from typing import Any
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from oauth2_provider.cimd import CIMDError, SafeMetadataFetcher
from oauth2_provider.settings import oauth2_settings

from oauth_server.redirect_uris import metadata_redirect_problems


class ClientMetadataFetcher(SafeMetadataFetcher):
    def fetch(self, client_id: str) -> tuple[dict[str, Any], int]:
        """The document and how long to keep it; refused (CIMDError) when it names a
        redirect URI that :mod:`oauth_server.redirect_uris` refuses."""
        metadata, max_age = self._fetch_document(client_id)
        problems = metadata_redirect_problems(metadata)
        if problems:
            raise CIMDError(f"invalid_redirect_uri: {' '.join(problems)}")
        return metadata, max_age

    def _fetch_document(self, client_id: str) -> tuple[dict[str, Any], int]:
        ca_file = settings.ZAVA_OAUTH_CIMD_LOCALHOST_CA_FILE
        parts = urlsplit(client_id)
        if not (ca_file and parts.scheme == "https" and parts.hostname == "localhost"):
            return super().fetch(client_id)
        timeout = oauth2_settings.CIMD_FETCH_TIMEOUT_SECONDS
        pool = urllib3.HTTPSConnectionPool(
            host="127.0.0.1",
            port=parts.port or 443,
            timeout=urllib3.Timeout(total=timeout),
            retries=False,
            ssl_context=ssl.create_default_context(cafile=ca_file),
            server_hostname="localhost",
        )
        started = time.monotonic()
        try:
            response = pool.urlopen(
                "GET",
                parts.path + (f"?{parts.query}" if parts.query else ""),
                headers={"Host": parts.netloc, "Accept": "application/json"},
                redirect=False,
                preload_content=False,
            )
            try:
                return self._read_document(response)
            finally:
                response.release_conn()
        except urllib3.exceptions.HTTPError as exc:
            waited = time.monotonic() - started
            raise CIMDError(f"could not fetch client_id document ({waited:.1f} s): {exc}") from exc
        finally:
            pool.close()
