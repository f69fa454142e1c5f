"""The toolkit's request validator, narrowed to what MCP clients need.

A redirect URI is checked against :mod:`oauth_server.redirect_uris` on every
authorization request, whether the client names it or the toolkit takes the one it
registered: a client stored before that rule (or written to the database by hand)
never gets a code sent over plain http to another machine.
"""

from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator

from oauth_server.redirect_uris import redirect_uri_problem

# Authorization code with PKCE, and refresh: no implicit, password or client credentials.
ALLOWED_GRANT_TYPES = frozenset({"authorization_code", "refresh_token"})


class ZavaOAuth2Validator(OAuth2Validator):
    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if grant_type not in ALLOWED_GRANT_TYPES:
            return False
        return super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)

    def validate_response_type(
        self,
        client_id: str,
        response_type: str,
        client: Any,
        request: Any,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        if response_type != "code":
            return False
        return super().validate_response_type(
            client_id, response_type, client, request, *args, **kwargs
        )

    def validate_redirect_uri(
        self, client_id: str, redirect_uri: str, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if redirect_uri_problem(redirect_uri):
            return False
        return super().validate_redirect_uri(client_id, redirect_uri, request, *args, **kwargs)

    def get_default_redirect_uri(
        self, client_id: str, request: Any, *args: Any, **kwargs: Any
    ) -> str | None:
        default = super().get_default_redirect_uri(client_id, request, *args, **kwargs)
        return None if default is None or redirect_uri_problem(default) else default
