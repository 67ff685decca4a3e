"""Run a suite over a batch frame in an ephemeral context; turn failures into findings."""

from __future__ import annotations

import gc
import uuid
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.expectations.expectation import Expectation
from great_expectations.validator.v1_validator import Validator

from expectations import gx_kwargs
from reporting.findings import ERROR, WARNING, Finding, shown

# What is imported by now (Prefect, Great Expectations, pandas: some 360,000 objects in a collect)
# lives as long as the process; left to the garbage collector, every full collection walks it
# again (0.3-0.4 s on the 2-core machine), and a batch's check allocates enough to set one off.
gc.freeze()

SEVERITY = {"critical": ERROR, "warning": WARNING, "info": WARNING}


def rule(
    kind: type[Expectation],
    *,
    rule_id: str,
    sheet: str | None,
    cell_column: str | None,
    message_vi: str,
    value_column: str | None = None,
    sheet_column: str | None = None,
    severity: str = "critical",
    shows_value: bool = True,
    **kwargs: Any,
) -> Expectation:
    """An expectation that knows its rule id, where its cell is and what to tell the clerk.

    `message_vi` may name {cell}, {value}, {sheet} and any index column of the suite;
    `sheet_column` names a column holding the sheet when rows come from several sheets; a rule
    about the whole file has no cell (`cell_column=None`) and shows no value (`shows_value=False`).
    """
    meta = {
        "rule_id": rule_id,
        "sheet": sheet,
        "sheet_column": sheet_column,
        "cell_column": cell_column,
        "value_column": value_column,
        "shows_value": shows_value,
        "message_vi": message_vi,
    }
    return kind(meta=meta, severity=severity, **kwargs)


# What a null cell reads as in a column whose nulls a set expectation must also catch. A workbook's
# XML cannot hold a NUL character (only its _x0000_ escape), so no cell typed by a person reads as
# this text; numpy drops trailing NULs from text, hence none at its end.
NULL = "\x00null\x00p135"


def with_nulls_as_value(values: pd.Series) -> pd.Series:
    """`values` with each null as NULL, so that a set expectation reports it with the rest."""
    return values.astype(object).where(values.notna(), NULL)


def rules_by_value(
    kind: type[Expectation],
    *,
    column: str,
    cases: list[tuple[list | None, str, str]],
    sheet: str | None,
    cell_column: str | None,
    value_column: str | None = None,
    value_set: list | None = None,
    severity: str = "critical",
    **kwargs: Any,
) -> Expectation:
    """One set expectation standing for several rules on the same column, told apart by the value
    that fails: `cases` are (values, rule id, message), a failing value being reported under every
    case listing it, or under a case without values (None) when no case lists it. A "not in set"
    expectation takes its set from the cases; an "in set" one is given `value_set`.

    Great Expectations costs about as much per expectation as per hundred thousand rows checked;
    the rules come back exactly as separate expectations would give them (in the suite's
    `rule_order`, see `run_suite`).
    """
    meta = {
        "rule_id": "|".join(rule_id for _, rule_id, _ in cases),
        "cases": [{"values": None if values is None else list(values), "rule_id": rule_id, "message_vi": message_vi}
                  for values, rule_id, message_vi in cases],
        "sheet": sheet,
        "sheet_column": None,
        "cell_column": cell_column,
        "value_column": value_column,
        "shows_value": True,
    }
    if value_set is None:
        value_set = list(dict.fromkeys(v for values, _, _ in cases for v in values))
    return kind(meta=meta, severity=severity, column=column, value_set=value_set, **kwargs)


class _Fields(dict):
    """A failing row's fields as its message shows them, each made only when the message names it
    (a batch can fail on tens of thousands of rows, each with a dozen fields)."""

    def __init__(self, row: dict[str, Any]) -> None:
        super().__init__()
        self.row = row

    def __missing__(self, key: str) -> str:
        if key not in self.row:
            return "{" + key + "}"
        value = self.row[key]
        return shown(None if _is_missing(value) else value)


def run_suite(
    suite: gx.ExpectationSuite, frame: pd.DataFrame, index_columns: list[str]
) -> list[Finding]:
    """Validate one frame (many submissions at once) and return every failing cell.

    The suite must be freshly built: it is bound to a context of its own here, because a
    context shared between threads gives false failures.
    """
    if frame.empty:
        return []
    # Great Expectations copies the columns it is given for every row condition and every failing
    # row's index columns: it gets only the columns its expectations read, and hands back the
    # positions of the rows that fail, whose shown fields are then taken from `frame` here.
    checked = frame[_columns_read(suite)]
    checked.index = pd.RangeIndex(len(checked))
    # An expectation's kwargs read once per call, not once per key (see gx_kwargs); done at the
    # first check, not at import (it reads the library's source to know it is the version read).
    gx_kwargs.apply()
    context = gx.get_context(mode="ephemeral", project_config=_context_config())
    # Adding the data source, its asset and batch definition would each write the whole project
    # configuration, as YAML, to the context's in-memory store: nothing reads it back from there
    # in a context that lives for one suite, and the three writes were a tenth of a batch's check.
    context._save_project_config = _not_saved
    name = f"{suite.name}-{uuid.uuid4().hex[:8]}"
    suite.name = name
    definition = (
        context.data_sources.add_pandas(name).add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
    )
    # Validated on the batch definition, as `Batch.validate` does once it has the batch, without
    # fetching (and hashing the frame for) a batch first: the results are read here, never kept in
    # the context's stores.
    result = Validator(
        batch_definition=definition,
        batch_parameters={"dataframe": checked},
        result_format={"result_format": "COMPLETE", "return_unexpected_index_query": False},
    ).validate_expectation_suite(suite)
    values: dict[str, Any] = {}
    findings = []
    for outcome in result.results:
        if outcome.success:
            continue
        config = outcome.expectation_config
        if outcome.exception_info and outcome.exception_info.get("raised_exception"):
            raise RuntimeError(
                f"check {config.meta.get('rule_id')} could not run: "
                f"{outcome.exception_info.get('exception_message')}"
            )
        meta = config.meta
        column = meta.get("value_column") or config.kwargs.get("column")
        severity = SEVERITY[str(getattr(config.severity, "value", config.severity)).lower()]
        domain = _domain_columns(config.kwargs)
        shown_columns = [*domain, *index_columns]
        cases = meta.get("cases") or [{"values": None, "rule_id": meta["rule_id"], "message_vi": meta["message_vi"]}]
        if meta.get("cases") and column not in shown_columns:
            # The column the rules check, the one their value is shown from, before it took nulls as NULL.
            shown_columns.append(column)
        by_case: list[list[Finding]] = [[] for _ in cases]
        for at in outcome.result.get("unexpected_index_list") or []:
            row = {c: (values[c] if c in values else values.setdefault(c, frame[c].to_numpy()))[at]
                   for c in shown_columns}
            cell = row.get(meta["cell_column"]) if meta.get("cell_column") else None
            sheet = (row.get(meta["sheet_column"]) if meta.get("sheet_column") else meta["sheet"]) or None
            value = row.get(column) if column and meta.get("shows_value", True) else None
            value = None if _is_missing(value) else value
            fields = _Fields(row)
            fields.update(cell=cell, value=shown(value), sheet=sheet)
            listed = [case["values"] is not None and row[domain[0]] in case["values"] for case in cases]
            for case, found, is_listed in zip(cases, by_case, listed):
                if not (is_listed or case["values"] is None and not any(listed)):
                    continue
                found.append(
                    Finding(
                        submission_id=row["submission_id"],
                        rule_id=case["rule_id"],
                        severity=severity,
                        sheet=sheet,
                        cell=cell,
                        # A cell found empty says so; a finding about the whole file shows no value.
                        value=shown(value) if cell or value is not None else None,
                        message_vi=case["message_vi"].format_map(fields),
                    )
                )
        findings += [f for found in by_case for f in found]
    # A suite whose expectations stand for several rules lists its rules in the order they are
    # reported: each rule's findings stay in the frame's order.
    if suite.meta.get("rule_order"):
        rank = {rule_id: n for n, rule_id in enumerate(suite.meta["rule_order"])}
        findings.sort(key=lambda f: rank[f.rule_id])
    return findings


def _domain_columns(kwargs: dict) -> list[str]:
    """The columns an expectation checks, in the order Great Expectations reports them."""
    if "column" in kwargs:
        return [kwargs["column"]]
    if "column_A" in kwargs:
        return [kwargs["column_A"], kwargs["column_B"]]
    return list(kwargs.get("column_list") or [])


def _columns_read(suite: gx.ExpectationSuite) -> list[str]:
    """Every column the suite's expectations check or filter rows on, each once."""
    columns: dict[str, None] = {}
    for expectation in suite.expectations:
        columns.update(dict.fromkeys(_domain_columns(expectation.configuration.kwargs)))
        columns.update(dict.fromkeys(_condition_columns(expectation.row_condition)))
    return list(columns)


def _condition_columns(condition: Any) -> list[str]:
    if condition is None or isinstance(condition, str):
        return []
    if hasattr(condition, "conditions"):
        return [c for part in condition.conditions for c in _condition_columns(part)]
    return [condition.column.name]


def _not_saved() -> None:
    return None


def _context_config() -> DataContextConfig:
    """In memory, without a docs site, progress bars or analytics."""
    return DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        analytics_enabled=False,
    )


def _is_missing(value: Any) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
