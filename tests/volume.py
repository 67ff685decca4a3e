"""A warehouse at national volume, filled directly (no workbooks): N units x 4 quarters of files,
submissions, findings and facts shaped as a real collect leaves them.

Each quarter has two collect runs: the first brings most units' files, the second the late ones,
the resubmissions (their first version becomes superseded) and the resubmissions after a
rejection. About 1% of units send nothing in a quarter, 2% are rejected (half of those resend),
3% resend an accepted file, 5% pass with warnings and 4% arrive after the deadline; every 97th
unit's second Q1 file arrives after Q1 was approved (held). Some units
are renamed mid-year, some merge into another (a few in chains of two), some close, some open.

    python -m tests.volume --units 60000 --warehouse postgresql+psycopg://... --dir /tmp/vol

writes the registry and the programme into DIR/programmes (for P135_PROGRAMMES_DIR) and fills
the warehouse at that URL (migrated to head first).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text

from reporting.periods import Period
from reporting.programme import PROGRAMMES_DIR, Programme, load_programme
from reporting.units import REGISTRY_FILE_NAME, load_registry
from warehouse import models as m
from warehouse.engine import make_engine
from warehouse.load import analyze_loaded, bulk_insert
from warehouse.migrate import upgrade
from warehouse.reference import load_reference

YEAR = 2023
PROGRAMME_FILE = f"ctr135-{YEAR}.toml"
CHUNK = 5000
SOURCES = ("ctr135", "superior", "unit")
UTC = dt.timezone.utc


@dataclass(frozen=True)
class VolumeUnit:
    index: int
    code: str
    group: str
    valid_from: dt.date
    valid_to: dt.date | None
    successor: str | None
    renamed_on: dt.date | None


def unit_code(index: int) -> str:
    return f"{'DN' if index % 7 == 0 else 'CQ'}{index:06d}"


def volume_units(n: int) -> list[VolumeUnit]:
    """The registry: every 211th unit merges into a lower unit of its group at mid-year (every
    1055th into one that merges too), every 89th closes after Q1, every 389th opens in Q2,
    every 53rd is renamed at mid-year."""
    units = []
    for i in range(1, n + 1):
        group = "enterprises" if i % 7 == 0 else "agencies"
        valid_from, valid_to, successor, renamed = dt.date(2020, 1, 1), None, None, None
        if i % 211 == 0:
            valid_to = dt.date(YEAR, 6, 30)
            successor = unit_code(_successor(i, chain=i % 1055 == 0))
        elif i % 89 == 0:
            valid_to = dt.date(YEAR, 3, 31)
        elif i % 389 == 0:
            valid_from = dt.date(YEAR, 4, 1)
        elif i % 53 == 0:
            renamed = dt.date(YEAR, 7, 1)
        units.append(VolumeUnit(i, unit_code(i), group, valid_from, valid_to, successor, renamed))
    return units


def _successor(i: int, chain: bool) -> int:
    """The nearest lower unit of the same group: merged itself (a chain) or never merged."""
    step = 7 if i % 7 == 0 else 1
    j = i - step
    while j > 0:
        merging = j % 211 == 0
        same_group = (j % 7 == 0) == (i % 7 == 0)
        if same_group and merging == chain and j % 89 and j % 389:
            return j
        j -= step
    return 1


def write_programmes(units: list[VolumeUnit], folder: Path) -> Path:
    """The programme file and the registry of `units`, as P135_PROGRAMMES_DIR holds them."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROGRAMMES_DIR / PROGRAMME_FILE, folder / PROGRAMME_FILE)
    lines = ["unit_code,name_vi,unit_group,unit_type,valid_from,valid_to,successor_code"]
    for u in units:
        kind = "dang_bo_co_so" if u.index % 3 == 0 else "chi_bo_co_so"
        name = f"{'Đảng bộ' if kind == 'dang_bo_co_so' else 'Chi bộ'} đơn vị số {u.index}"
        if u.renamed_on:
            before = u.renamed_on - dt.timedelta(days=1)
            lines.append(f"{u.code},{name} (tên cũ),{u.group},{kind},{u.valid_from},{before},")
            lines.append(f"{u.code},{name},{u.group},{kind},{u.renamed_on},,")
        else:
            lines.append(f"{u.code},{name},{u.group},{kind},{u.valid_from},{u.valid_to or ''},{u.successor or ''}")
    (folder / REGISTRY_FILE_NAME).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _draw(i: int, quarter: int) -> int:
    """A deterministic 0-99 per unit and quarter."""
    return int.from_bytes(hashlib.blake2b(f"{i}-{quarter}".encode(), digest_size=4).digest(), "big") % 100


def _files(u: VolumeUnit, quarter: int) -> list[tuple[int, str]]:
    """(run 1 or 2, status before supersession) of each file the unit sends for the quarter."""
    d = _draw(u.index, quarter)
    if quarter == 1 and u.index % 97 == 0:
        return [(1, "accepted"), (2, "held")]
    if d == 0:
        return []
    if d == 1:
        return [(1, "rejected"), (2, "accepted")]
    if d == 2:
        return [(1, "rejected")]
    if d in (3, 4, 5):
        return [(1, "accepted"), (2, "accepted_with_warnings" if d == 5 else "accepted")]
    if 6 <= d <= 10:
        return [(1, "accepted_with_warnings")]
    if 90 <= d <= 93:
        return [(2, "accepted")]
    return [(1, "accepted")]


def _value(i: int, quarter: int, code: str, version: int) -> float:
    base = int.from_bytes(hashlib.blake2b(f"{i}{code}".encode(), digest_size=2).digest(), "big")
    return float(base % 40 + quarter + (version - 1) * 3)


def _indicator_rows(programme: Programme, u: VolumeUnit, quarter: int, version: int, sid: int) -> list[dict]:
    rows = []
    for ind in programme.indicators_for(u.group):
        if ind.code == "avg_income_m_vnd":
            value = round(6.5 + (u.index % 50) / 10 + quarter / 10, 2)
        elif ind.code == "workers":
            value = float(20 + u.index % 400)
        elif ind.code == "party_members_end":
            value = float(8 + u.index % 120 + quarter)
        elif ind.decimals:
            value = round(_value(u.index, quarter, ind.code, version) * 1.125, 3)
        else:
            value = _value(u.index, quarter, ind.code, version)
        ytd = None
        if ind.has_ytd:
            ytd = value + sum(_value(u.index, q, ind.code, 1) * (1.125 if ind.decimals else 1) for q in range(1, quarter))
            ytd = round(ytd, ind.decimals)
        plan = None
        if ind.has_plan:
            plan = round(value * 4.2 if ind.has_ytd else value * 1.05, ind.decimals or 0) if quarter > 1 or u.index % 9 else None
        rows.append({"submission_id": sid, "indicator_code": ind.code, "value": value, "ytd_value": ytd, "plan_value": plan})
    return rows


def _task_rows(u: VolumeUnit, quarter: int, sid: int, ends_on: dt.date) -> list[dict]:
    rows = []
    count = 2 + u.index % 4
    for t in range(1, count + 1):
        if t == count and u.index % 2 and quarter == 1:
            continue  # a task identified only from the second quarter
        progress = (u.index + t + quarter) % 7
        status = ("not_started", "in_progress", "in_progress", "completed", "completed", "in_progress", "stopped")[progress]
        rows.append({
            "submission_id": sid, "task_code": f"NV{t:02d}",
            "content_vi": f"Nhiệm vụ trọng tâm số {t} của đơn vị {u.code}",
            "source_code": SOURCES[(u.index + t) % 3], "status_code": status,
            "completed_on": ends_on if status == "completed" else None,
            "note_vi": "Chờ kinh phí" if status == "stopped" else None,
        })
    return rows


def _in_force(u: VolumeUnit, day: dt.date) -> bool:
    return u.valid_from <= day and (u.valid_to is None or day <= u.valid_to)


def fill_volume(engine: Engine, units: list[VolumeUnit], programme: Programme, programmes: Path) -> dict[str, int]:
    """Migrate, load the programme and registry, then load four quarters of `units`; return row counts."""
    upgrade(engine)
    load_reference(engine, [programme], load_registry(programmes / REGISTRY_FILE_NAME))
    counts = {"submission": 0, "submission_indicator": 0, "submission_key_task": 0, "validation_finding": 0}
    with engine.connect() as conn:
        next_sid = (conn.execute(text("SELECT MAX(submission_id) FROM submission")).scalar() or 0) + 1
    for quarter in (1, 2, 3, 4):
        period = Period(YEAR, quarter)
        deadline = dt.datetime.combine(programme.deadlines[quarter], dt.time(10), UTC)
        runs = {}
        with engine.begin() as conn:
            for run in (1, 2):
                started = deadline + dt.timedelta(days=-3 if run == 1 else 5)
                runs[run] = conn.execute(
                    m.CollectRun.__table__.insert().returning(m.CollectRun.collect_run_id),
                    {"flow_run_id": None, "year": YEAR, "quarter": quarter, "inbox": f"/srv/inbox/{YEAR}-Q{quarter}",
                     "started_at": started, "finished_at": started + dt.timedelta(minutes=2), "files_seen": 0,
                     "files_new": 0, "accepted": 0, "accepted_with_warnings": 0, "rejected": 0},
                ).scalar_one()
        reporting = [u for u in units if _in_force(u, period.ends_on) or (u.valid_to and period.starts_on <= u.valid_to)]
        for start in range(0, len(reporting), CHUNK):
            rows = _quarter_rows(programme, reporting[start:start + CHUNK], quarter, runs, deadline, next_sid)
            next_sid += len(rows["submission"])
            with engine.begin() as conn:
                for name in ("received_file", "submission", "validation_finding", "submission_indicator", "submission_key_task"):
                    bulk_insert(conn, m.Base.metadata.tables[name], rows[name])
            for name in counts:
                counts[name] += len(rows[name])
    with engine.begin() as conn:
        _record_decisions(conn, units, programme)
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('submission', 'submission_id'), "
                              "(SELECT MAX(submission_id) FROM submission))"))
        analyze_loaded(conn)
    return counts


def _record_decisions(conn, units: list[VolumeUnit], programme: Programme) -> None:
    """Q1 approved (files passing after it are held), Q2 approved then reopened, and an extended
    deadline for every 101st unit in Q3."""
    audit = m.PeriodAudit.__table__
    at = dt.datetime(YEAR + 1, 1, 20, 3, tzinfo=UTC)
    rows = [
        {"year": YEAR, "quarter": 1, "action": "approve", "actor": "Chánh Văn phòng", "reason": None, "recorded_at": at},
        {"year": YEAR, "quarter": 2, "action": "approve", "actor": "Chánh Văn phòng", "reason": None, "recorded_at": at},
        {"year": YEAR, "quarter": 2, "action": "reopen", "actor": "Phó Chánh Văn phòng", "reason": "Đơn vị gửi bổ sung",
         "recorded_at": at + dt.timedelta(hours=2)},
    ]
    until = programme.deadlines[3] + dt.timedelta(days=10)
    rows += [
        {"year": YEAR, "quarter": 3, "action": "extend", "unit_code": u.code, "extended_until": until,
         "extended_until_at": dt.datetime.combine(until, dt.time(17), UTC), "actor": "Chánh Văn phòng",
         "reason": "Đơn vị xin gia hạn", "recorded_at": at}
        for u in units if u.index % 101 == 0
    ]
    conn.execute(insert(audit), [{"unit_code": None, "extended_until": None, "extended_until_at": None, **r} for r in rows])


def _quarter_rows(
    programme: Programme, units: list[VolumeUnit], quarter: int, runs: dict[int, int], deadline: dt.datetime, first_sid: int,
) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in (
        "received_file", "submission", "validation_finding", "submission_indicator", "submission_key_task")}
    sid = first_sid
    ends_on = Period(YEAR, quarter).ends_on
    for u in units:
        previous_passed, previous_row = None, None
        for version, (run, status) in enumerate(_files(u, quarter), start=1):
            sha = hashlib.sha256(f"{u.code}-{YEAR}-{quarter}-{version}".encode()).hexdigest()
            late = _draw(u.index, quarter) >= 90
            received = deadline + dt.timedelta(days=-2 + 4 * (run == 2) + 2 * late, minutes=u.index % 600)
            name = f"{u.code}_{YEAR}-Q{quarter}_lan{version}.xlsx"
            out["received_file"].append({
                "file_sha256": sha, "original_name": name, "original_name_raw": name.encode(),
                "size_bytes": 18000 + u.index % 5000, "archive_path": f"archive/{sha[:2]}/{sha}.xlsx",
                "received_at": received, "collect_run_id": runs[run],
            })
            passed = status in m.CURRENT_STATUSES
            out["submission"].append({
                "submission_id": sid, "file_sha256": sha, "unit_code": u.code, "year": YEAR, "quarter": quarter,
                "template_version": programme.template_version, "received_at": received,
                "checked_at": received + dt.timedelta(minutes=1), "status": status,
                "supersedes_submission_id": previous_passed, "collect_run_id": runs[run],
            })
            if status in ("rejected", "accepted_with_warnings"):
                severity = "error" if status == "rejected" else "warning"
                out["validation_finding"].append({
                    "submission_id": sid, "rule_id": "range.value" if severity == "error" else "ratio.previous",
                    "severity": severity, "sheet": "Chỉ tiêu", "cell": "D7", "value": "-5",
                    "message_vi": "Giá trị không được âm" if severity == "error" else "Tăng bất thường so với quý trước",
                })
            if passed:
                out["submission_indicator"] += _indicator_rows(programme, u, quarter, version, sid)
                out["submission_key_task"] += _task_rows(u, quarter, sid, ends_on)
                if previous_row is not None:
                    previous_row["status"] = "superseded"
                previous_passed, previous_row = sid, out["submission"][-1]
            sid += 1
    return out


def build(engine: Engine, n: int, folder: Path) -> dict[str, int]:
    """Registry and programme under `folder`, then the warehouse filled with `n` units' year."""
    units = volume_units(n)
    programmes = write_programmes(units, folder)
    return fill_volume(engine, units, load_programme(programmes / PROGRAMME_FILE), programmes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--warehouse", required=True, help="SQLAlchemy URL of an empty warehouse")
    parser.add_argument("--dir", required=True, type=Path, help="where the programme and registry are written")
    args = parser.parse_args()
    started = time.perf_counter()
    counts = build(make_engine(args.warehouse), args.units, args.dir / "programmes")
    print(counts, f"{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
