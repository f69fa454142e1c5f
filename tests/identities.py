"""The seeded managers and stores the tests speak about, taken from the seed data itself.

Every test names a manager by one of these specs (``SEATTLE.email`` keys the
``tokens`` fixture, ``SEATTLE.id`` is the manager's UUID), so a change to the seed
data changes the tests' expectations in one place.
"""

from __future__ import annotations

from retail.models import ManagerKind
from retail.services.seeding import (
    EASTERN_ONLINE_ID,
    HEAD_OFFICE_ID,
    MANAGERS,
    PUGET_SOUND_ID,
    STORES,
    ManagerSpec,
)

ALL_STORE_IDS = tuple(range(1, len(STORES) + 1))


def _by_id(manager_id: object) -> ManagerSpec:
    return next(spec for spec in MANAGERS if spec.id == manager_id)


def _store_manager(store_id: int) -> ManagerSpec:
    """The store manager of the ``store_id``-th seeded store (ids follow the seed order)."""
    return _by_id(STORES[store_id - 1].manager_id)


SEATTLE = _store_manager(1)
BELLEVUE = _store_manager(2)
HEAD_OFFICE = _by_id(HEAD_OFFICE_ID)
PUGET_SOUND = _by_id(PUGET_SOUND_ID)
EASTERN_ONLINE = _by_id(EASTERN_ONLINE_ID)
# One manager of each kind: a single store, two regions, and every store.
MANAGER_KINDS = (SEATTLE, PUGET_SOUND, EASTERN_ONLINE, HEAD_OFFICE)


def kind_id(spec: ManagerSpec) -> str:
    """A short test id for a manager: the local part of the email."""
    return spec.email.split("@")[0]


def store_ids(spec: ManagerSpec) -> tuple[int, ...]:
    """The ids of the stores ``spec`` may see."""
    if spec.kind == ManagerKind.HEAD_OFFICE:
        return ALL_STORE_IDS
    return tuple(i for i, store in enumerate(STORES, start=1) if store.name in spec.stores)
