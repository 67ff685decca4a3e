"""The quality gate at scale: a file gets the same findings whatever else its batch holds.

The check runs once per batch over frames of many submissions (merges, group-bys, lookups built
per batch); nothing of one submission may leak into another's verdict. Real workbooks with every
kind of planted defect are read once, copied under further submission ids so that the same units
and defects recur across the batch, checked as one batch, and against the originals checked as a
batch of their own plus a sample of them each checked alone (every alone check pays Great
Expectations' fixed cost; tests/test_scale_runners.py compares whole collects in batches of one).
"""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest

from expectations.gate import CheckedBatch, check_batch
from reporting import layout as L
from reporting.findings import Finding
from reporting.frames import ParsedBatch
from reporting.periods import Period
from tasks.workbook_reader import read_workbooks
from tests import test_cross_quarter as crossq
from tests import test_quality_gate as gate
from tests.workbooks import PROGRAMME, REGISTRY, save, submission

COPIES = 3  # each file is in the batch this many times, under ids of its own


def _write(folder, cases: dict, period: Period) -> list[tuple[str, object]]:
    return [(case, save(submission(unit, period, **kwargs), folder / f"{case}.xlsx"))
            for case, (unit, kwargs, _) in cases.items()]


@pytest.fixture(scope="module")
def groups(tmp_path_factory):
    """(period, history, parsed originals, their ids) for the quality-gate and cross-quarter cases."""
    q1 = tmp_path_factory.mktemp("q1")
    items = _write(q1, gate.CASES, gate.Q1)
    (q1 / "not-a-workbook.xlsx").write_bytes(b"%PDF-1.4 this is not a spreadsheet")
    items.append(("not-a-workbook", q1 / "not-a-workbook.xlsx"))
    no_tasks = submission("CQ003", gate.Q1)
    del no_tasks[L.SHEET_TASKS]
    items.append(("sheet-missing", save(no_tasks, q1 / "sheet-missing.xlsx")))
    q2 = _write(tmp_path_factory.mktemp("q2"), crossq.CASES, crossq.Q2)
    return {
        "quality-gate": (gate.Q1, None, read_workbooks(items), [sid for sid, _ in items]),
        "cross-quarter": (crossq.Q2, crossq.HISTORY, read_workbooks(q2), [sid for sid, _ in q2]),
    }


def _copy_id(sid: str, n: int) -> str:
    return sid if n == 0 else f"{sid}#{n}"


def _copied(parsed: ParsedBatch, ids: list[str]) -> tuple[ParsedBatch, list[str]]:
    """The batch with every submission COPIES times, copies interleaved (file by file, round by round)."""
    def frame(f: pd.DataFrame) -> pd.DataFrame:
        return pd.concat([f.assign(submission_id=f["submission_id"].map(lambda s, n=n: _copy_id(s, n)))
                          for n in range(COPIES)], ignore_index=True)

    problems = [dataclasses.replace(p, submission_id=_copy_id(p.submission_id, n))
                for n in range(COPIES) for p in parsed.problems]
    copied = ParsedBatch(info=frame(parsed.info), indicators=frame(parsed.indicators), tasks=frame(parsed.tasks),
                         headers=frame(parsed.headers), locked=frame(parsed.locked), summary=frame(parsed.summary),
                         problems=problems,
                         attributed={_copy_id(s, n): code for n in range(COPIES) for s, code in parsed.attributed.items()})
    return copied, [_copy_id(s, n) for n in range(COPIES) for s in ids]


def _alone(parsed: ParsedBatch, sid: str) -> ParsedBatch:
    def only(f: pd.DataFrame) -> pd.DataFrame:
        return f[f["submission_id"] == sid].reset_index(drop=True)

    return ParsedBatch(info=only(parsed.info), indicators=only(parsed.indicators), tasks=only(parsed.tasks),
                       headers=only(parsed.headers), locked=only(parsed.locked), summary=only(parsed.summary),
                       problems=[p for p in parsed.problems if p.submission_id == sid],
                       attributed={s: code for s, code in parsed.attributed.items() if s == sid})


def _key(f: Finding) -> tuple:
    """A finding as comparable values (a missing value is equal to a missing value)."""
    return tuple("<missing>" if isinstance(v, float) and math.isnan(v) else v
                 for v in dataclasses.astuple(dataclasses.replace(f, submission_id="")))


def _of(checked: CheckedBatch, sid: str) -> dict:
    """Everything the check says about one submission, with its id taken out."""
    def facts(frame: pd.DataFrame) -> list:
        rows = frame[frame["submission_id"] == sid].drop(columns="submission_id")
        return [tuple("<missing>" if pd.isna(v) else v for v in row) for row in rows.itertuples(index=False)]

    return {
        "findings": [_key(f) for f in checked.findings if f.submission_id == sid],
        "status": checked.status[sid],
        "unit_code": checked.unit_code[sid],
        "template_version": checked.template_version.get(sid),
        "indicator_facts": facts(checked.indicator_facts),
        "task_facts": facts(checked.task_facts),
    }


ALONE_EVERY = 6


@pytest.fixture(scope="module")
def checked(groups):
    """Per group: the whole copied batch, the originals as one batch, and a sample of them alone."""
    out = {}
    for name, (period, history, parsed, ids) in groups.items():
        batch, batch_ids = _copied(parsed, ids)
        whole = check_batch(batch, batch_ids, PROGRAMME, REGISTRY, period, history)
        originals = check_batch(parsed, ids, PROGRAMME, REGISTRY, period, history)
        alone = {sid: originals for sid in ids}
        for sid in ids[::ALONE_EVERY]:
            alone[sid] = check_batch(_alone(parsed, sid), [sid], PROGRAMME, REGISTRY, period, history)
        out[name] = (ids, whole, alone)
    return out


@pytest.mark.parametrize("group", ["quality-gate", "cross-quarter"])
def test_a_file_gets_the_same_verdict_and_findings_in_a_batch_as_alone(checked, group):
    ids, whole, alone = checked[group]
    for sid in ids:
        expected = _of(alone[sid], sid)
        for n in range(COPIES):
            assert _of(whole, _copy_id(sid, n)) == expected, (sid, n)


@pytest.mark.parametrize("group", ["quality-gate", "cross-quarter"])
def test_the_batch_covers_clean_files_warnings_and_errors_of_many_kinds(checked, group):
    ids, whole, _ = checked[group]
    assert set(whole.status.values()) == {"accepted", "accepted_with_warnings", "rejected"}
    rules = {f.rule_id for f in whole.findings}
    assert len(rules) >= (40 if group == "quality-gate" else 5), sorted(rules)
    assert len(whole.status) == COPIES * len(ids)
    assert len(whole.findings) == COPIES * sum(
        1 for f in whole.findings if "#" not in f.submission_id
    ), "every copy has its original's findings"


def test_a_batch_keeps_each_files_findings_in_the_order_checked_alone(checked):
    ids, whole, alone = checked["quality-gate"]

    def of(result, sid):
        return [_key(f) for f in result.findings if f.submission_id == sid]

    multi = [sid for sid in ids if len(of(alone[sid], sid)) > 1]
    assert multi, "some files have several findings"
    for sid in multi:
        assert of(whole, sid) == of(alone[sid], sid)
