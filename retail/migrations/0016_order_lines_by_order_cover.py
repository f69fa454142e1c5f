"""A covering index of order lines by order: a period's lines are found from its orders.

Reports over a recent period (the last 30 or 90 days) join the period's orders, found
by date, to their lines. Without this index the only index-only path to the lines
was by store, so the planner read every line of the caller's stores since 2020 and
hashed it against the period's orders: head office's 90-day sales trend cost 204 ms
at the seeded size and grew with the whole history (bench/data_growth.py)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("retail", "0015_audit_records_the_client")]

    operations = [
        # SQL both ways: Django's RemoveIndex drops by bare name, which misses the retail
        # schema, so the reverse would leave the index behind.
        migrations.RunSQL(
            "CREATE INDEX order_items_order_cover_idx ON retail.order_items (order_id) "
            "INCLUDE (store_id, product_id, quantity, total_amount)",
            reverse_sql="DROP INDEX retail.order_items_order_cover_idx",
            state_operations=[
                migrations.AddIndex(
                    model_name="orderitem",
                    index=models.Index(
                        fields=["order"],
                        include=("store", "product", "quantity", "total_amount"),
                        name="order_items_order_cover_idx",
                    ),
                ),
            ],
        ),
    ]
