"""Row-level security, the tenant role's grants and the signed tenant identity.

Why a signature: a query running as the tenant role can call
``set_config('app.current_rls_user_id', ...)`` itself. The policies therefore trust
the identity only together with ``app.rls_context_proof``, an HMAC-SHA256 over
(identity, backend pid, transaction start) under a key that only the owner role can
read. The application computes it when it opens a tenant context (retail/tenancy/);
SQL cannot, so a forged identity yields no rows, and a proof is worthless outside
the transaction it was made for.
"""

import secrets

from django.conf import settings
from django.db import migrations

from retail.signing_keys import hmac_pads

TENANT_TABLES = {
    # table: the column that names the store a row belongs to
    "customers": "primary_store_id",
    "orders": "store_id",
    "order_items": "store_id",
    "inventory": "store_id",
}
SHARED_TABLES = ("stores", "categories", "product_types", "products")

VISIBLE_STORE_IDS = r"""
CREATE OR REPLACE FUNCTION retail.visible_store_ids() RETURNS integer[]
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    claimed text := current_setting('app.current_rls_user_id', true);
    proof text := current_setting('app.rls_context_proof', true);
    signing zava_private.rls_signing_key%ROWTYPE;
    message bytea;
    manager_kind text;
    result integer[];
BEGIN
    IF coalesce(claimed, '') = '' OR coalesce(proof, '') = '' THEN
        RETURN '{}';  -- no identity: fail closed
    END IF;
    SELECT * INTO signing FROM zava_private.rls_signing_key WHERE id = 1;
    message := convert_to(
        claimed || ':' || pg_backend_pid() || ':'
            || (extract(epoch FROM transaction_timestamp()) * 1000000)::bigint,
        'UTF8');
    IF encode(sha256(signing.outer_pad || sha256(signing.inner_pad || message)), 'hex')
            IS DISTINCT FROM proof THEN
        RETURN '{}';  -- identity not signed for this backend and transaction
    END IF;
    SELECT m.kind INTO manager_kind
      FROM public.tenancy_managers m
     WHERE m.id = claimed::uuid AND m.is_active;
    IF manager_kind IS NULL THEN
        RETURN '{}';
    ELSIF manager_kind = 'head_office' THEN
        SELECT array_agg(s.store_id ORDER BY s.store_id) INTO result FROM retail.stores s;
    ELSE
        SELECT array_agg(ms.store_id ORDER BY ms.store_id) INTO result
          FROM public.tenancy_manager_stores ms
         WHERE ms.manager_id = claimed::uuid;
    END IF;
    RETURN coalesce(result, '{}');
END
$fn$
"""


def forwards(apps, schema_editor):
    q = schema_editor.connection.ops.quote_name
    tenant = q(settings.ZAVA_DB_ROLES["tenant"])
    owner = q(settings.ZAVA_DB_ROLES["owner"])

    def run(statement: str, params: list | None = None) -> None:
        # params=None keeps psycopg from reading % in PL/pgSQL as placeholders.
        schema_editor.execute(statement, params)

    run("CREATE SCHEMA IF NOT EXISTS zava_private")
    run("REVOKE ALL ON SCHEMA zava_private FROM PUBLIC")
    run(
        """CREATE TABLE zava_private.rls_signing_key (
               id smallint PRIMARY KEY CHECK (id = 1),
               secret bytea NOT NULL,
               inner_pad bytea NOT NULL,
               outer_pad bytea NOT NULL,
               created_at timestamptz NOT NULL DEFAULT now())"""
    )
    key = secrets.token_bytes(32)
    inner, outer = hmac_pads(key)
    run(
        "INSERT INTO zava_private.rls_signing_key (id, secret, inner_pad, outer_pad) "
        "VALUES (1, %s, %s, %s)",
        [key, inner, outer],
    )

    run(VISIBLE_STORE_IDS)
    run("REVOKE ALL ON FUNCTION retail.visible_store_ids() FROM PUBLIC")
    run(f"GRANT EXECUTE ON FUNCTION retail.visible_store_ids() TO {tenant}")

    run(f"GRANT USAGE ON SCHEMA retail TO {tenant}")
    for table in (*SHARED_TABLES, *TENANT_TABLES):
        run(f"GRANT SELECT ON retail.{table} TO {tenant}")
    for table, column in TENANT_TABLES.items():
        run(f"ALTER TABLE retail.{table} ENABLE ROW LEVEL SECURITY")
        run(f"ALTER TABLE retail.{table} FORCE ROW LEVEL SECURITY")
        run(
            f"CREATE POLICY tenant_stores ON retail.{table} FOR SELECT TO {tenant} "
            f"USING ({column} = ANY ((SELECT retail.visible_store_ids())::integer[]))"
        )
        # The owner (migrations, admin, seeding) is subject to forced RLS as well;
        # it is trusted with every row, the tenant role with its stores' rows only.
        run(f"CREATE POLICY owner_all ON retail.{table} TO {owner} USING (true) WITH CHECK (true)")

    # Nobody but the owner creates objects or temporary tables in this database.
    run(
        "DO $$ BEGIN EXECUTE format('REVOKE CREATE, TEMPORARY ON DATABASE %I FROM PUBLIC', "
        "current_database()); END $$"
    )


def backwards(apps, schema_editor):
    def run(statement: str) -> None:
        schema_editor.execute(statement, None)

    for table in TENANT_TABLES:
        run(f"DROP POLICY IF EXISTS tenant_stores ON retail.{table}")
        run(f"DROP POLICY IF EXISTS owner_all ON retail.{table}")
        run(f"ALTER TABLE retail.{table} NO FORCE ROW LEVEL SECURITY")
        run(f"ALTER TABLE retail.{table} DISABLE ROW LEVEL SECURITY")
    run("DROP FUNCTION IF EXISTS retail.visible_store_ids()")
    run("DROP SCHEMA IF EXISTS zava_private CASCADE")


class Migration(migrations.Migration):
    dependencies = [("retail", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
