"""The shard simulation's router places stores as Citus would, and its checks catch a
misplaced store: PostgreSQL's own hash is the oracle, and real shard servers are built
from the seeded test database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connections

from bench.shard_simulation import (
    ShardMap,
    Source,
    build_shard,
    hashint4,
    merge_partials,
    shard_servers,
    verify,
)

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def _store_ids() -> list[int]:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT store_id FROM retail.stores ORDER BY store_id")
        return [store_id for (store_id,) in cursor.fetchall()]


def test_hashint4_is_postgresqls_to_the_bit(database):
    values = [*range(-50, 2001), INT32_MIN, INT32_MAX, 123_456_789, -987_654_321]
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT v, hashint4(v) FROM unnest(%s::int[]) AS v", [values])
        expected = dict(cursor.fetchall())
    assert {value: hashint4(value) for value in values} == expected


@pytest.mark.parametrize("shard_count", [1, 2, 3, 4, 32])
def test_the_router_agrees_with_citus_hash_ranges_computed_in_sql(database, shard_count):
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT store_id, least((hashint4(store_id)::bigint + 2147483648) "
            "/ (4294967296 / %s), %s - 1) FROM retail.stores",
            [shard_count, shard_count],
        )
        expected = dict(cursor.fetchall())
    shard_map = ShardMap(shard_count)
    assert {store: shard_map.shard_for(store) for store in expected} == expected


@pytest.mark.parametrize("shard_count", [1, 2, 4, 32])
def test_every_store_has_exactly_one_shard_and_keeps_it(database, shard_count):
    stores = _store_ids()
    placement = ShardMap(shard_count).stores_by_shard(stores)
    assert len(placement) == shard_count
    placed = [store for shard in placement for store in shard]
    assert sorted(placed) == stores  # all stores, none twice
    assert ShardMap(shard_count).stores_by_shard(list(reversed(stores))) == placement
    for index, shard in enumerate(placement):
        assert all(ShardMap(shard_count).shard_for(store) == index for store in shard)


def test_the_seeded_stores_split_unevenly_over_two_shards_as_in_docs_scaling(database):
    assert ShardMap(2).stores_by_shard(_store_ids()) == [[1, 3, 4, 5, 7, 8], [2, 6]]
    assert ShardMap(1).stores_by_shard(_store_ids()) == [_store_ids()]


def test_hash_ranges_are_equal_and_cover_the_whole_32_bit_space():
    four = ShardMap(4)
    assert four.shard_of_hash(INT32_MIN) == 0
    assert four.shard_of_hash(INT32_MIN + 2**30 - 1) == 0
    assert four.shard_of_hash(INT32_MIN + 2**30) == 1
    assert four.shard_of_hash(-1) == 1
    assert four.shard_of_hash(0) == 2
    assert four.shard_of_hash(INT32_MAX) == 3
    # 2^32 is not a multiple of 3: the last shard takes the remainder.
    assert ShardMap(3).shard_of_hash(INT32_MAX) == 2
    with pytest.raises(ValueError):
        ShardMap(0)


def test_head_office_merge_sums_each_categorys_partials_and_ranks_by_revenue():
    partials = [
        [("Paint", Decimal("10.00"), 3, 2), ("Tools", Decimal("5.50"), 1, 1)],
        [("Tools", Decimal("7.00"), 2, 2), ("Garden", Decimal("1.00"), 1, 1)],
    ]
    assert merge_partials(partials) == [
        ("Tools", Decimal("12.50"), 3, 3),
        ("Paint", Decimal("10.00"), 3, 2),
        ("Garden", Decimal("1.00"), 1, 1),
    ]
    many = [[(f"c{i:02}", Decimal(i), 1, 1) for i in range(30)]]
    assert [row[0] for row in merge_partials(many)] == [f"c{i:02}" for i in range(29, 9, -1)]


@pytest.mark.slow
def test_built_shards_answer_like_the_source_and_a_misplaced_store_is_caught(database):
    source = Source(connections["default"].settings_dict)
    stores = _store_ids()
    shard_map = ShardMap(2)
    placement = shard_map.stores_by_shard(stores)
    schema = {section: source.schema(section) for section in ("pre-data", "post-data")}
    with shard_servers(2) as servers:
        for server, shard_stores in zip(servers, placement, strict=True):
            build_shard(source, server, shard_stores, schema)
        assert verify(source, servers, shard_map, stores) == []

        # Store 2 copied to the wrong shard as well: reported, never silently summed.
        build_shard(source, servers[0], [*placement[0], 2], schema)
        problems = verify(source, servers, shard_map, stores)
        assert "shard 0 holds orders rows of store 2" in problems
        assert "head office's merged answer differs from the source's" in problems

        # And missing from its own shard.
        build_shard(source, servers[1], [6], schema)
        problems = verify(source, servers, shard_map, stores)
        assert any(p.startswith("shard 1 holds 0 orders rows of store 2,") for p in problems)
        assert "store 2's answer on shard 1 differs" in problems
