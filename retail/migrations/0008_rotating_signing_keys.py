"""Several tenant-identity keys at once, so that the key can rotate without downtime.

0002 kept exactly one key (``id = 1``). Now the table keeps the current key
(``expires_at`` NULL) and, for a short overlap after ``manage.py rotate_keys``, the
retired ones. ``retail.visible_store_ids()`` accepts a proof made with any key that is
current or whose ``expires_at`` is later than the start of the transaction: a request
signed by a worker that has not read the new key yet still sees its rows, and once
the overlap ends the old key proves nothing.
"""

from importlib import import_module

from django.db import migrations

VISIBLE_STORE_IDS = r"""
CREATE OR REPLACE FUNCTION retail.visible_store_ids() RETURNS integer[]
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    claimed text := current_setting('app.current_rls_user_id', true);
    proof text := current_setting('app.rls_context_proof', true);
    signing record;
    message bytea;
    signed boolean := false;
    manager_kind text;
    result integer[];
BEGIN
    IF coalesce(claimed, '') = '' OR coalesce(proof, '') = '' THEN
        RETURN '{}';  -- no identity: fail closed
    END IF;
    message := convert_to(
        claimed || ':' || pg_backend_pid() || ':'
            || (extract(epoch FROM transaction_timestamp()) * 1000000)::bigint,
        'UTF8');
    -- The current key first; retired keys only for transactions begun in their overlap.
    FOR signing IN
        SELECT k.inner_pad, k.outer_pad FROM zava_private.rls_signing_key k
         WHERE k.expires_at IS NULL OR k.expires_at > transaction_timestamp()
         ORDER BY k.expires_at IS NOT NULL, k.id DESC
    LOOP
        IF encode(sha256(signing.outer_pad || sha256(signing.inner_pad || message)), 'hex')
                = proof THEN
            signed := true;
            EXIT;
        END IF;
    END LOOP;
    IF NOT signed THEN
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
    for statement in (
        "ALTER TABLE zava_private.rls_signing_key DROP CONSTRAINT rls_signing_key_id_check",
        "ALTER TABLE zava_private.rls_signing_key ADD COLUMN expires_at timestamptz",
        VISIBLE_STORE_IDS,
    ):
        schema_editor.execute(statement, None)


def backwards(apps, schema_editor):
    # Keep the current key alone, as id 1, and 0002's function.
    rls = import_module("retail.migrations.0002_row_level_security")
    for statement in (
        "DELETE FROM zava_private.rls_signing_key WHERE expires_at IS NOT NULL",
        "UPDATE zava_private.rls_signing_key SET id = 1",
        "ALTER TABLE zava_private.rls_signing_key DROP COLUMN expires_at",
        "ALTER TABLE zava_private.rls_signing_key ADD CHECK (id = 1)",
        rls.VISIBLE_STORE_IDS,
    ):
        schema_editor.execute(statement, None)


class Migration(migrations.Migration):
    dependencies = [("retail", "0007_audit_whole_requests")]

    operations = [migrations.RunPython(forwards, backwards)]
