"""A data version that seeding bumps, so cached answers never outlive the data.

Cached tool answers are keyed by identity, store set and this version; the tenant
role reads it through ``retail.data_version()`` (``SECURITY DEFINER``), not the table.
"""

from django.conf import settings
from django.db import migrations


def forwards(apps, schema_editor):
    tenant = schema_editor.connection.ops.quote_name(settings.ZAVA_DB_ROLES["tenant"])
    for statement in (
        """CREATE TABLE zava_private.data_version (
               id smallint PRIMARY KEY CHECK (id = 1),
               version bigint NOT NULL,
               changed_at timestamptz NOT NULL DEFAULT now())""",
        "INSERT INTO zava_private.data_version (id, version) VALUES (1, 1)",
        """CREATE FUNCTION retail.data_version() RETURNS bigint
           LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
           AS $$ SELECT version FROM zava_private.data_version WHERE id = 1 $$""",
        "REVOKE ALL ON FUNCTION retail.data_version() FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION retail.data_version() TO {tenant}",
    ):
        schema_editor.execute(statement, None)


def backwards(apps, schema_editor):
    schema_editor.execute("DROP FUNCTION IF EXISTS retail.data_version()", None)
    schema_editor.execute("DROP TABLE IF EXISTS zava_private.data_version", None)


class Migration(migrations.Migration):
    dependencies = [("retail", "0004_product_embeddings")]

    operations = [migrations.RunPython(forwards, backwards)]
