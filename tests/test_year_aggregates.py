"""Publishing computes each unit's year once and aggregates it itself: the figures must be the
ones the analyst views give (headline, groups, whole bloc, key tasks, enterprises)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests import view_reads
from tests.volume import YEAR, build
from warehouse import queries

UNITS = 300


def _same(found: pd.DataFrame, expected: pd.DataFrame, keys: list[str]) -> None:
    assert list(found.columns) == list(expected.columns)
    assert len(found) == len(expected) > 0
    left = found.sort_values(keys).reset_index(drop=True)
    right = expected.sort_values(keys).reset_index(drop=True)
    for column in left.columns:
        a, b = left[column], right[column]
        if pd.api.types.is_numeric_dtype(b) or pd.api.types.is_numeric_dtype(a):
            assert pd.to_numeric(a).astype(float).tolist() == pytest.approx(
                pd.to_numeric(b).astype(float).tolist(), rel=1e-9, nan_ok=True), column
        else:
            assert [None if pd.isna(v) else v for v in a] == [None if pd.isna(v) else v for v in b], column


def _check(engine, year: int) -> None:
    found = queries.year_aggregates(engine, year)
    _same(found["headline"], view_reads.year_end_headline(engine, year), ["position"])
    assert found["headline"]["metric_code"].tolist() == view_reads.year_end_headline(engine, year)["metric_code"].tolist()
    _same(found["groups"], view_reads.group_indicators(engine, year), ["unit_group", "indicator_code"])
    _same(found["group_tasks"], view_reads.key_tasks_by_group(engine, year), ["unit_group"])
    _same(found["tasks_by_source"], view_reads.key_tasks_by_source(engine, year), ["unit_group", "source"])
    _same(found["bloc"], view_reads.bloc_indicators(engine, year), ["indicator_code"])
    _same(found["enterprises"], view_reads.current_unit_indicators(engine, year, "enterprises"),
          ["unit_code", "indicator_code"])


def test_a_generated_year_with_mergers_aggregates_as_the_views(warehouse, tmp_path):
    build(warehouse.engine, UNITS, tmp_path / "programmes")
    _check(warehouse.engine, YEAR)
    # The temporary tables are gone: a second publish on the same pooled connection starts clean.
    _check(warehouse.engine, YEAR)


def test_the_demo_year_aggregates_as_the_views(demo):
    _check(demo.warehouse.engine, 2023)
