"""The reference's ``retail`` schema, table for table and column for column.

Every table lives in the PostgreSQL schema ``retail`` with the reference's names, so
that SQL written for the reference runs unchanged. Django's quoting turns
``'retail"."stores'`` into ``"retail"."stores"``.
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Now

from retail.fields import TimestampField

#: The tables whose row-level security policies confine a manager to their stores
#: (migration 0002); stores, products, categories and product types are shared.
RLS_TABLES = ("customers", "orders", "order_items", "inventory")


class Store(models.Model):
    store_id = models.AutoField(primary_key=True)
    store_name = models.TextField(unique=True)
    rls_user_id = models.UUIDField(
        help_text="The reference's store-manager identity; kept for compatibility."
    )
    is_online = models.BooleanField(default=False, db_default=False)

    class Meta:
        db_table = 'retail"."stores'
        ordering = ["store_id"]

    def __str__(self) -> str:
        return self.store_name


class Customer(models.Model):
    customer_id = models.AutoField(primary_key=True)
    first_name = models.TextField()
    last_name = models.TextField()
    email = models.TextField(unique=True)
    phone = models.TextField(null=True, blank=True)  # noqa: DJ001 - nullable in the reference
    primary_store = models.ForeignKey(
        Store, models.PROTECT, db_column="primary_store_id", null=True, related_name="customers"
    )
    created_at = TimestampField(db_default=Now())

    class Meta:
        db_table = 'retail"."customers'

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Category(models.Model):
    category_id = models.AutoField(primary_key=True)
    category_name = models.TextField(unique=True)

    class Meta:
        db_table = 'retail"."categories'
        ordering = ["category_name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.category_name


class ProductType(models.Model):
    type_id = models.AutoField(primary_key=True)
    category = models.ForeignKey(
        Category, models.PROTECT, db_column="category_id", related_name="product_types"
    )
    type_name = models.TextField()

    class Meta:
        db_table = 'retail"."product_types'
        ordering = ["type_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["category", "type_name"], name="product_types_name_uniq"
            )
        ]

    def __str__(self) -> str:
        return self.type_name


class Product(models.Model):
    product_id = models.AutoField(primary_key=True)
    sku = models.TextField(unique=True)
    product_name = models.TextField()
    category = models.ForeignKey(
        Category, models.PROTECT, db_column="category_id", related_name="products"
    )
    type = models.ForeignKey(
        ProductType, models.PROTECT, db_column="type_id", related_name="products"
    )
    cost = models.DecimalField(max_digits=10, decimal_places=2)
    base_price = models.DecimalField(max_digits=10, decimal_places=2)
    gross_margin_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=33, db_default=33
    )
    product_description = models.TextField()

    class Meta:
        db_table = 'retail"."products'
        ordering = ["product_name"]
        indexes = [models.Index(fields=["base_price"], name="products_base_price_idx")]

    def __str__(self) -> str:
        return self.product_name


class Inventory(models.Model):
    pk = models.CompositePrimaryKey("store_id", "product_id")
    store = models.ForeignKey(Store, models.PROTECT, db_column="store_id", related_name="inventory")
    product = models.ForeignKey(
        Product, models.PROTECT, db_column="product_id", related_name="inventory"
    )
    stock_level = models.IntegerField()

    class Meta:
        db_table = 'retail"."inventory'
        verbose_name_plural = "inventory"

    def __str__(self) -> str:
        return f"{self.product} at {self.store}: {self.stock_level}"


class Order(models.Model):
    order_id = models.AutoField(primary_key=True)
    customer = models.ForeignKey(
        Customer, models.PROTECT, db_column="customer_id", related_name="orders"
    )
    store = models.ForeignKey(Store, models.PROTECT, db_column="store_id", related_name="orders")
    order_date = models.DateField()

    class Meta:
        db_table = 'retail"."orders'
        indexes = [
            # Covering: a store's orders in a date range come from the index alone.
            models.Index(
                fields=["store", "order_date"],
                include=["order_id"],
                name="orders_store_date_cover_idx",
            ),
            models.Index(fields=["customer", "order_date"], name="orders_customer_date_idx"),
            models.Index(fields=["order_date"], name="orders_date_idx"),
        ]

    def __str__(self) -> str:
        return f"Order {self.order_id}"


class OrderItem(models.Model):
    order_item_id = models.AutoField(primary_key=True)
    order = models.ForeignKey(Order, models.CASCADE, db_column="order_id", related_name="items")
    store = models.ForeignKey(
        Store,
        models.PROTECT,
        db_column="store_id",
        related_name="order_items",
        help_text="Denormalised from the order so that RLS can filter without a join.",
    )
    product = models.ForeignKey(
        Product, models.PROTECT, db_column="product_id", related_name="order_items"
    )
    quantity = models.IntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    discount_percent = models.IntegerField(default=0, db_default=0)
    discount_amount = models.DecimalField(max_digits=10, decimal_places=2, default=0, db_default=0)
    total_amount = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        db_table = 'retail"."order_items'
        indexes = [
            models.Index(fields=["store", "product"], name="order_items_store_product_idx"),
            # Covering: a store's order lines with what revenue queries sum, read from
            # the index alone (bench/mcp_vs_sql.py, workload b: a third less database CPU).
            models.Index(
                fields=["store"],
                include=["order", "product", "quantity", "total_amount"],
                name="order_items_store_cover_idx",
            ),
            models.Index(fields=["total_amount"], name="order_items_total_idx"),
            # Covering, by order: the lines of the orders in a period, found from the
            # orders (by date) and read from the index alone, so a report on the last
            # 30 or 90 days reads that period's lines, not every line of the caller's
            # stores since 2020 (bench/data_growth.py: head office's 90-day trend).
            models.Index(
                fields=["order"],
                include=["store", "product", "quantity", "total_amount"],
                name="order_items_order_cover_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Order {self.order_id}, item {self.order_item_id}"
