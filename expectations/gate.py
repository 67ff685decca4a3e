"""The quality gate over a batch: every suite once over all its submissions, then a verdict each."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from expectations import identity, indicators, key_tasks
from expectations.findings import ERROR, Finding, status_for
from expectations.runner import run_suite
from tasks import layout as L
from tasks.periods import Period
from tasks.programme import Programme
from tasks.registry import Registry
from tasks.workbook_reader import ParsedBatch


@dataclass
class CheckedBatch:
    """Verdicts, findings and the clean facts of the submissions that passed."""

    status: dict[str, str] = field(default_factory=dict)
    unit_code: dict[str, str | None] = field(default_factory=dict)
    template_version: dict[str, str | None] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    indicator_facts: pd.DataFrame = field(default_factory=pd.DataFrame)
    task_facts: pd.DataFrame = field(default_factory=pd.DataFrame)


def check_batch(
    parsed: ParsedBatch,
    submission_ids: list[str],
    programme: Programme,
    registry: Registry,
    period: Period,
) -> CheckedBatch:
    """Check every submission of a batch; the same checks a clerk's file gets alone."""
    units = {u.unit_code: u for u in registry.in_force_on(period.ends_on)}
    info = parsed.info
    unit_of = {
        sid: (None if pd.isna(code) else str(code))
        for sid, code in zip(info["submission_id"], info["unit_code"])
    }
    group_of = {sid: units[code].unit_group for sid, code in unit_of.items() if code in units}

    ind = _enrich_indicators(parsed.indicators, programme, group_of)
    tasks = _enrich_tasks(parsed.tasks, programme)
    findings = list(parsed.problems)
    findings += run_suite(identity.build_suite(programme, period, list(units)), info, identity.INDEX_COLUMNS)
    findings += run_suite(indicators.build_suite(programme), ind, indicators.INDEX_COLUMNS)
    findings += missing_indicator_rows(ind, programme, group_of)
    findings += run_suite(key_tasks.build_suite(programme, period), tasks, key_tasks.INDEX_COLUMNS)

    by_submission: dict[str, list[Finding]] = {sid: [] for sid in submission_ids}
    for f in findings:
        by_submission.setdefault(f.submission_id, []).append(f)
    status = {sid: status_for(fs) for sid, fs in by_submission.items()}
    passed = [sid for sid, s in status.items() if s != "rejected"]
    return CheckedBatch(
        status=status,
        unit_code={sid: unit_of.get(sid) for sid in by_submission},
        template_version={
            sid: (None if pd.isna(v) else str(v))
            for sid, v in zip(info["submission_id"], info["template_version"])
        },
        findings=findings,
        indicator_facts=ind.loc[ind["submission_id"].isin(passed), [
            "submission_id", "indicator_code", "value", "plan",
        ]].reset_index(drop=True),
        task_facts=tasks.loc[tasks["submission_id"].isin(passed), [
            "submission_id", "task_code", "content", "source_code", "status_code",
            "completed_on", "note",
        ]].reset_index(drop=True),
    )


def _enrich_indicators(
    frame: pd.DataFrame, programme: Programme, group_of: dict[str, str]
) -> pd.DataFrame:
    frame = frame.copy()
    known = {i.code: i for i in programme.indicators}
    codes = frame["indicator_code"]
    frame["label"] = [known[c].label_vi if c in known else c for c in codes]
    frame["has_plan"] = [bool(c in known and known[c].has_plan) for c in codes]
    frame["is_signed"] = [bool(c in known and known[c].signed) for c in codes]
    frame["is_expected"] = [
        c not in known or sid not in group_of or known[c].applies_to(group_of[sid])
        for sid, c in zip(frame["submission_id"], codes)
    ]
    # A plan typed where the programme has none is not read: the cell is locked in the template.
    frame.loc[~frame["has_plan"], ["plan", "plan_kind"]] = [None, "missing"]
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    frame["plan"] = pd.to_numeric(frame["plan"], errors="coerce")
    return frame


def missing_indicator_rows(
    frame: pd.DataFrame, programme: Programme, group_of: dict[str, str]
) -> list[Finding]:
    """Indicators the unit's group must report whose row is absent from the sheet."""
    present = frame.groupby("submission_id")["indicator_code"].agg(set).to_dict()
    findings = []
    for sid, group in group_of.items():
        for ind in programme.indicators_for(group):
            if ind.code not in present.get(sid, set()):
                findings.append(Finding(
                    sid, "indicator.row_missing", ERROR, L.SHEET_INDICATORS, None, ind.code,
                    f'Thiếu dòng chỉ tiêu "{ind.label_vi}" ({ind.code}) trong sheet '
                    f'"{L.SHEET_INDICATORS}". Không xóa dòng trong mẫu; hãy dùng đúng tệp mẫu '
                    "đã được cấp.",
                ))
    return findings


def _enrich_tasks(frame: pd.DataFrame, programme: Programme) -> pd.DataFrame:
    frame = frame.copy()
    sources = programme.source_by_label()
    statuses = programme.status_by_label()
    completed = {c.code for c in programme.task_statuses if c.is_completed}
    frame["source_code"] = [sources.get(v) for v in frame["source_label"]]
    frame["status_code"] = [statuses.get(v) for v in frame["status_label"]]
    frame["source_known"] = [v is None or pd.isna(v) or v in sources for v in frame["source_label"]]
    frame["status_known"] = [v is None or pd.isna(v) or v in statuses for v in frame["status_label"]]
    frame["is_completed"] = frame["status_code"].isin(completed)
    frame["completed_on_ts"] = pd.to_datetime(frame["completed_on"], errors="coerce")
    frame["completed_on_shown"] = frame["completed_on_ts"].dt.strftime("%d/%m/%Y")
    return frame


def rejected_ids(checked: CheckedBatch) -> set[str]:
    return {f.submission_id for f in checked.findings if f.severity == ERROR}
