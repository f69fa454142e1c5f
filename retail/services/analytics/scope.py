"""What a caller may name: their own stores, and the catalogue's categories.

Store names are matched among the stores the caller can see (as
``retail.visible_store_ids()`` says inside the tenant context), so a store manager
cannot even ask about another store; the error lists their own stores only.
"""

from __future__ import annotations

from dataclasses import dataclass

from retail.errors import InvalidInput
from retail.services.analytics.queries import fetch

STORE_PREFIX = "Zava Retail "
MAX_NAME = 100


@dataclass(frozen=True)
class StoreRef:
    store_id: int
    store_name: str
    is_online: bool


@dataclass(frozen=True)
class CategoryRef:
    category_id: int
    category_name: str


def visible_stores() -> list[StoreRef]:
    """The caller's stores, in store order."""
    rows = fetch(
        "SELECT store_id, store_name, is_online FROM retail.stores "
        "WHERE store_id = ANY (retail.visible_store_ids()) ORDER BY store_id"
    )
    return [StoreRef(**row) for row in rows]


def short_store_name(name: str) -> str:
    """'Zava Retail Seattle' -> 'Seattle', for insights that read like speech."""
    return name.removeprefix(STORE_PREFIX) or name


def resolve_store(name: str | None, stores: list[StoreRef]) -> StoreRef | None:
    """The caller's store called ``name`` ('Seattle' or 'Zava Retail Seattle'), or None
    when no store was asked for."""
    if name is None or not name.strip():
        return None
    wanted = name.strip().lower()[:MAX_NAME]
    for store in stores:
        if wanted in (store.store_name.lower(), short_store_name(store.store_name).lower()):
            return store
    yours = ", ".join(store.store_name for store in stores) or "none"
    raise InvalidInput(f"{name[:MAX_NAME]!r} is not one of your stores ({yours}).", reason="store")


def resolve_category(name: str | None) -> CategoryRef | None:
    """The category called ``name`` (any case), or None when no category was asked for."""
    if name is None or not name.strip():
        return None
    categories = [
        CategoryRef(**row)
        for row in fetch(
            "SELECT category_id, category_name FROM retail.categories ORDER BY category_name"
        )
    ]
    wanted = name.strip().lower()[:MAX_NAME]
    for category in categories:
        if category.category_name.lower() == wanted:
            return category
    valid = ", ".join(category.category_name for category in categories)
    raise InvalidInput(f"Unknown category {name[:MAX_NAME]!r}. Valid: {valid}.", reason="category")
