"""Bearer tokens that let an MCP client act for one manager.

Only a SHA-256 digest of each token is stored; the raw token is shown once, when it
is issued. A token is usable while it is neither revoked nor expired and its
manager is active (checked in one query by ``retail.services.tokens``).
"""

from __future__ import annotations

from django.db import models

from retail.models.managers import Manager


class AccessToken(models.Model):
    manager = models.ForeignKey(Manager, models.CASCADE, related_name="access_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'VS Code'.")
    prefix = models.CharField(
        max_length=16, editable=False, help_text="The token's first characters, to recognise it."
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "tenancy_access_tokens"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"
