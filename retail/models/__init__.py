"""Models of the retail domain: the reference schema and the tenancy around it."""

from retail.models.access import AccessToken
from retail.models.audit import AuditedRequest, Outcome
from retail.models.embeddings import ProductEmbedding
from retail.models.managers import Manager, ManagerKind, ManagerStore
from retail.models.retail_schema import (
    Category,
    Customer,
    Inventory,
    Order,
    OrderItem,
    Product,
    ProductType,
    Store,
)

__all__ = [
    "AccessToken",
    "AuditedRequest",
    "Category",
    "Customer",
    "Inventory",
    "Manager",
    "ManagerKind",
    "ManagerStore",
    "Order",
    "OrderItem",
    "Outcome",
    "Product",
    "ProductEmbedding",
    "ProductType",
    "Store",
]
