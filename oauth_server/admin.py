"""The toolkit's application admin, under Zava's redirect URI rule.

``OAUTH2_PROVIDER["APPLICATION_ADMIN_CLASS"]`` names :class:`ApplicationAdmin`, so
head office cannot save a client whose redirect URIs :mod:`oauth_server.redirect_uris`
refuses; each refused URI is named beside the field.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from oauth2_provider.admin import ApplicationAdmin as ToolkitApplicationAdmin
from oauth2_provider.forms import ApplicationForm

from oauth_server.redirect_uris import redirect_uri_problems


class ApplicationAdminForm(ApplicationForm):
    def clean_redirect_uris(self) -> str:
        value: str = self.cleaned_data.get("redirect_uris", "")
        problems = redirect_uri_problems(value.split())
        if problems:
            raise ValidationError(problems)
        return value


class ApplicationAdmin(ToolkitApplicationAdmin):
    form = ApplicationAdminForm
