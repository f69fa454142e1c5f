"""Who may see which stores: managers and their store mappings.

These tables are the source of truth for row-level security. They live outside the
``retail`` schema, are owned by the owner role and are never granted to the tenant
role: only the ``SECURITY DEFINER`` function ``retail.visible_store_ids()`` reads
them, on the tenant's behalf.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from retail.models.retail_schema import Store


class ManagerKind(models.TextChoices):
    STORE = "store", "Store manager"
    REGIONAL = "regional", "Regional manager"
    HEAD_OFFICE = "head_office", "Head office"


class Manager(models.Model):
    """A person the MCP tools act for. ``id`` is the RLS identity."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, verbose_name="RLS identity")
    name = models.CharField(max_length=200)
    email = models.EmailField(unique=True)
    kind = models.CharField(max_length=20, choices=ManagerKind.choices)
    is_active = models.BooleanField(default=True, db_default=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="manager",
        help_text="The sign-in account that MCP clients' OAuth sign-in maps to this manager.",
    )
    stores: models.ManyToManyField[Store, ManagerStore] = models.ManyToManyField(
        Store, through="ManagerStore", related_name="managers"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "tenancy_managers"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class ManagerStore(models.Model):
    """One store a manager may see. Head office needs none: it sees every store."""

    manager = models.ForeignKey(Manager, models.CASCADE, related_name="store_mappings")
    store = models.ForeignKey(Store, models.CASCADE, related_name="manager_mappings")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "tenancy_manager_stores"
        constraints = [
            models.UniqueConstraint(fields=["manager", "store"], name="manager_store_uniq")
        ]
        verbose_name = "manager-to-store mapping"

    def __str__(self) -> str:
        return f"{self.manager.name} → {self.store.store_name}"
