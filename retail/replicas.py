"""Read replicas: which database serves a tenant read, and whether each replica can.

``DATABASE_REPLICA_URLS`` adds one alias per PostgreSQL streaming replica
(``replica_1``, ...), logging in as the gateway role like ``tenant``. A physical
replica carries the primary's roles, policies and signing keys, so the tenant context
works there unchanged: it only reads and sets transaction-local settings.

:class:`ReplicaRouter` (``DATABASE_ROUTERS``) sends tenant reads to a replica chosen
at random per call among the usable ones, and everything else (the ORM's reads and
writes: authentication, audit rows, token last use, admin, seeding, embedding) to the
primary. Without a usable replica, tenant reads go to the primary's ``tenant`` alias.

A monitor thread per process checks the replicas every :data:`CHECK_SECONDS`, so the
hot path only reads its last verdict. A replica is usable while it is reachable, in
recovery and at most ``ZAVA_REPLICA_MAX_LAG_SECONDS`` behind. Its lag is an upper
bound from two measures: the age of the last transaction it replayed, and how long
ago the primary stood at a WAL position the replica has replayed (samples of the
primary's position, one per check). The first is exact under steady writes, the
second when the primary is idle. The monitor also reads each replica's current
signing key, so that a context on a replica is signed with a key the replica knows
even while it lags behind a rotation.
"""

from __future__ import annotations

import logging
import math
import os
import random
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from django.conf import settings

from infrastructure.observability import metrics
from retail.signing_keys import CURRENT_KEY_SQL

logger = logging.getLogger(__name__)

# Seconds between checks of every replica, per process.
CHECK_SECONDS = 1.0
# Monitor connections give up quickly: a replica that does not answer is down.
CONNECT_TIMEOUT_SECONDS = 2
STATEMENT_TIMEOUT_MS = 2_000
# Primary WAL positions kept, one per check: enough to bound any lag that matters.
PRIMARY_SAMPLES = 256

STREAMING = "streaming"  # usable
LAGGING = "lagging"  # reachable, but too far behind (or its lag is unknown)
DOWN = "down"  # unreachable, or failed a read just now
NOT_IN_RECOVERY = "not_in_recovery"  # promoted or misconfigured: never read from it
UNKNOWN = "unknown"  # not checked yet
REPLICA_STATES = (STREAMING, LAGGING, DOWN, NOT_IN_RECOVERY, UNKNOWN)

_PRIMARY_SQL = "SELECT pg_current_wal_lsn() - '0/0'"
_REPLICA_SQL = f"""
SELECT pg_is_in_recovery(),
       pg_last_wal_replay_lsn() - '0/0',
       extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()),
       ({CURRENT_KEY_SQL})
"""


@dataclass(frozen=True)
class ReplicaState:
    """What the last check found about one replica (safe to show: no host names)."""

    alias: str
    state: str = UNKNOWN
    lag_seconds: float | None = None

    @property
    def usable(self) -> bool:
        return self.state == STREAMING


def estimate_lag(
    replay_lsn: int,
    primary_samples: Sequence[tuple[float, int]],
    now: float,
    replay_age: float | None,
) -> float | None:
    """Seconds the replica may be behind (an upper bound), or None when unknown.

    ``primary_samples`` are (monotonic time, primary WAL position), oldest first;
    ``replay_age`` is the age of the last transaction the replica replayed.
    """
    bounds = [max(0.0, replay_age)] if replay_age is not None else []
    for index in range(len(primary_samples) - 1, -1, -1):
        taken_at, position = primary_samples[index]
        if position <= replay_lsn:
            # Everything the primary had then is replayed: caught up with the latest
            # sample means no lag; with an older one, at most the time since.
            last = index == len(primary_samples) - 1
            bounds.append(0.0 if last else max(0.0, now - taken_at))
            break
    return min(bounds) if bounds else None


class _Monitor:
    """Checks the replicas from a daemon thread; the hot path reads its verdicts."""

    def __init__(self, aliases: Sequence[str]) -> None:
        self.aliases = tuple(aliases)
        self.pid = os.getpid()
        self.states = {alias: ReplicaState(alias) for alias in self.aliases}
        self.usable: tuple[str, ...] = ()
        self.keys: dict[str, bytes] = {}
        self._samples: deque[tuple[float, int]] = deque(maxlen=PRIMARY_SAMPLES)
        self._connections: dict[str, psycopg.Connection] = {}
        self._error = ""  # why the last query failed, for the log
        self._lock = threading.Lock()  # one check at a time
        self._state_lock = threading.Lock()  # checks and failing reads both set states
        self._thread = threading.Thread(target=self._run, name="zava-replica-monitor", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                self.check()
            except Exception:  # the monitor must outlive anything a check meets
                logger.exception("checking the read replicas failed")
            time.sleep(CHECK_SECONDS)

    def check(self) -> None:
        """Sample the primary's WAL position, then read every replica's state."""
        with self._lock:
            row = self._query("default", _PRIMARY_SQL)
            if row is not None:
                self._samples.append((time.monotonic(), int(row[0])))
            for alias in self.aliases:
                self._set(alias, self._check_replica(alias))

    def _check_replica(self, alias: str) -> ReplicaState:
        row = self._query(alias, _REPLICA_SQL)
        if row is None:
            if self.states[alias].state != DOWN:
                logger.warning("read replica %s does not answer: %s", alias, self._error)
            return ReplicaState(alias, DOWN)
        in_recovery, replay_lsn, replay_age, key = row
        if not in_recovery or replay_lsn is None:
            return ReplicaState(alias, NOT_IN_RECOVERY)
        if key is not None:
            self.keys[alias] = bytes(key)
        lag = estimate_lag(
            int(replay_lsn),
            list(self._samples),
            time.monotonic(),
            float(replay_age) if replay_age is not None else None,
        )
        usable = lag is not None and lag <= settings.ZAVA_REPLICA_MAX_LAG_SECONDS
        usable = usable and alias in self.keys
        return ReplicaState(alias, STREAMING if usable else LAGGING, lag)

    def _set(self, alias: str, state: ReplicaState) -> None:
        with self._state_lock:
            before = self.states[alias]
            self.states = {**self.states, alias: state}
            self.usable = tuple(a for a in self.aliases if self.states[a].usable)
        if before.state != state.state:
            log = logger.info if state.usable else logger.warning
            log("read replica %s: %s -> %s", alias, before.state, state.state)

    def failed(self, alias: str) -> None:
        """A read on ``alias`` just failed: skip it until a check finds it usable again."""
        if self.states[alias].usable:
            self._set(alias, ReplicaState(alias, DOWN))

    def _query(self, alias: str, sql: str) -> tuple[Any, ...] | None:
        """One row from ``alias``'s server as the owner role, or None when unreachable."""
        try:
            connection = self._connections.get(alias)
            if connection is None or connection.closed:
                connection = psycopg.connect(**_owner_params(alias), autocommit=True)
                self._connections[alias] = connection
            return connection.execute(sql).fetchone()
        except psycopg.Error as exc:
            self._error = str(exc).strip()
            stale = self._connections.pop(alias, None)
            if stale is not None:
                stale.close()
            return None


def _owner_params(alias: str) -> dict[str, Any]:
    """Connection parameters of ``alias``'s server, logging in as the owner role,
    which may read the signing keys (roles and passwords are the primary's)."""
    server = settings.DATABASES[alias]
    owner = settings.DATABASES["default"]
    options = {key: value for key, value in server["OPTIONS"].items() if key != "pool"}
    params = {
        **options,
        "dbname": server["NAME"],
        "user": owner["USER"],
        "password": owner["PASSWORD"],
        "host": server["HOST"],
        "port": server["PORT"],
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        "application_name": "zava-replica-monitor",
    }
    return {key: value for key, value in params.items() if value not in ("", None)}


_monitor: _Monitor | None = None
_monitor_lock = threading.Lock()


def monitor() -> _Monitor:
    """This process's monitor, started on first use (again in a forked child)."""
    global _monitor
    current = _monitor
    if current is not None and current.pid == os.getpid():
        return current
    with _monitor_lock:
        if _monitor is None or _monitor.pid != os.getpid():
            _monitor = _Monitor(settings.ZAVA_REPLICA_ALIASES)
        return _monitor


def choose_replica() -> str | None:
    """A usable replica's alias, at random, or None: read from the primary."""
    usable = monitor().usable
    return random.choice(usable) if usable else None  # noqa: S311 (spreads load)


def replica_failed(alias: str) -> None:
    monitor().failed(alias)


def replica_signing_key(alias: str) -> bytes:
    """The current signing key as ``alias`` last showed it (at most a check ago).

    A rotation the replica has replayed since is no problem: the key read here
    stays valid for ``ZAVA_SIGNING_KEY_OVERLAP_SECONDS`` after it.
    """
    return monitor().keys[alias]


def replica_states() -> list[ReplicaState]:
    """Every configured replica's last known state, in configuration order."""
    if not settings.ZAVA_REPLICA_ALIASES:
        return []
    states = monitor().states
    return [states[alias] for alias in settings.ZAVA_REPLICA_ALIASES]


def refresh_replica_gauges() -> None:
    """Each read replica's state and lag (NaN: unknown), from this process's monitor.

    Registered with /metrics by ``RetailConfig.ready()``; runs before every scrape.
    """
    for state in replica_states():
        for name in REPLICA_STATES:
            metrics.REPLICA_STATE.labels(alias=state.alias, state=name).set(
                int(state.state == name)
            )
        lag = state.lag_seconds if state.lag_seconds is not None else math.nan
        metrics.REPLICA_LAG.labels(alias=state.alias).set(lag)


class ReplicaRouter:
    """Tenant reads (hint ``tenant_read``) to a usable replica; nothing else moves.

    ORM reads and writes keep Django's default (the primary), and no migration ever
    runs on a replica alias.
    """

    def db_for_read(self, model: type | None, **hints: Any) -> str | None:
        """``tenant_read`` names the primary's tenant alias, the fallback."""
        if hints.get("tenant_read"):
            return choose_replica() or hints["tenant_read"]
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db in settings.ZAVA_REPLICA_ALIASES else None
