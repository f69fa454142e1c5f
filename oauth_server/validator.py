"""The toolkit's request validator, narrowed to what MCP clients need."""

from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator

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
