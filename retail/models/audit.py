"""The audit of tool calls: who asked what, and what came of it."""

from __future__ import annotations

from django.db import models

from retail.models.access import AccessToken
from retail.models.managers import Manager


class Outcome(models.TextChoices):
    OK = "ok", "Succeeded"
    REFUSED = "refused", "Refused by validation or the SQL guard"
    TIMEOUT = "timeout", "Timed out"
    ERROR = "error", "Failed"
    UNAUTHORIZED = "unauthorized", "Authentication failed"


class ToolCall(models.Model):
    manager = models.ForeignKey(
        Manager, models.SET_NULL, null=True, blank=True, related_name="tool_calls"
    )
    token = models.ForeignKey(
        AccessToken, models.SET_NULL, null=True, blank=True, related_name="tool_calls"
    )
    tool = models.CharField(max_length=100, db_index=True)
    arguments = models.JSONField(
        default=dict, blank=True, help_text="Arguments as sent; long SQL is truncated."
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices, db_index=True)
    error_code = models.CharField(max_length=40, blank=True)
    rows = models.IntegerField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "audit_tool_calls"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["manager", "-created_at"], name="tool_calls_manager_idx")]

    def __str__(self) -> str:
        return f"{self.tool} by {self.manager_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"
