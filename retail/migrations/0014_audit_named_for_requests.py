"""Name the audit for what it holds: requests (tool calls, reads, prompts, refusals).

``ToolCall`` becomes ``AuditedRequest`` and ``audit_tool_calls`` becomes
``audit_requests``, keeping every row and every id. Each object named after the old
table is renamed with it: the monthly partitions and the default one, the identity
sequence, the indexes of the parent and of each partition, and the constraints
(foreign keys and NOT NULL included). Renames take a brief exclusive lock and copy
nothing, whatever the audit's size.

Django renames the content type (``RenameModel`` is at the top level for that) but
not the permissions, whose codenames carry the model's name: they are renamed here,
so the groups and users holding them keep them. Reversible.

The rename is written in this migration, not imported: a migration must do the same
whatever the services' code says later.
"""

import django.db.models.deletion
from django.db import migrations, models

OLD_TABLE = "audit_tool_calls"
NEW_TABLE = "audit_requests"
OLD_MANAGER_INDEX = "tool_calls_manager_idx"
NEW_MANAGER_INDEX = "audit_requests_manager_idx"
OLD_MODEL = "toolcall"
NEW_MODEL = "auditedrequest"
ACTIONS = ("add", "change", "delete", "view")


def _renamed(name: str, old: str, new: str) -> str:
    return new + name[len(old) :]


def _rename_objects(schema_editor, old: str, new: str, index_renames: dict[str, str]) -> None:
    """Rename everything named ``old...`` in the audit's partition tree to ``new...``."""
    quote = schema_editor.connection.ops.quote_name
    with schema_editor.connection.cursor() as cursor:
        # Constraints first, the parent's before its partitions': renaming a NOT NULL
        # constraint on the parent renames the inherited ones too. Constraints that
        # an index backs (the primary keys) go with their index below.
        while True:
            cursor.execute(
                "SELECT c.conrelid::regclass::text, c.conname "
                "FROM pg_constraint c JOIN pg_partition_tree(%s::regclass) t "
                "ON t.relid = c.conrelid "
                "WHERE starts_with(c.conname, %s) AND c.contype NOT IN ('p', 'u', 'x') "
                "ORDER BY t.level, c.conname LIMIT 1",
                [old, old],
            )
            row = cursor.fetchone()
            if row is None:
                break
            table, name = row
            cursor.execute(
                f"ALTER TABLE {table} RENAME CONSTRAINT {quote(name)} "
                f"TO {quote(_renamed(name, old, new))}"
            )
        cursor.execute(
            "SELECT i.relname FROM pg_partition_tree(%s::regclass) t "
            "JOIN pg_index x ON x.indrelid = t.relid JOIN pg_class i ON i.oid = x.indexrelid "
            "ORDER BY i.relname",
            [old],
        )
        for (index,) in cursor.fetchall():
            target = index_renames.get(index)
            if target is None and index.startswith(old):
                target = _renamed(index, old, new)
            if target is not None:
                cursor.execute(f"ALTER INDEX {quote(index)} RENAME TO {quote(target)}")
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [old])
        (sequence,) = cursor.fetchone()
        cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {quote(new + '_id_seq')}")
        cursor.execute(
            "SELECT relid::text FROM pg_partition_tree(%s::regclass) WHERE level > 0",
            [old],
        )
        for (partition,) in cursor.fetchall():
            if partition.startswith(old):
                cursor.execute(
                    f"ALTER TABLE {quote(partition)} "
                    f"RENAME TO {quote(_renamed(partition, old, new))}"
                )
        cursor.execute(f"ALTER TABLE {quote(old)} RENAME TO {quote(new)}")


def rename_objects(apps, schema_editor) -> None:
    _rename_objects(schema_editor, OLD_TABLE, NEW_TABLE, {OLD_MANAGER_INDEX: NEW_MANAGER_INDEX})


def restore_objects(apps, schema_editor) -> None:
    _rename_objects(schema_editor, NEW_TABLE, OLD_TABLE, {NEW_MANAGER_INDEX: OLD_MANAGER_INDEX})


def _rename_permissions(apps, old: str, new: str, verbose_name: str) -> None:
    Permission = apps.get_model("auth", "Permission")
    for action in ACTIONS:
        Permission.objects.filter(
            content_type__app_label="retail", codename=f"{action}_{old}"
        ).update(codename=f"{action}_{new}", name=f"Can {action} {verbose_name}")


def rename_permissions(apps, schema_editor) -> None:
    _rename_permissions(apps, OLD_MODEL, NEW_MODEL, "audited request")


def restore_permissions(apps, schema_editor) -> None:
    _rename_permissions(apps, NEW_MODEL, OLD_MODEL, "tool call")


class Migration(migrations.Migration):
    dependencies = [
        ("retail", "0013_citus_distribution"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        # The table keeps its name here (the model names it); RunPython renames it.
        migrations.RenameModel("ToolCall", "AuditedRequest"),
        migrations.RunPython(rename_permissions, restore_permissions),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(rename_objects, restore_objects)],
            state_operations=[
                migrations.AlterModelTable("auditedrequest", NEW_TABLE),
                migrations.RenameIndex(
                    "auditedrequest", new_name=NEW_MANAGER_INDEX, old_name=OLD_MANAGER_INDEX
                ),
                migrations.AlterField(
                    "auditedrequest",
                    "manager",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="audited_requests",
                        to="retail.manager",
                    ),
                ),
                migrations.AlterField(
                    "auditedrequest",
                    "token",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="audited_requests",
                        to="retail.accesstoken",
                    ),
                ),
            ],
        ),
    ]
