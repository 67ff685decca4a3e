"""The quality gate over a batch: every suite once over all its submissions, then a verdict each."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from expectations import identity, indicators, key_tasks, structure
from expectations.cross_quarter import (
    SEPARATOR_SLIP,
    History,
    check_tasks_carried,
    check_year_to_date,
    latest_earlier,
    positions_in,
)
from expectations.runner import run_suite, with_nulls_as_value
from expectations.shifted_rows import below_shift, shifted_from
from reporting import layout as L
from reporting.findings import (
    ERROR,
    FILE_NAME_OTHER_UNIT,
    NO_REPORT_DUE_RULES,
    WARNING,
    WRONG_TEMPLATE_RULES,
    Finding,
    shown,
    status_for,
)
from reporting.frames import ParsedBatch
from reporting.identity import VALID
from reporting.periods import LOCAL_TZ, Period
from reporting.programme import Programme
from reporting.units import Registry, codes_in_name
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
    # The quarter each file's template was handed out for (files with an intact identity only).
    issued_period: dict[str, Period] = field(default_factory=dict)

    def without_facts(self) -> CheckedBatch:
        """The verdicts and findings alone: what a run keeps of a batch once its facts are loaded."""
        return replace(self, indicator_facts=pd.DataFrame(), task_facts=pd.DataFrame())

    def issued_for_another(self, period: Period) -> dict[str, Period]:
        """The files whose template was handed out for another quarter than `period`."""
        return {sid: issued for sid, issued in self.issued_period.items() if issued != period}

    def without(self, ids: set[str]) -> CheckedBatch:
        """The batch less the submissions `ids`."""
        def kept(values: dict) -> dict:
            return {k: v for k, v in values.items() if k not in ids}

        def kept_rows(facts: pd.DataFrame) -> pd.DataFrame:
            return facts if facts.empty else facts[~facts["submission_id"].isin(ids)].reset_index(drop=True)

        return replace(
            self, status=kept(self.status), unit_code=kept(self.unit_code), template_version=kept(self.template_version),
            findings=[f for f in self.findings if f.submission_id not in ids], issued_period=kept(self.issued_period),
            indicator_facts=kept_rows(self.indicator_facts), task_facts=kept_rows(self.task_facts),
        )


def check_batch(
    parsed: ParsedBatch,
    submission_ids: list[str],
    programme: Programme,
    registry: Registry,
    period: Period,
    history: History | None = None,
    today: dt.date | None = None,
    file_names: dict[str, str] | None = None,
) -> CheckedBatch:
    """Check every submission of a batch; the same checks a clerk's file gets alone.

    `history` holds each unit's earlier quarters; without it the cross-quarter checks are skipped.
    `today` (default: the local date) is the day a report may not be dated after; `file_names`
    (submission -> the name it was sent under) lets a file named for another unit say so.
    """
    today = today or dt.datetime.now(LOCAL_TZ).date()
    history = history or History()
    view = _registry_view(registry, period)
    units, merged = view.units, view.merged
    info = _with_identity(parsed.info, view)
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
    info["ended_shown"] = [view.ended.get(code, "") for code in info["unit_code"]]
    info["merged_on_shown"] = [_merged_on(view, code) for code in info["unit_code"]]
    unknown = {code for code in info["unit_code"].dropna() if code not in units and code not in merged}
    ended = {code for code in unknown if code in view.ended}
    unknown -= ended

    ind = _enrich_indicators(parsed.indicators, programme, group_of, unit_of, history)
    tasks = _enrich_tasks(parsed.tasks, programme, period)
    findings = list(parsed.problems)
    info = _contact_states(info, period, today)
    findings += run_suite(
        identity.build_suite(programme, period, list(unknown), list(merged), today, list(ended)), info,
        identity.INDEX_COLUMNS,
    )
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
    findings += named_for_another_unit(file_names or {}, {s: unit_of[s] for s in identified if unit_of.get(s)}, view)

    findings = _one_verdict_per_cell(_root_causes(_above_shifted_rows(_wrong_template_only(findings)), parsed.problems))
    by_submission: dict[str, list[Finding]] = {sid: [] for sid in submission_ids}
    for f in findings:
        by_submission.setdefault(f.submission_id, []).append(f)
    status = {sid: status_for(fs) for sid, fs in by_submission.items()}
    passed = [sid for sid, s in status.items() if s != "rejected"]
    return CheckedBatch(
        status=status,
        unit_code={sid: unit_of.get(sid) if sid in identified else parsed.attributed.get(sid) for sid in by_submission},
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
        issued_period={
            sid: Period(int(y), int(q)) for sid, state, y, q in zip(
                info["submission_id"], info["identity"], info["issued_year"], info["issued_quarter"])
            if state == VALID and sid in by_submission
        },
    )


def _wrong_template_only(findings: list[Finding]) -> list[Finding]:
    """A file that is another quarter's or year's template, or a unit's that reports no more, is
    told that, and what else is wrong with its identity, not each row read against this quarter (a
    2023 task's date "out of the quarter", a 2024 indicator's row "deleted"): the clerk enters the
    figures in the right template, or sends nothing."""
    wrong = {f.submission_id for f in findings if f.rule_id in WRONG_TEMPLATE_RULES or f.rule_id in NO_REPORT_DUE_RULES}
    if not wrong:
        return findings
    # A unit that reports no more is not told to use this quarter's template either.
    not_due = {f.submission_id for f in findings if f.rule_id in NO_REPORT_DUE_RULES}
    return [f for f in findings if f.submission_id not in wrong or (
        f.rule_id.startswith(("identity.", "file.")) and not (f.submission_id in not_due and f.rule_id in WRONG_TEMPLATE_RULES))]


def _root_causes(findings: list[Finding], read_problems: list[Finding]) -> list[Finding]:
    """A cell the reader could not use (an error value, a control character...) is reported once,
    for what is wrong with it, not again as missing or invalid."""
    unusable = {(f.submission_id, f.sheet, f.cell) for f in read_problems if f.cell}
    if not unusable:
        return findings
    problems = set(read_problems)
    return [
        f for f in findings
        if (f.submission_id, f.sheet, f.cell) not in unusable or f in problems
    ]


def named_for_another_unit(names: dict[str, str], unit_of: dict[str, str], view: _RegistryView) -> list[Finding]:
    """A file sent under a name with another registered unit's code (and not its own) is refused:
    its template says one unit, its sender another (CQ002's report typed into CQ001's template),
    and counting it for either could replace a unit's figures with another's."""
    found = []
    for sid, unit in unit_of.items():
        name = names.get(sid)
        if not name:
            continue
        tokens = codes_in_name(name)
        others = sorted(t for t in tokens if t in view.latest and t != unit)
        if not others or unit in tokens:
            continue
        other = others[0]
        found.append(Finding(
            sid, FILE_NAME_OTHER_UNIT, ERROR, None, None, name,
            f'Tên tệp "{name}" mang mã đơn vị {view.unit_shown.get(other, other)}, nhưng tệp là mẫu báo cáo đã cấp '
            f"cho {view.unit_shown.get(unit, unit)}: chưa rõ đây là báo cáo của đơn vị nào nên tệp bị từ chối, số "
            f"liệu không được tính cho đơn vị nào (báo cáo {unit} đã nộp trước đó, nếu có, giữ nguyên). Nếu đây là báo cáo của {other}, hãy nhập số liệu vào "
            f"mẫu đã cấp cho {other} rồi gửi lại; nếu đúng là báo cáo của {unit}, hãy đổi tên tệp (bỏ mã {other}), "
            "mở tệp và lưu lại rồi gửi lại (một tệp chỉ đổi tên, nội dung y hệt, được coi là tệp đã nhận và không "
            "được kiểm tra lại).",
        ))
    return found


def _above_shifted_rows(findings: list[Finding]) -> list[Finding]:
    """Below where a sheet's rows were inserted or deleted every row is misread: the clerk reads
    that one finding for them, not what each misread row seems to hold."""
    shifted = shifted_from(findings)
    return [f for f in findings if not below_shift(f, shifted)] if shifted else findings


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


@dataclass(frozen=True)
class _RegistryView:
    """What the checks read of the registry for one period: built once for a run's batches, as a
    national registry is some 60,000 units."""

    units: dict  # code -> version, of the units in force at the period's end
    merged: dict[str, str]  # see _merged_before
    ended: dict[str, str]  # code -> its last day, of units ended before the period's end without a successor
    names: dict[str, set[str]]  # each name -> the codes that ever bore it
    latest: dict  # code -> its last version listed
    unit_shown: dict[str, str]  # code -> "code - name" as a clerk reads it
    owners_shown: dict[str, str]  # name -> the units that bore it, as a clerk reads them

    @staticmethod
    def of(registry: Registry, period: Period) -> _RegistryView:
        names: dict[str, set[str]] = {}
        for version in registry.versions:
            names.setdefault(version.name_vi, set()).add(version.unit_code)
        in_force = _versions_on(registry, period.ends_on)
        latest = {v.unit_code: v for v in registry.versions}
        # Each unit as a clerk reads it: its version in force at the period's end, else its last one.
        unit_shown = {
            code: f"{code} - {(in_force.get(code) or version).name_vi}" for code, version in latest.items()
        }
        return _RegistryView(
            units={u.unit_code: u for u in registry.in_force_on(period.ends_on)},
            merged=_merged_before(registry, period),
            ended={
                code: f"{v.valid_to:%d/%m/%Y}" for code, v in latest.items()
                if v.valid_to is not None and v.valid_to < period.ends_on and not v.successor_code
                and code not in in_force
            },
            names=names,
            latest=latest,
            unit_shown=unit_shown,
            owners_shown={name: ", ".join(unit_shown[c] for c in sorted(found)) for name, found in names.items()},
        )


def _merged_on(view: _RegistryView, code) -> str:
    """The first day a merged unit belonged to its successor, as a clerk reads it ('' for any other)."""
    last = view.latest.get(code) if code in view.merged else None
    return f"{last.valid_to + dt.timedelta(days=1):%d/%m/%Y}" if last is not None and last.valid_to else ""


_VIEWS: dict[tuple, tuple[Registry, _RegistryView]] = {}


def _registry_view(registry: Registry, period: Period) -> _RegistryView:
    """The registry's view for the period, kept while the same registry object is checked against
    (it is held here, so its id is not reused meanwhile)."""
    key = (id(registry), period.year, period.quarter)
    held = _VIEWS.get(key)
    if held is None or held[0] is not registry:
        if len(_VIEWS) >= 8:
            _VIEWS.clear()
        held = _VIEWS[key] = (registry, _RegistryView.of(registry, period))
    return held[1]


def _with_identity(info: pd.DataFrame, view: _RegistryView) -> pd.DataFrame:
    """The info frame with what the identity checks compare: the unit typed in B5 against the
    one the template was issued to, and the name typed in B6 against the registry's owners."""
    info = info.copy()
    names, latest, unit_shown, owners_shown = view.names, view.latest, view.unit_shown, view.owners_shown

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
        bool(found) and code in latest and code not in found for code, found in zip(typed, owners)
    ]
    info["name_owner_shown"] = [
        owners_shown.get(name, "") if isinstance(name, str) else "" for name in info["unit_name"]
    ]
    info["code_owner_shown"] = [unit_shown.get(code, "") for code in typed]
    # The period a template was issued for is its own, whatever its B9 and B10 were edited to say:
    # last quarter's file with B10 typed over is still last quarter's template.
    valid = (info["identity"] == VALID).to_numpy()
    for key in ("year", "quarter"):
        info[key] = info[key].astype(object).where(~valid, info[f"issued_{key}"].astype(object))
    # "Quý I/2023", as the clerk reads a quarter elsewhere; "quý 7" for a quarter that is none.
    info["period_shown"] = [_period_shown(y, q) for y, q in zip(info["year"], info["quarter"])]
    for key in identity.REQUIRED:
        info[f"{key}_or_null"] = with_nulls_as_value(info[key])
    return info


def _period_shown(year: object, quarter: object) -> str:
    try:
        return Period(int(year), int(quarter)).label_vi
    except (TypeError, ValueError):
        return f"quý {shown(quarter)}"


DATE_TEXT = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")
PHONE = re.compile(r"^\+?[0-9 .()\-]+$")


def _contact_states(info: pd.DataFrame, period: Period, today: dt.date) -> pd.DataFrame:
    """The info frame with what the report date and the phone number were found to hold."""
    info = info.copy()
    info["reported_on_state"] = [_report_date_state(v, period, today) for v in info["reported_on"]]
    info["phone_state"] = [_phone_state(v) for v in info["phone"]]
    return info


def _report_date_state(value, period: Period, today: dt.date) -> str:
    if _blank(value):
        return identity.OK
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    elif isinstance(value, str) and (parts := DATE_TEXT.match(value)):
        try:
            day = dt.date(int(parts[3]), int(parts[2]), int(parts[1]))
        except ValueError:
            return "not_date"
    else:
        return "not_date"
    if day > today:
        return "future"
    return "early" if day < period.starts_on else identity.OK


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or (isinstance(value, str) and not value.strip())


def _phone_state(value) -> str:
    if _blank(value):
        return identity.OK
    if isinstance(value, float) and value.is_integer():
        # Typed as a number, the leading 0 is gone: 912345678 is 0912345678.
        value = str(int(value))
    text = str(value).strip()
    digits = sum(c.isdigit() for c in text)
    return identity.OK if PHONE.match(text) and 9 <= digits <= 12 else "invalid"


def _versions_on(registry: Registry, day) -> dict:
    """Each unit's version in force on `day` (the first one listed, as Registry.version_on finds)."""
    out: dict = {}
    for version in registry.versions:
        if version.in_force_on(day):
            out.setdefault(version.unit_code, version)
    return out


def _merged_before(registry: Registry, period: Period) -> dict[str, str]:
    """Units merged into another before the period ends: code -> 'successor code (name)'."""
    in_force = {u.unit_code for u in registry.in_force_on(period.ends_on)}
    versions_then = _versions_on(registry, period.ends_on)
    out = {}
    for version in registry.versions:
        code = version.unit_code
        if code in in_force or not version.successor_code or version.valid_to is None:
            continue
        if version.valid_to < period.ends_on:
            successor = versions_then.get(version.successor_code)
            name = f" ({successor.name_vi})" if successor else ""
            out[code] = f"{version.successor_code}{name}"
    return out


def _resolve_numbers(
    frame: pd.DataFrame, column: str, decimals: pd.Series, signed: pd.Series, units: pd.Series | None = None,
    plausible: Callable[[int, float], bool] | None = None,
) -> None:
    """Numbers typed as text: the one reading the indicator allows, else the one reading that is
    `plausible` for the row, else ambiguous or text."""
    readings_shown = [""] * len(frame)
    # Where one of two readings was chosen by the figures around it: the clerk is told how it was read.
    read_as: list = [None] * len(frame)
    at_value, at_kind = frame.columns.get_loc(column), frame.columns.get_loc(f"{column}_kind")
    # Only cells read as text have readings to weigh; they are few, so they are weighed one by one.
    for i in np.flatnonzero((frame[f"{column}_kind"] == "text").to_numpy()):
        unit = units.iat[i] if units is not None else None
        every = number_readings(str(frame.iat[i, frame.columns.get_loc(f"{column}_text")]), unit)
        allowed = [r for r in every if signed.iat[i] or r >= 0]
        if every and not allowed and len(every) == 1:
            # "(0,581)" or "-5" where the figure cannot be negative: told it is negative, not "not a number".
            frame.iat[i, at_value] = every[0]
            frame.iat[i, at_kind] = "number"
            continue
        readings = [r for r in allowed if fits_decimals(r, int(decimals.iat[i]))]
        weighed = plausible
        if len(readings) == 1 and readings[0] != allowed[0]:
            # The Vietnamese reading (first) has too many decimals and only the English one fits:
            # "10,555" in an income cell is 10,555 to its clerk, not 10.555. Told, never guessed.
            readings, weighed = allowed, None
        if len(readings) == 1 or (not readings and len(allowed) == 1):
            # A lone reading with too many decimals ("300,5" people) is a number: it is then told
            # apart as such (`flag_fractions`), not as text.
            frame.iat[i, at_value] = (readings or allowed)[0]
            frame.iat[i, at_kind] = "number"
        elif len(readings) > 1:
            likely = [r for r in readings if weighed(i, r)] if weighed is not None else []
            if len(likely) == 1:
                # "69,769" tỷ đồng after 66,447 last quarter is not 69.769: a thousand times the
                # last quarter and beyond the programme's band. Only a clear case is read so.
                frame.iat[i, at_value] = likely[0]
                frame.iat[i, at_kind] = "number"
                unit = f" {units.iat[i]}" if units is not None and isinstance(units.iat[i], str) else ""
                read_as[i] = f"{vn_plain(likely[0])}{unit} ({about_vi(likely[0])}{unit})"
                continue
            frame.iat[i, at_kind] = "ambiguous"
            unit = f" {units.iat[i]}" if units is not None and isinstance(units.iat[i], str) else ""
            readings_shown[i] = " hoặc ".join(f"{vn_plain(r)} ({about_vi(r)}{unit})" for r in readings)
    frame[f"{column}_readings"] = readings_shown
    frame[f"{column}_read_as"] = read_as


def about_vi(value: float) -> str:
    """A number's size in words, so that 69,769 and 69.769 read apart: "khoảng 70", "khoảng 69,8 nghìn"."""
    size = abs(value)
    for scale, word in ((1e9, " tỷ"), (1e6, " triệu"), (1e3, " nghìn")):
        if size >= scale:
            return f"khoảng {vn_number(value / scale, 1).removesuffix(',0')}{word}"
    return f"khoảng {vn_number(value, 0 if size >= 10 else 1).removesuffix(',0')}"


def _flag_fractions(frame: pd.DataFrame, column: str, decimals: pd.Series) -> None:
    """A number with more decimals than its indicator takes (50,5 party members, an income to 3
    decimals where 2 are kept) is of kind `fraction`, an error of its own, and no longer a value:
    it would otherwise be loaded as typed."""
    places = pd.to_numeric(decimals, errors="coerce").fillna(6).to_numpy(dtype=float)
    scaled = frame[column].to_numpy(dtype=float) * 10.0 ** places
    with np.errstate(invalid="ignore"):
        excess = np.abs(scaled - np.rint(scaled)) > 1e-9 * np.maximum(1.0, np.abs(scaled))
    excess &= (frame[f"{column}_kind"] == "number").to_numpy()
    if not excess.any():
        return
    rows = np.flatnonzero(excess)
    at_kind, at_text = frame.columns.get_loc(f"{column}_kind"), frame.columns.get_loc(f"{column}_text")
    typed = frame.iloc[rows, at_text].to_numpy(dtype=object)
    values = frame[column].to_numpy(dtype=float)[rows]
    # What the clerk typed, when it was text; the number written the Vietnamese way otherwise.
    frame.iloc[rows, at_text] = [t if isinstance(t, str) else vn_plain(v) for t, v in zip(typed, values)]
    frame.iloc[rows, at_kind] = "fraction"
    frame.iloc[rows, frame.columns.get_loc(column)] = np.nan


# No unit's quarter reaches it in any unit of measure (10^15 đồng is a million billion): a value
# beyond it is a slip of the keyboard or of the unit, and summed over a bloc it overflows the
# warehouse's floating point (1e308 stopped PostgreSQL's year view).
MAX_MAGNITUDE = 1e15


def _flag_too_large(frame: pd.DataFrame, column: str) -> None:
    """A number beyond `MAX_MAGNITUDE` (or infinite) is of kind `too_large`, an error, and no
    longer a value."""
    values = frame[column].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        huge = (np.abs(values) >= MAX_MAGNITUDE) & (frame[f"{column}_kind"] == "number").to_numpy()
    if not huge.any():
        return
    rows = np.flatnonzero(huge)
    at_text = frame.columns.get_loc(f"{column}_text")
    typed = frame.iloc[rows, at_text].to_numpy(dtype=object)
    frame.iloc[rows, at_text] = [
        t if isinstance(t, str) else format(v, ".6g").replace("e+", " × 10^").replace(".", ",")
        for t, v in zip(typed, values[rows])
    ]
    frame.iloc[rows, frame.columns.get_loc(f"{column}_kind")] = "too_large"
    frame.iloc[rows, frame.columns.get_loc(column)] = np.nan


def _indicator_table(programme: Programme) -> pd.DataFrame:
    """The programme's indicators, one row per code, with what the checks read of each."""
    def band(low, high) -> str:
        return f"{vn_number(low, 1) if low is not None else '…'} – {vn_number(high, 1) if high is not None else '…'}"

    return pd.DataFrame(
        [(i.code, i.label_vi, bool(i.has_plan), bool(i.has_ytd), bool(i.signed), i.decimals, i.unit_vi,
          i.plausible_min, i.plausible_max, i.max_ratio_to_previous or None, band(i.plausible_min, i.plausible_max),
          0.5 * 10 ** -i.decimals,
          "chỉ nhận số nguyên" if not i.decimals else f"chỉ nhận tối đa {i.decimals} chữ số thập phân",
          i.aggregation != "sum")
         for i in programme.indicators],
        columns=["code", "label_vi", "has_plan", "has_ytd", "signed", "decimals", "unit_vi", "low", "high",
                 "limit", "band_shown", "tolerance", "decimals_shown", "is_level"],
    ).drop_duplicates("code", keep="last").set_index("code")


def _per_code(codes: pd.Series, table: pd.DataFrame, column: str, positions: np.ndarray | None = None) -> pd.Series:
    """`column` of each row's indicator, aligned with `codes` (missing for an unknown code);
    `positions` are the codes' rows in `table`, when already looked up."""
    if positions is None:
        positions = table.index.get_indexer(codes.astype(object))
    values = table[column].to_numpy(dtype=object)[np.where(positions >= 0, positions, 0)]
    values = np.where(positions >= 0, values, None)
    return pd.Series(values, index=codes.index, dtype=object)


def _enrich_indicators(
    frame: pd.DataFrame,
    programme: Programme,
    group_of: dict[str, str],
    unit_of: dict[str, str | None],
    history: History,
) -> pd.DataFrame:
    frame = frame.copy()
    table = _indicator_table(programme)
    codes = frame["indicator_code"]
    # Each row's indicator is looked up once for every column read of it.
    at = table.index.get_indexer(codes.astype(object))
    is_known = pd.Series(at >= 0, index=frame.index)
    frame["unit_code"] = frame["submission_id"].map(unit_of)
    frame["label"] = _per_code(codes, table, "label_vi", at).where(is_known, codes.astype(object)).tolist()
    frame["has_plan"] = _per_code(codes, table, "has_plan", at).where(is_known, False).astype(bool)
    frame["has_ytd"] = _per_code(codes, table, "has_ytd", at).where(is_known, False).astype(bool)
    frame["is_signed"] = _per_code(codes, table, "signed", at).where(is_known, False).astype(bool)
    groups = frame["submission_id"].map(group_of)
    is_expected = ~is_known | groups.isna()
    for group in groups.dropna().unique():
        allowed = [i.code for i in programme.indicators if i.applies_to(group)]
        is_expected |= (groups == group) & codes.isin(allowed)
    frame["is_expected"] = is_expected.astype(bool)
    # Cells the template locks (a plan or a year-to-date the indicator has not) are not read.
    frame.loc[~frame["has_plan"], ["plan", "plan_kind"]] = [None, "missing"]
    frame.loc[~frame["has_ytd"], ["ytd", "ytd_kind"]] = [None, "missing"]
    decimals = _per_code(codes, table, "decimals", at).where(is_known, 6)
    units = _per_code(codes, table, "unit_vi", at)
    before = _previous_values(frame["unit_code"], codes, history)
    plausible = _plausible_reading(table, codes, at, before)
    for column in ("value", "ytd", "plan"):
        frame[column] = frame[column].astype(object)
        weigh = plausible if column == "value" else _expected_ytd(frame, history, decimals) if column == "ytd" else None
        _resolve_numbers(frame, column, decimals, frame["is_signed"], units, weigh)
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
        frame[f"{column}_text"] = frame[f"{column}_text"].astype(object)
        _flag_too_large(frame, column)
        _flag_fractions(frame, column, decimals)
    frame["decimals_shown"] = _per_code(codes, table, "decimals_shown", at)
    frame["unit_vi"] = units.where(is_known, "")
    # A value that is itself an error (missing, text, negative where it cannot be) says nothing
    # about plausibility: no band, ratio or comparison is computed from it.
    frame["value_usable"] = (frame["value_kind"] == "number") & (frame["is_signed"] | (frame["value"] >= 0))
    # The indicator suite's row conditions, applied once here (see indicators._typed).
    for column, has in (("ytd", "has_ytd"), ("plan", "has_plan")):
        frame[f"{column}_kind_due"] = frame[f"{column}_kind"].where(frame[has], None)
    for column in ("value", "ytd", "plan"):
        frame[f"{column}_unsigned"] = frame[column].where(~frame["is_signed"])
    frame["ytd_compared"] = frame["ytd"].where(frame["has_ytd"] & ~frame["is_signed"] & (frame["ytd"] >= 0))
    _plausibility(frame, table, is_known, at, before, decimals)
    _plan_plausibility(frame, table, is_known, at, history)
    return frame


def _plausible_reading(
    table: pd.DataFrame, codes: pd.Series, at: np.ndarray, before: np.ndarray
) -> Callable[[int, float], bool]:
    """Whether a reading of row i's value is within the indicator's band and its change to the
    unit's last quarter within the indicator's limit (each where the programme and history say one)."""
    low = pd.to_numeric(_per_code(codes, table, "low", at), errors="coerce").to_numpy(dtype=float)
    high = pd.to_numeric(_per_code(codes, table, "high", at), errors="coerce").to_numpy(dtype=float)
    limit = pd.to_numeric(_per_code(codes, table, "limit", at), errors="coerce").to_numpy(dtype=float)

    def plausible(i: int, reading: float) -> bool:
        if (not np.isnan(low[i]) and reading < low[i]) or (not np.isnan(high[i]) and reading > high[i]):
            return False
        if np.isnan(before[i]) or before[i] == 0 or (reading < 0) != (before[i] < 0):
            return True
        # Two readings a thousand times apart: the one near last quarter's, within the indicator's
        # limit, or a generous one where it sets none (a profit has none).
        most = READING_RATIO if np.isnan(limit[i]) else limit[i]
        return 1 / most <= reading / before[i] <= most

    return plausible


# Two readings of one text differ a thousand times; telling them apart by last quarter needs
# no tighter a limit than this.
READING_RATIO = 30.0


def _expected_ytd(frame: pd.DataFrame, history: History, decimals: pd.Series) -> Callable[[int, float], bool]:
    """Whether a reading of row i's year-to-date is the unit's last year-to-date plus this quarter
    (the quarter itself when the unit has none earlier in the year), to its decimals. Looked up
    at the first question only: a year-to-date typed as ambiguous text is rare, a national
    history is a million rows."""
    found: dict[str, np.ndarray | None] = {}

    def expected(i: int, reading: float) -> bool:
        if not found:
            previous = latest_earlier(history.indicators, "indicator_code")
            found["at"] = positions_in(previous, ["unit_code", "indicator_code"],
                                       [frame["unit_code"], frame["indicator_code"]])
            found["earlier"] = (pd.to_numeric(previous["ytd_value"], errors="coerce").to_numpy(dtype=float)
                                if len(previous) else None)
            found["value"] = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=float)
        at, earlier, value = found["at"], found["earlier"], found["value"]
        before = earlier[at[i]] if earlier is not None and at[i] >= 0 else 0.0
        if np.isnan(before) or np.isnan(value[i]):
            return False
        places = pd.to_numeric(decimals.iat[i], errors="coerce")
        return abs(reading - (before + value[i])) <= 0.5 * 10 ** -(6 if pd.isna(places) else places)

    return expected


# A value about a thousand, a million or a billion times the unit's last quarter, where that
# fraction of it would be an ordinary change, is a decimal comma read as a thousands separator
# (8,998 tỷ entered as 8998 on a computer set to English) or a figure in another unit (7.000.000
# đồng in a triệu-đồng cell): an error, since summed over the bloc it swamps every other unit.
SLIP_SCALES = (SEPARATOR_SLIP, SEPARATOR_SLIP ** 2, SEPARATOR_SLIP ** 3)


def _plausibility(
    frame: pd.DataFrame, table: pd.DataFrame, is_known: pd.Series, at: np.ndarray, before: np.ndarray,
    decimals: pd.Series,
) -> None:
    """Band, change-to-previous-quarter and separator-slip flags, with the words the findings show."""
    codes, value = frame["indicator_code"], frame["value"].to_numpy(dtype=float)
    usable = frame["value_usable"].to_numpy(dtype=bool)
    low = pd.to_numeric(_per_code(codes, table, "low", at), errors="coerce").to_numpy(dtype=float)
    high = pd.to_numeric(_per_code(codes, table, "high", at), errors="coerce").to_numpy(dtype=float)
    has_low, has_high = ~np.isnan(low), ~np.isnan(high)
    banded = is_known.to_numpy() & usable & (has_low | has_high)
    with np.errstate(invalid="ignore"):
        outside = (has_low & (value < low)) | (has_high & (value > high))
    frame["in_band"] = _flags(banded, ~outside)
    frame["band_shown"] = _per_code(codes, table, "band_shown", at).where(is_known, "… – …").tolist()

    limit = pd.to_numeric(_per_code(codes, table, "limit", at), errors="coerce").to_numpy(dtype=float)
    # A slip is looked for in an indicator without a limit of its own too (a profit of 6,658 tỷ
    # typed on a computer set to English is 6658), within the generous ratio its readings take.
    slip_limit = np.where(np.isnan(limit), READING_RATIO, limit)
    has_decimals = pd.to_numeric(decimals, errors="coerce").fillna(0).to_numpy(dtype=float) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        previous = usable & ~np.isnan(before) & (before > 0)
        compared = ~np.isnan(limit) & previous
        ratio = value / before
        within = (1 / limit <= ratio) & (ratio <= limit)
        near = (1 / slip_limit <= ratio) & (ratio <= slip_limit)
        scale = np.full(len(frame), np.nan)
        for times in SLIP_SCALES:
            hit = np.isnan(scale) & ~near & (1 / slip_limit <= ratio / times) & (ratio / times <= slip_limit)
            scale[hit] = times
    slipped = previous & has_decimals & ~np.isnan(scale)
    frame["change_ok"] = _flags(compared, within)
    frame["separator_slip"] = _flags(previous & has_decimals, slipped)
    frame["slip_shown"] = [shown(float(v) / s) if hit else "" for v, s, hit in
                           zip(value.tolist(), scale.tolist(), slipped.tolist())]
    frame["slip_times"] = [vn_number(s, 0) if hit else "" for s, hit in zip(scale.tolist(), slipped.tolist())]
    # The year-to-date is not "below the quarter" when it is the quarter's value that is wrong.
    frame.loc[slipped, "ytd_compared"] = np.nan
    frame["change_shown"], frame["previous_shown"] = _change_words(ratio, before, compared & ~within)


def _change_words(ratio: np.ndarray, before: np.ndarray, told: np.ndarray) -> tuple[list[str], list[str]]:
    """"gấp 4,0 lần" or "chỉ bằng 11%", and the earlier figure, where a change is `told` (the words
    are needed only where the warning is given); the earlier figure is written as the cell's own
    value is in the same message ("= 123,5 ... (1234,5)")."""
    change_shown, previous_shown = [""] * len(ratio), [""] * len(ratio)
    for i in np.flatnonzero(told):
        r = float(ratio[i])
        change_shown[i] = f"gấp {vn_number(r, 1)} lần" if r >= 1 else f"chỉ bằng {vn_number(100 * r, 0)}%"
        previous_shown[i] = shown(float(before[i]))
    return change_shown, previous_shown


# A year's plan revised between quarters by more than this factor is worth a second look: a plan
# typed as a percentage (105% is stored as 1,05) or in another unit is this far off.
PLAN_CHANGE_LIMIT = 2.0


def _plan_plausibility(
    frame: pd.DataFrame, table: pd.DataFrame, is_known: pd.Series, at: np.ndarray, history: History
) -> None:
    """The plan's flags: outside the indicator's band where the plan is on the value's scale (an
    average or a level, not a year's total of quarterly flows), or far from the plan the unit
    reported in its last quarter."""
    codes, plan = frame["indicator_code"], frame["plan"].to_numpy(dtype=float)
    usable = (frame["has_plan"] & (frame["plan_kind"] == "number")).to_numpy(dtype=bool) & ~np.isnan(plan)
    usable &= plan >= 0
    level = _per_code(codes, table, "is_level", at).where(is_known, False).to_numpy(dtype=bool)
    low = pd.to_numeric(_per_code(codes, table, "low", at), errors="coerce").to_numpy(dtype=float)
    high = pd.to_numeric(_per_code(codes, table, "high", at), errors="coerce").to_numpy(dtype=float)
    has_low, has_high = ~np.isnan(low), ~np.isnan(high)
    with np.errstate(invalid="ignore"):
        outside = (has_low & (plan < low)) | (has_high & (plan > high))
    frame["plan_in_band"] = _flags(usable & level & (has_low | has_high), ~outside)
    before = _previous_values(frame["unit_code"], codes, history, "plan_value")
    with np.errstate(invalid="ignore", divide="ignore"):
        compared = usable & ~np.isnan(before) & (before > 0)
        ratio = plan / before
        within = (1 / PLAN_CHANGE_LIMIT <= ratio) & (ratio <= PLAN_CHANGE_LIMIT)
    frame["plan_change_ok"] = _flags(compared, within)
    frame["plan_change_shown"], frame["plan_previous_shown"] = _change_words(ratio, before, compared & ~within)


def _previous_values(units: pd.Series, codes: pd.Series, history: History, column: str = "value") -> np.ndarray:
    """Each row's `column` in the unit's earlier quarter, NaN where it has none."""
    if column not in history.indicators.columns:
        return np.full(len(units), np.nan)
    previous = latest_earlier(history.indicators, "indicator_code")
    at = positions_in(previous, ["unit_code", "indicator_code"], [units, codes])
    values = pd.to_numeric(previous[column], errors="coerce").to_numpy(dtype=float)
    return np.where(at >= 0, values[np.where(at >= 0, at, 0)], np.nan) if len(values) else np.full(len(units), np.nan)


def _flags(applies: np.ndarray, flag: np.ndarray) -> list:
    """True/False where a check applies, None elsewhere (a column GX reads as unchecked)."""
    return [bool(f) if a else None for a, f in zip(applies.tolist(), flag.tolist())]


def missing_indicator_rows(
    frame: pd.DataFrame, programme: Programme, group_of: dict[str, str]
) -> list[Finding]:
    """Indicators the unit's group must report whose row is absent from the sheet."""
    if not group_of:
        return []
    due = pd.DataFrame({"submission_id": list(group_of), "group": list(group_of.values())})
    due["order"] = np.arange(len(due))
    wanted = pd.DataFrame(
        [(g, position, i.code, i.label_vi) for g in due["group"].unique()
         for position, i in enumerate(programme.indicators_for(g))],
        columns=["group", "position", "indicator_code", "label_vi"],
    )
    due = due.merge(wanted, on="group")
    present = frame[["submission_id", "indicator_code"]].drop_duplicates()
    present = present.assign(present=True)
    due = due.merge(present, on=["submission_id", "indicator_code"], how="left")
    absent = due[due["present"].isna()].sort_values(["order", "position"])
    return [
        Finding(
            sid, "indicator.row_missing", ERROR, L.SHEET_INDICATORS, None, code,
            f'Thiếu dòng chỉ tiêu "{label}" ({code}) trong sheet '
            f'"{L.SHEET_INDICATORS}". Không xóa dòng trong mẫu; hãy dùng đúng tệp mẫu '
            "đã được cấp. Nếu mẫu đã cấp không có dòng này (chương trình được bổ sung chỉ tiêu sau khi phát mẫu), "
            "đơn vị không cần sửa tệp: hãy báo văn phòng Đảng ủy Khối để được cấp mẫu mới.",
        )
        for sid, code, label in zip(absent["submission_id"], absent["indicator_code"], absent["label_vi"])
    ]


def _comparisons(ind: pd.DataFrame, programme: Programme) -> pd.DataFrame:
    """One row per submission and comparison: the two values and where the first one is."""
    columns = ["submission_id", "comparison", "left_value", "right_value", "left_cell", "left_label", "right_label"]
    rows = ind[["submission_id", "indicator_code", "value", "value_usable", "value_cell", "label"]]
    rows = rows.drop_duplicates(["submission_id", "indicator_code"], keep="last")
    order = pd.Series(np.arange(ind["submission_id"].nunique()), index=ind["submission_id"].unique())
    parts = []
    for n, c in enumerate(programme.comparisons):
        left = rows[rows["indicator_code"] == c.indicator]
        right = rows[rows["indicator_code"] == c.at_most]
        pair = left.merge(right, on="submission_id", suffixes=("_l", "_r"))
        pair = pair[pair["value_usable_l"].astype(bool) & pair["value_usable_r"].astype(bool)]
        parts.append(pd.DataFrame({
            "submission_id": pair["submission_id"], "comparison": f"{c.indicator}<={c.at_most}",
            "left_value": pair["value_l"], "right_value": pair["value_r"], "left_cell": pair["value_cell_l"],
            "left_label": pair["label_l"], "right_label": pair["label_r"],
            "order": pair["submission_id"].map(order), "n": n,
        }))
    if not parts or all(p.empty for p in parts):
        return pd.DataFrame(columns=columns)
    frame = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    return frame.sort_values(["order", "n"], kind="stable")[columns].reset_index(drop=True)


def _locked_cells(parsed: ParsedBatch, info: pd.DataFrame, programme: Programme, units: dict) -> pd.DataFrame:
    """Cells the template fills and locks, as found beside what the template wrote.

    A file with its identity is compared with what was handed out to it, every locked cell; one
    without (rejected for that anyway) with what the programme and the registry say today.
    """
    columns = ["submission_id", "kind", "sheet", "cell", "found", "expected", "found_shown", "expected_shown"]
    base = ["submission_id", "kind", "sheet", "cell", "found", "expected"]
    identified = set(info.loc[info["identity"] == VALID, "submission_id"])
    parts = [parsed.headers.assign(kind="header")[base]]

    # Rows of files without their identity are ordered as they are found: each indicator's label
    # then its unit; each info sheet's group, type, then name.
    ind = parsed.indicators[~parsed.indicators["submission_id"].isin(identified)]
    table = _indicator_table(programme)
    ind = ind[ind["indicator_code"].astype(object).isin(table.index)]
    if not ind.empty:
        at = np.arange(len(ind))
        label = pd.DataFrame({"submission_id": ind["submission_id"].to_numpy(), "kind": "locked",
                              "sheet": L.SHEET_INDICATORS, "cell": ind["label_cell"].to_numpy(),
                              "found": ind["label_found"].to_numpy(dtype=object),
                              "expected": _per_code(ind["indicator_code"], table, "label_vi").to_numpy(),
                              "at": at, "sub": 0})
        unit = label.assign(cell=ind["unit_cell"].to_numpy(), found=ind["unit_found"].to_numpy(dtype=object),
                            expected=_per_code(ind["indicator_code"], table, "unit_vi").to_numpy(), sub=1)
        parts.append(pd.concat([label, unit]).sort_values(["at", "sub"], kind="stable")[base])

    known = info[info["unit_code"].astype(object).isin(list(units))]
    if not known.empty:
        unit_of_row = [units[c] for c in known["unit_code"]]
        pieces = []
        not_identified = ~known["submission_id"].isin(identified).to_numpy()
        for sub, key, expected in (
            (0, "unit_group", [programme.groups[u.unit_group] for u in unit_of_row]),
            (1, "unit_type", [programme.unit_types[u.unit_type] for u in unit_of_row]),
            (2, "unit_name", [u.name_vi for u in unit_of_row]),
        ):
            piece = pd.DataFrame({
                "submission_id": known["submission_id"].to_numpy(),
                "kind": "unit_name" if key == "unit_name" else "locked", "sheet": L.SHEET_INFO,
                "cell": L.INFO[key].cell, "found": known[key].to_numpy(dtype=object),
                "expected": pd.Series(expected, dtype=object).to_numpy(), "at": np.arange(len(known)), "sub": sub,
            })
            pieces.append(piece if key == "unit_name" else piece[not_identified])
        parts.append(pd.concat(pieces).sort_values(["at", "sub"], kind="stable")[base])

    parts = [p for p in parts if not p.empty]
    if parts:
        frame = pd.concat(parts, ignore_index=True)
    else:
        frame = pd.DataFrame({c: pd.Series(dtype=object) for c in base})
    frame = frame.astype({"found": object, "expected": object})
    frame["found_shown"], frame["expected_shown"] = frame["found"], frame["expected"]
    # Some 230 locked cells a file: the suite sees those that differ; equal ones cannot fail it.
    handed_out = parsed.locked.assign(kind="locked")
    differs = handed_out["submission_id"].isin(identified) & (handed_out["found"] != handed_out["expected"])
    handed_out = handed_out[differs]
    frame = pd.concat([frame, handed_out[columns]], ignore_index=True) if not handed_out.empty else frame[columns]
    for kind in structure.KINDS:
        of_kind = frame["kind"] == kind
        frame[f"found_{kind}"] = frame["found"].where(of_kind, "")
        frame[f"expected_{kind}"] = frame["expected"].where(of_kind, "")
    return frame


def _enrich_tasks(frame: pd.DataFrame, programme: Programme, period: Period) -> pd.DataFrame:
    frame = frame.copy()
    sources = programme.source_by_label()
    statuses = programme.status_by_label()
    completed = {c.code for c in programme.task_statuses if c.is_completed}
    needs_reason = {c.code for c in programme.task_statuses if c.needs_reason}
    source_labels, status_labels = pd.factorize(frame["source_label"]), pd.factorize(frame["status_label"])
    frame["source_code"] = _per_label(source_labels, sources.get).tolist()
    frame["status_code"] = _per_label(status_labels, statuses.get).tolist()
    frame["source_known"] = _per_label(source_labels, sources.__contains__, True).astype(bool)
    frame["status_known"] = _per_label(status_labels, statuses.__contains__, True).astype(bool)
    frame["is_completed"] = frame["status_code"].isin(completed)
    frame["completed_on_kind_due"] = frame["completed_on_kind"].where(
        frame["is_completed"] | (frame["completed_on_kind"] != "missing"), None)
    frame["completed_on_ts"] = pd.to_datetime(frame["completed_on"], errors="coerce")
    frame["completed_on_shown"] = frame["completed_on_ts"].dt.strftime("%d/%m/%Y")
    period_end = pd.Timestamp(dt.datetime.combine(period.ends_on, dt.time()))
    frame["open_dated_in_future"] = (
        frame["status_code"].notna() & ~frame["is_completed"] & (frame["completed_on_ts"] > period_end)
    )
    frame["reason_missing"] = frame["status_code"].isin(needs_reason) & frame["note"].isna()
    first, last = key_tasks.completed_on_window(programme, period)
    dated = frame["is_completed"] & frame["completed_on_ts"].notna()
    within = (frame["completed_on_ts"] >= first) & (frame["completed_on_ts"] <= last)
    frame["completed_on_in_range"] = _flags(dated.to_numpy(dtype=bool), within.to_numpy(dtype=bool))
    return frame


def _per_label(factorized: tuple, look_up, missing=None) -> np.ndarray:
    """`look_up` of each label, `missing` where there is none: looked up once per distinct label,
    as a batch repeats the same few labels on tens of thousands of rows (`factorized` is what
    pd.factorize gives of the labels, taken once for every look-up of them)."""
    codes, uniques = factorized
    found = np.array([look_up(label) for label in uniques] + [missing], dtype=object)
    return found[codes]


def _totals(parsed: ParsedBatch, tasks: pd.DataFrame, programme: Programme, unit_of: dict) -> pd.DataFrame:
    """Each line the clerk must total, with what was stated and what the rows add up to."""
    columns = ["submission_id", "key", "label", "actual", "stated", "stated_kind", "stated_text", "stated_cell"]
    lines = L.summary_lines([(c.code, c.label_vi) for c in programme.task_sources])
    line_frame = pd.DataFrame({
        "line": np.arange(len(lines)), "key": [x.key for x in lines], "label": [x.label_vi for x in lines],
        "source_code": pd.Series([x.source_code for x in lines], dtype=object),
        "is_completed": [bool(x.is_completed) for x in lines], "line_cell": [x.cell for x in lines],
    })
    sids = pd.DataFrame({"submission_id": pd.Series(list(unit_of), dtype=object), "order": np.arange(len(unit_of))})
    frame = sids.merge(line_frame, how="cross")
    total = tasks.groupby("submission_id").size()
    completed = tasks.groupby("submission_id")["is_completed"].sum()
    by_source = tasks.groupby(["submission_id", "source_code"]).size().rename("by_source").reset_index()
    frame = frame.merge(by_source.astype({"submission_id": object, "source_code": object}),
                        on=["submission_id", "source_code"], how="left")
    actual = np.where(
        frame["source_code"].notna(), frame["by_source"].fillna(0),
        np.where(frame["is_completed"], frame["submission_id"].map(completed).fillna(0),
                 frame["submission_id"].map(total).fillna(0)))
    frame["actual"] = actual.astype(int)
    # A task whose status (or source) was not understood is told at its own cell: the completed
    # (or that source's) total is not then called wrong, since the clerk's number may be right.
    unknown_status = tasks["status_code"].isna().groupby(tasks["submission_id"]).any()
    unknown_source = tasks["source_code"].isna().groupby(tasks["submission_id"]).any()
    frame["unsure"] = np.where(
        frame["source_code"].notna(), frame["submission_id"].map(unknown_source).eq(True),
        frame["is_completed"] & frame["submission_id"].map(unknown_status).eq(True))
    # What the clerk wrote on each line, found by its label (the last one when a label repeats).
    stated = parsed.summary.drop_duplicates(["submission_id", "key"], keep="last").rename(columns={"key": "label"})
    frame = frame.merge(stated.astype({"submission_id": object, "label": object}), on=["submission_id", "label"],
                        how="left", indicator="found")
    found = (frame["found"] == "both").to_numpy()
    frame["stated"] = frame["stated"].astype(object).where(found, None)
    frame["stated_kind"] = frame["stated_kind"].astype(object).where(found, "missing")
    frame["stated_text"] = frame["stated_text"].astype(object).where(found, None)
    frame["stated_cell"] = frame["stated_cell"].astype(object).where(found, frame["line_cell"])
    frame = frame.sort_values(["order", "line"], kind="stable")[[*columns, "unsure"]].reset_index(drop=True)
    decimals = pd.Series(0, index=frame.index)
    _resolve_numbers(frame, "stated", decimals, pd.Series(False, index=frame.index))
    frame["stated"] = pd.to_numeric(frame["stated"], errors="coerce").where(~frame.pop("unsure").astype(bool))
    return frame
