"""The kwargs of an expectation read once per call give what Great Expectations' own methods give."""

from __future__ import annotations

import pytest
from great_expectations.expectations.expectation import Expectation

from expectations import gx_kwargs, identity, indicators, key_tasks, structure
from reporting.periods import Period
from tests.workbooks import PROGRAMME

PERIOD = Period(2025, 1)


def _suites():
    return [
        identity.build_suite(PROGRAMME, PERIOD, ["DV999"], ["DV998"]),
        structure.build_suite(),
        indicators.build_suite(PROGRAMME),
        indicators.build_comparison_suite(PROGRAMME),
        key_tasks.build_suite(PROGRAMME, PERIOD),
        key_tasks.build_summary_suite(),
    ]


def test_the_replacement_is_applied_to_the_version_it_was_read_for():
    assert gx_kwargs.source_digest() == gx_kwargs.KNOWN_SOURCE
    assert gx_kwargs.apply()
    assert Expectation._get_runtime_kwargs is gx_kwargs.get_runtime_kwargs


def _read(expectations, runtime) -> list:
    return [
        (
            e._get_domain_kwargs(), e._get_success_kwargs(), e._get_runtime_kwargs(runtime),
            [e._get_success_kwarg(key) for key in [*e.domain_keys, *e.success_keys, *e.runtime_keys, "column"]],
        )
        for e in expectations
    ]


@pytest.mark.parametrize("runtime", [None, {"result_format": {"result_format": "COMPLETE"}}])
def test_every_suite_expectation_reads_the_same_kwargs(monkeypatch, runtime):
    expectations = [e for suite in _suites() for e in suite.expectations]
    assert len(expectations) > 20
    assert gx_kwargs.apply()
    replaced = _read(expectations, runtime)
    with monkeypatch.context() as m:
        for name, method in gx_kwargs.ORIGINAL.items():
            m.setattr(Expectation, name, method)
        own = _read(expectations, runtime)
    assert replaced == own
