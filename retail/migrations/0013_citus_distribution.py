"""Distribute the retail tables by store when the database is a Citus cluster.

On plain PostgreSQL (the embedded server, any server without the ``citus``
extension) this migration does nothing. On a Citus coordinator it makes the shared
catalogue and the customers reference tables (a copy on every node), hashes orders,
order items and inventory by ``store_id`` into co-located shards, so that one store's
rows of all three live together, and moves the tenant-identity keys to every node.
Citus requires every primary key and every foreign key between distributed tables to
contain the distribution column, hence the wider keys of orders and order items.

docs/scaling.md explains the choice of each table, the prerequisites on each node
and what the tenant context must change before managers can read through workers;
``tests/retail/test_citus_distribution.py`` checks that the statements below are the
ones that document shows.
"""

from django.db import migrations

#: Copies on every node, created in this order (a table before those referencing it).
REFERENCE_TABLES = (
    "retail.stores",
    "retail.categories",
    "retail.product_types",
    "retail.products",
    "retail.product_description_embeddings",
    "retail.customers",
    "zava_private.rls_signing_key",
)
#: Hashed by store_id; the first one anchors the co-location group of the others.
DISTRIBUTED_TABLES = ("retail.orders", "retail.order_items", "retail.inventory")
DISTRIBUTION_COLUMN = "store_id"

# Django's name for order_items.order_id -> orders.order_id (a digest of the names).
ORDER_ITEMS_ORDER_FK = "order_items_order_id_412ad78b_fk_orders_order_id"
ORDER_ITEMS_STORE_ORDER_FK = "order_items_store_order_fk"


def citus_installed(connection) -> bool:
    """True on a Citus node: the extension is created in this database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")
        return bool(cursor.fetchone()[0])


def distribution_statements() -> list[str]:
    """The SQL this migration runs on a Citus coordinator, in order."""
    anchor, *colocated = DISTRIBUTED_TABLES
    column = DISTRIBUTION_COLUMN
    return [
        # One transaction: shards referencing reference tables are then created on one
        # connection per node (Citus refuses parallel DDL after a reference-table write).
        "SET LOCAL citus.multi_shard_modify_mode TO 'sequential'",
        *(f"SELECT create_reference_table('{table}')" for table in REFERENCE_TABLES),
        f"ALTER TABLE retail.order_items DROP CONSTRAINT {ORDER_ITEMS_ORDER_FK}",
        "ALTER TABLE retail.orders DROP CONSTRAINT orders_pkey, "
        f"ADD CONSTRAINT orders_pkey PRIMARY KEY ({column}, order_id)",
        "ALTER TABLE retail.order_items DROP CONSTRAINT order_items_pkey, "
        f"ADD CONSTRAINT order_items_pkey PRIMARY KEY ({column}, order_item_id)",
        f"SELECT create_distributed_table('{anchor}', '{column}')",
        *(
            f"SELECT create_distributed_table('{table}', '{column}', colocate_with => '{anchor}')"
            for table in colocated
        ),
        f"ALTER TABLE retail.order_items ADD CONSTRAINT {ORDER_ITEMS_STORE_ORDER_FK} "
        f"FOREIGN KEY ({column}, order_id) REFERENCES retail.orders ({column}, order_id) "
        "DEFERRABLE INITIALLY DEFERRED",
    ]


def undistribution_statements() -> list[str]:
    """The reverse: every table local again, with the keys of migration 0001."""
    return [
        "SET LOCAL citus.multi_shard_modify_mode TO 'sequential'",
        f"ALTER TABLE retail.order_items DROP CONSTRAINT {ORDER_ITEMS_STORE_ORDER_FK}",
        *(f"SELECT undistribute_table('{table}')" for table in reversed(DISTRIBUTED_TABLES)),
        "ALTER TABLE retail.order_items DROP CONSTRAINT order_items_pkey, "
        "ADD CONSTRAINT order_items_pkey PRIMARY KEY (order_item_id)",
        "ALTER TABLE retail.orders DROP CONSTRAINT orders_pkey, "
        "ADD CONSTRAINT orders_pkey PRIMARY KEY (order_id)",
        f"ALTER TABLE retail.order_items ADD CONSTRAINT {ORDER_ITEMS_ORDER_FK} "
        "FOREIGN KEY (order_id) REFERENCES retail.orders (order_id) DEFERRABLE INITIALLY DEFERRED",
        *(f"SELECT undistribute_table('{table}')" for table in reversed(REFERENCE_TABLES)),
    ]


def _run_on_citus(schema_editor, statements: list[str]) -> None:
    if not citus_installed(schema_editor.connection):
        return  # plain PostgreSQL: the tables stay as they are
    for statement in statements:
        schema_editor.execute(statement, None)


def forwards(apps, schema_editor):
    _run_on_citus(schema_editor, distribution_statements())


def backwards(apps, schema_editor):
    _run_on_citus(schema_editor, undistribution_statements())


class Migration(migrations.Migration):
    dependencies = [("retail", "0012_covering_indexes_for_store_reads")]

    operations = [migrations.RunPython(forwards, backwards)]
