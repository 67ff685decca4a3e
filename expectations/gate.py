"""The quality gate over a batch: every suite once over all its submissions, then a verdict each."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from expectations import identity, indicators, key_tasks, structure
from expectations.cross_quarter import History, check_tasks_carried, check_year_to_date
from expectations.runner import run_suite
from reporting import layout as L
from reporting.findings import ERROR, WARNING, Finding, status_for
from reporting.frames import ParsedBatch
from reporting.identity import VALID
from reporting.periods import Period
from reporting.programme import Programme
from reporting.units import Registry
from reporting.vn_format import fits_decimals, number_readings, vn_number, vn_plain


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
    history: History | None = None,
) -> CheckedBatch:
    """Check every submission of a batch; the same checks a clerk's file gets alone.

    `history` holds each unit's earlier quarters; without it the cross-quarter checks are skipped.
    """
    history = history or History()
    units = {u.unit_code: u for u in registry.in_force_on(period.ends_on)}
    merged = _merged_before(registry, period)
    info = _with_identity(parsed.info, registry, period)
    # A file counts for the unit its template was handed out to, whatever is typed in its B5.
    unit_of = {
        sid: (issued if state == VALID else None if pd.isna(code) else str(code))
        for sid, code, state, issued in zip(
            info["submission_id"], info["unit_code"], info["identity"], info["issued_unit_code"])
    }
    group_of = {sid: units[code].unit_group for sid, code in unit_of.items() if code in units}
    # A file without a valid identity cannot be attributed: its checks run under the unit typed in
    # it, but it is recorded under no unit, so it never takes that unit's place or feedback.
    identified = {sid for sid, state in zip(info["submission_id"], info["identity"]) if state == VALID}
    info["successor_shown"] = [merged.get(code, "") for code in info["unit_code"]]

    ind = _enrich_indicators(parsed.indicators, programme, group_of, unit_of, history)
    tasks = _enrich_tasks(parsed.tasks, programme, period)
    findings = list(parsed.problems)
    findings += run_suite(identity.build_suite(programme, period, list(units), list(merged)), info, identity.INDEX_COLUMNS)
    findings += run_suite(structure.build_suite(), _locked_cells(parsed, info, programme, units), structure.INDEX_COLUMNS)
    findings += run_suite(indicators.build_suite(programme), ind, indicators.INDEX_COLUMNS)
    findings += missing_indicator_rows(ind, programme, group_of)
    if programme.comparisons:
        findings += run_suite(
            indicators.build_comparison_suite(programme), _comparisons(ind, programme), indicators.COMPARISON_INDEX_COLUMNS,
        )
    findings += run_suite(key_tasks.build_suite(programme, period), tasks, key_tasks.INDEX_COLUMNS)
    findings += run_suite(key_tasks.build_summary_suite(), _totals(parsed, tasks, programme, unit_of), key_tasks.SUMMARY_INDEX_COLUMNS)
    # Only a unit in force has earlier quarters worth comparing with.
    findings += check_year_to_date(ind[ind["submission_id"].isin(group_of)], history, programme, period)
    findings += check_tasks_carried(tasks, {s: unit_of.get(s) for s in group_of}, history, programme)

    findings = _one_verdict_per_cell(_root_causes(findings, parsed.problems))
    by_submission: dict[str, list[Finding]] = {sid: [] for sid in submission_ids}
    for f in findings:
        by_submission.setdefault(f.submission_id, []).append(f)
    status = {sid: status_for(fs) for sid, fs in by_submission.items()}
    passed = [sid for sid, s in status.items() if s != "rejected"]
    return CheckedBatch(
        status=status,
        unit_code={sid: unit_of.get(sid) if sid in identified else None for sid in by_submission},
        template_version={
            sid: (None if pd.isna(v) else str(v))
            for sid, v in zip(info["submission_id"], info["template_version"])
        },
        findings=findings,
        indicator_facts=ind.loc[ind["submission_id"].isin(passed), [
            "submission_id", "indicator_code", "value", "ytd", "plan",
        ]].reset_index(drop=True),
        task_facts=tasks.loc[tasks["submission_id"].isin(passed), [
            "submission_id", "task_code", "content", "source_code", "status_code",
            "completed_on", "note",
        ]].reset_index(drop=True),
    )


def _root_causes(findings: list[Finding], read_problems: list[Finding]) -> list[Finding]:
    """A cell the reader could not use (an error value, a control character...) is reported once,
    for what is wrong with it, not again as missing or invalid."""
    unusable = {(f.submission_id, f.sheet, f.cell) for f in read_problems if f.cell}
    return [
        f for f in findings
        if f in read_problems or (f.submission_id, f.sheet, f.cell) not in unusable
    ]


def _one_verdict_per_cell(findings: list[Finding]) -> list[Finding]:
    """A cell that is already an error is not also warned about, nor reported again as a changed
    locked cell: the clerk reads one reason per cell, the most specific one."""
    errors: dict[tuple, set[str]] = {}
    for f in findings:
        if f.severity == ERROR and f.cell:
            errors.setdefault((f.submission_id, f.sheet, f.cell), set()).add(f.rule_id)
    kept = []
    for f in findings:
        others = errors.get((f.submission_id, f.sheet, f.cell), set()) - {f.rule_id} if f.cell else set()
        if others and (f.severity == WARNING or f.rule_id == "structure.locked_cell_changed"):
            continue
        kept.append(f)
    return kept


def _with_identity(info: pd.DataFrame, registry: Registry, period: Period) -> pd.DataFrame:
    """The info frame with what the identity checks compare: the unit typed in B5 against the
    one the template was issued to, and the name typed in B6 against the registry's owners."""
    info = info.copy()
    names: dict[str, set[str]] = {}
    for version in registry.versions:
        names.setdefault(version.name_vi, set()).add(version.unit_code)
    codes = {v.unit_code for v in registry.versions}

    def unit_shown(code) -> str:
        version = registry.version_on(code, period.ends_on) or next(
            (v for v in reversed(registry.versions) if v.unit_code == code), None)
        return f"{code} - {version.name_vi}" if version else str(code)

    typed = [None if pd.isna(c) else str(c) for c in info["unit_code"]]
    info["issued_unit_shown"] = [
        f"{code} - {name}" if state == VALID else ""
        for code, name, state in zip(info["issued_unit_code"], info["issued_unit_name"], info["identity"])
    ]
    info["unit_code_agrees"] = [
        (code == issued) if state == VALID and code is not None else None
        for code, issued, state in zip(typed, info["issued_unit_code"], info["identity"])
    ]
    owners = [names.get(name, set()) if isinstance(name, str) else set() for name in info["unit_name"]]
    info["name_of_other_unit"] = [
        bool(found) and code in codes and code not in found for code, found in zip(typed, owners)
    ]
    info["name_owner_shown"] = [", ".join(unit_shown(c) for c in sorted(found)) for found in owners]
    info["code_owner_shown"] = [unit_shown(code) if code in codes else "" for code in typed]
    return info


def _merged_before(registry: Registry, period: Period) -> dict[str, str]:
    """Units merged into another before the period ends: code -> 'successor code (name)'."""
    in_force = {u.unit_code for u in registry.in_force_on(period.ends_on)}
    out = {}
    for version in registry.versions:
        code = version.unit_code
        if code in in_force or not version.successor_code or version.valid_to is None:
            continue
        if version.valid_to < period.ends_on:
            successor = registry.version_on(version.successor_code, period.ends_on)
            name = f" ({successor.name_vi})" if successor else ""
            out[code] = f"{version.successor_code}{name}"
    return out


def _resolve_numbers(
    frame: pd.DataFrame, column: str, decimals: pd.Series, signed: pd.Series, units: pd.Series | None = None
) -> None:
    """Numbers typed as text: the one reading the indicator allows, else ambiguous or text."""
    readings_shown = []
    units = units if units is not None else pd.Series(None, index=frame.index, dtype=object)
    for i, (kind, text, places, is_signed, unit) in enumerate(
        zip(frame[f"{column}_kind"], frame[f"{column}_text"], decimals, signed, units)
    ):
        shown_here = ""
        if kind == "text":
            readings = [
                r for r in number_readings(str(text), unit)
                if fits_decimals(r, int(places)) and (is_signed or r >= 0)
            ]
            if len(readings) == 1:
                frame.iat[i, frame.columns.get_loc(column)] = readings[0]
                frame.iat[i, frame.columns.get_loc(f"{column}_kind")] = "number"
            elif len(readings) > 1:
                frame.iat[i, frame.columns.get_loc(f"{column}_kind")] = "ambiguous"
                shown_here = " hoặc ".join(vn_plain(r) for r in readings)
        readings_shown.append(shown_here)
    frame[f"{column}_readings"] = readings_shown


def _enrich_indicators(
    frame: pd.DataFrame,
    programme: Programme,
    group_of: dict[str, str],
    unit_of: dict[str, str | None],
    history: History,
) -> pd.DataFrame:
    frame = frame.copy()
    known = {i.code: i for i in programme.indicators}
    codes = frame["indicator_code"]
    frame["unit_code"] = frame["submission_id"].map(unit_of)
    frame["label"] = [known[c].label_vi if c in known else c for c in codes]
    frame["has_plan"] = [bool(c in known and known[c].has_plan) for c in codes]
    frame["has_ytd"] = [bool(c in known and known[c].has_ytd) for c in codes]
    frame["is_signed"] = [bool(c in known and known[c].signed) for c in codes]
    frame["is_expected"] = [
        c not in known or sid not in group_of or known[c].applies_to(group_of[sid])
        for sid, c in zip(frame["submission_id"], codes)
    ]
    # Cells the template locks (a plan or a year-to-date the indicator has not) are not read.
    frame.loc[~frame["has_plan"], ["plan", "plan_kind"]] = [None, "missing"]
    frame.loc[~frame["has_ytd"], ["ytd", "ytd_kind"]] = [None, "missing"]
    decimals = pd.Series([known[c].decimals if c in known else 6 for c in codes], index=frame.index)
    units = pd.Series([known[c].unit_vi if c in known else None for c in codes], index=frame.index)
    for column in ("value", "ytd", "plan"):
        frame[column] = frame[column].astype(object)
        _resolve_numbers(frame, column, decimals, frame["is_signed"], units)
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    # A value that is itself an error (missing, text, negative where it cannot be) says nothing
    # about plausibility: no band, ratio or comparison is computed from it.
    frame["value_usable"] = (frame["value_kind"] == "number") & (frame["is_signed"] | (frame["value"] >= 0))
    _plausibility(frame, known, history)
    return frame


def _plausibility(frame: pd.DataFrame, known: dict, history: History) -> None:
    """Band and change-to-previous-quarter flags, with the words the warnings show."""
    previous = {
        (u, c): v for u, c, v in zip(history.indicators["unit_code"], history.indicators["indicator_code"], history.indicators["value"])
    }
    in_band, band_shown, change_ok, change_shown, previous_shown = [], [], [], [], []
    for code, unit, value, usable in zip(frame["indicator_code"], frame["unit_code"], frame["value"], frame["value_usable"]):
        ind = known.get(code)
        low, high = (ind.plausible_min, ind.plausible_max) if ind else (None, None)
        if ind and usable and (low is not None or high is not None):
            in_band.append(not ((low is not None and value < low) or (high is not None and value > high)))
        else:
            in_band.append(None)
        band_shown.append(f"{vn_number(low, 1) if low is not None else '…'} – {vn_number(high, 1) if high is not None else '…'}")
        before = previous.get((unit, code))
        limit = ind.max_ratio_to_previous if ind else None
        if limit and usable and before is not None and pd.notna(before) and before > 0:
            ratio = value / before
            change_ok.append(1 / limit <= ratio <= limit)
            change_shown.append(f"gấp {vn_number(ratio, 1)} lần" if ratio >= 1 else f"chỉ bằng {vn_number(100 * ratio, 0)}%")
            previous_shown.append(vn_number(float(before), ind.decimals))
        else:
            change_ok.append(None)
            change_shown.append("")
            previous_shown.append("")
    frame["in_band"], frame["band_shown"] = in_band, band_shown
    frame["change_ok"], frame["change_shown"], frame["previous_shown"] = change_ok, change_shown, previous_shown


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


def _comparisons(ind: pd.DataFrame, programme: Programme) -> pd.DataFrame:
    """One row per submission and comparison: the two values and where the first one is."""
    rows = []
    by_key = {(s, c): r for s, c, r in zip(ind["submission_id"], ind["indicator_code"], ind.itertuples(index=False))}
    for sid in ind["submission_id"].unique():
        for c in programme.comparisons:
            left, right = by_key.get((sid, c.indicator)), by_key.get((sid, c.at_most))
            if left is None or right is None or not (left.value_usable and right.value_usable):
                continue
            rows.append({
                "submission_id": sid, "comparison": f"{c.indicator}<={c.at_most}",
                "left_value": left.value, "right_value": right.value, "left_cell": left.value_cell,
                "left_label": left.label, "right_label": right.label,
            })
    return pd.DataFrame(rows, columns=[
        "submission_id", "comparison", "left_value", "right_value", "left_cell", "left_label", "right_label",
    ])


def _locked_cells(parsed: ParsedBatch, info: pd.DataFrame, programme: Programme, units: dict) -> pd.DataFrame:
    """Cells the template fills and locks, as found beside what the template wrote.

    A file with its identity is compared with what was handed out to it, every locked cell; one
    without (rejected for that anyway) with what the programme and the registry say today.
    """
    columns = ["submission_id", "kind", "sheet", "cell", "found", "expected", "found_shown", "expected_shown"]
    rows = [
        {"submission_id": r.submission_id, "kind": "header", "sheet": r.sheet, "cell": r.cell,
         "found": r.found, "expected": r.expected}
        for r in parsed.headers.itertuples(index=False)
    ]
    identified = set(info.loc[info["identity"] == VALID, "submission_id"])
    handed_out = parsed.locked.assign(kind="locked")
    known = {i.code: i for i in programme.indicators}
    for r in parsed.indicators.itertuples(index=False):
        ind = known.get(r.indicator_code)
        if ind is None or r.submission_id in identified:
            continue
        rows.append({"submission_id": r.submission_id, "kind": "locked", "sheet": L.SHEET_INDICATORS,
                     "cell": r.label_cell, "found": r.label_found, "expected": ind.label_vi})
        rows.append({"submission_id": r.submission_id, "kind": "locked", "sheet": L.SHEET_INDICATORS,
                     "cell": r.unit_cell, "found": r.unit_found, "expected": ind.unit_vi})
    for r in info.itertuples(index=False):
        unit = units.get(r.unit_code)
        if unit is None:
            continue
        if r.submission_id not in identified:
            expected = {
                "unit_group": programme.groups[unit.unit_group],
                "unit_type": programme.unit_types[unit.unit_type],
            }
            for key, value in expected.items():
                rows.append({"submission_id": r.submission_id, "kind": "locked", "sheet": L.SHEET_INFO,
                             "cell": L.INFO[key].cell, "found": getattr(r, key), "expected": value})
        rows.append({"submission_id": r.submission_id, "kind": "unit_name", "sheet": L.SHEET_INFO,
                     "cell": L.INFO["unit_name"].cell, "found": r.unit_name, "expected": unit.name_vi})
    frame = pd.DataFrame(rows, columns=columns)
    frame["found_shown"], frame["expected_shown"] = frame["found"], frame["expected"]
    # Some 230 locked cells a file: the suite sees those that differ; equal ones cannot fail it.
    handed_out = handed_out[handed_out["submission_id"].isin(identified) & (handed_out["found"] != handed_out["expected"])]
    return pd.concat([frame, handed_out[columns]], ignore_index=True) if not handed_out.empty else frame


def _enrich_tasks(frame: pd.DataFrame, programme: Programme, period: Period) -> pd.DataFrame:
    frame = frame.copy()
    sources = programme.source_by_label()
    statuses = programme.status_by_label()
    completed = {c.code for c in programme.task_statuses if c.is_completed}
    needs_reason = {c.code for c in programme.task_statuses if c.needs_reason}
    frame["source_code"] = [sources.get(v) for v in frame["source_label"]]
    frame["status_code"] = [statuses.get(v) for v in frame["status_label"]]
    frame["source_known"] = [v is None or pd.isna(v) or v in sources for v in frame["source_label"]]
    frame["status_known"] = [v is None or pd.isna(v) or v in statuses for v in frame["status_label"]]
    frame["is_completed"] = frame["status_code"].isin(completed)
    frame["completed_on_ts"] = pd.to_datetime(frame["completed_on"], errors="coerce")
    frame["completed_on_shown"] = frame["completed_on_ts"].dt.strftime("%d/%m/%Y")
    period_end = pd.Timestamp(dt.datetime.combine(period.ends_on, dt.time()))
    frame["open_dated_in_future"] = (
        frame["status_code"].notna() & ~frame["is_completed"] & (frame["completed_on_ts"] > period_end)
    )
    frame["reason_missing"] = frame["status_code"].isin(needs_reason) & frame["note"].isna()
    return frame


def _totals(parsed: ParsedBatch, tasks: pd.DataFrame, programme: Programme, unit_of: dict) -> pd.DataFrame:
    """Each line the clerk must total, with what was stated and what the rows add up to."""
    lines = L.summary_lines([(c.code, c.label_vi) for c in programme.task_sources])
    stated = {(r.submission_id, r.key): r for r in parsed.summary.itertuples(index=False)}
    total = tasks.groupby("submission_id").size().to_dict()
    by_source = tasks.groupby(["submission_id", "source_code"]).size().to_dict()
    completed = tasks.groupby("submission_id")["is_completed"].sum().to_dict()
    rows = []
    for sid in unit_of:
        for line in lines:
            if line.source_code:
                actual = int(by_source.get((sid, line.source_code), 0))
            elif line.is_completed:
                actual = int(completed.get(sid, 0))
            else:
                actual = int(total.get(sid, 0))
            found = stated.get((sid, line.label_vi))
            rows.append({
                "submission_id": sid, "key": line.key, "label": line.label_vi, "actual": actual,
                "stated": found.stated if found else None,
                "stated_kind": found.stated_kind if found else "missing",
                "stated_text": found.stated_text if found else None,
                "stated_cell": found.stated_cell if found else line.cell,
            })
    frame = pd.DataFrame(rows, columns=[
        "submission_id", "key", "label", "actual", "stated", "stated_kind", "stated_text", "stated_cell",
    ])
    decimals = pd.Series(0, index=frame.index)
    frame["stated"] = frame["stated"].astype(object)
    _resolve_numbers(frame, "stated", decimals, pd.Series(False, index=frame.index))
    frame["stated"] = pd.to_numeric(frame["stated"], errors="coerce")
    return frame
