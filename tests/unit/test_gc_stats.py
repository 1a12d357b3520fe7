"""The collector's cost as /metrics reports it: full collections, their pauses and the
objects they walk."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from app.gc_stats import CollectorPauses, tracked_objects


@pytest.fixture
def pauses() -> Iterator[CollectorPauses]:
    watched = CollectorPauses()
    watched.install()
    try:
        yield watched
    finally:
        watched.uninstall()


def test_a_full_collection_is_counted_and_timed(pauses: CollectorPauses) -> None:
    gc.collect()
    assert pauses.full_collections == 1
    assert pauses.full_pause_total_s == pauses.full_pause_max_s > 0


def test_tracked_objects_are_what_a_full_collection_walks() -> None:
    held = [[i] for i in range(50_000)]  # 50,001 tracked lists
    with_them = tracked_objects()
    del held
    gc.collect()
    assert with_them - tracked_objects() >= 50_000


def test_young_collections_are_not_counted_as_full(pauses: CollectorPauses) -> None:
    gc.collect(0)
    assert pauses.full_collections == 0
    assert pauses.full_pause_max_s == 0


def test_installing_twice_counts_once(pauses: CollectorPauses) -> None:
    pauses.install()
    gc.collect()
    assert pauses.full_collections == 1
