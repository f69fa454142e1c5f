"""Covering indexes for what a store manager reads most: orders by store and date, and
order lines by store with the columns revenue queries sum (index-only scans)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("retail", "0011_request_counters")]

    operations = [
        # The covering index below has the same keys; this one would be dead weight.
        # (Django's RemoveIndex drops by bare name, which misses the retail schema.)
        migrations.RunSQL(
            "DROP INDEX retail.orders_store_date_idx",
            reverse_sql="CREATE INDEX orders_store_date_idx ON retail.orders (store_id, order_date)",
            state_operations=[
                migrations.RemoveIndex(model_name="order", name="orders_store_date_idx")
            ],
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                fields=["store", "order_date"],
                include=("order_id",),
                name="orders_store_date_cover_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="orderitem",
            index=models.Index(
                fields=["store"],
                include=("order", "product", "quantity", "total_amount"),
                name="order_items_store_cover_idx",
            ),
        ),
    ]
