"""Approving, reopening and extending a quarter: the append-only audit and what it implies.

An approved quarter is locked: files that pass for it are kept as `held` and not loaded until
the quarter is reopened; the first collect after a reopen releases them (`release_held`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, text, update

from reporting.periods import deadline_at
from warehouse import models as m
from warehouse.load import _supersede

AUDIT = m.PeriodAudit.__table__


@dataclass(frozen=True)
class Approval:
    """A quarter's state in v_period_approval: open, approved or reopened."""

    year: int
    quarter: int
    state: str
    approved_by: str | None = None
    approved_at: dt.datetime | None = None
    reopened_by: str | None = None
    reopened_at: dt.datetime | None = None
    reopen_reason: str | None = None
    held_files: int = 0

    @property
    def is_locked(self) -> bool:
        return self.state == "approved"


def approval_of(engine: Engine, year: int, quarter: int) -> Approval | None:
    """The quarter's approval state; None when the warehouse has no such period."""
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT year, quarter, state, approved_by, approved_at, reopened_by, reopened_at, "
                 "reopen_reason, held_files FROM v_period_approval WHERE year = :y AND quarter = :q"),
            {"y": year, "q": quarter},
        ).mappings().first()
    if row is None:
        return None
    found = dict(row)
    for key in ("approved_at", "reopened_at"):
        found[key] = _utc(found[key])
    found["held_files"] = int(found["held_files"] or 0)
    return Approval(**found)


def approvals(engine: Engine, year: int) -> list[Approval]:
    """Every quarter of the year in the warehouse, in order."""
    with engine.connect() as conn:
        quarters = conn.execute(
            text("SELECT quarter FROM period WHERE year = :y ORDER BY quarter"), {"y": year}
        ).scalars().all()
    return [approval_of(engine, year, q) for q in quarters]


def unapproved_quarters(engine: Engine, year: int) -> list[int]:
    """Quarters of the year not approved now (reopened ones included)."""
    return [a.quarter for a in approvals(engine, year) if not a.is_locked]


def _record(engine: Engine, year: int, quarter: int, action: str, actor: str, reason: str | None,
            unit_code: str | None = None, until: dt.date | None = None) -> dt.datetime:
    now = dt.datetime.now(dt.timezone.utc)
    with engine.begin() as conn:
        conn.execute(insert(AUDIT), {
            "year": year, "quarter": quarter, "action": action, "unit_code": unit_code,
            "extended_until": until, "extended_until_at": deadline_at(until) if until else None,
            "actor": actor, "reason": reason, "recorded_at": now,
        })
    return now


def ever_collected(engine: Engine) -> bool:
    """Whether any collect run has worked in this warehouse."""
    runs = m.CollectRun.__table__
    with engine.connect() as conn:
        return conn.execute(select(runs.c.collect_run_id).limit(1)).first() is not None


def collected_quarters(engine: Engine, year: int) -> set[int]:
    """The quarters of the year a collect run has finished at least once."""
    runs = m.CollectRun.__table__
    with engine.connect() as conn:
        return set(conn.execute(select(runs.c.quarter).distinct().where(
            runs.c.year == year, runs.c.finished_at.is_not(None))).scalars())


def approve(engine: Engine, year: int, quarter: int, actor: str, note: str | None = None) -> bool:
    """Approve (lock) the quarter; False when it was approved already (nothing recorded)."""
    current = approval_of(engine, year, quarter)
    if current is not None and current.is_locked:
        return False
    _record(engine, year, quarter, "approve", actor, note)
    return True


def reopen(engine: Engine, year: int, quarter: int, actor: str, reason: str) -> bool:
    """Reopen (unlock) an approved quarter; False when it was not approved (nothing recorded)."""
    current = approval_of(engine, year, quarter)
    if current is None or not current.is_locked:
        return False
    _record(engine, year, quarter, "reopen", actor, reason)
    return True


def extend(engine: Engine, year: int, quarter: int, unit_code: str, until: dt.date, actor: str, reason: str) -> bool:
    """Move one unit's deadline for the quarter to the end of `until` (local day); False when the
    quarter is approved (nothing recorded): an extension would change the figures approved."""
    current = approval_of(engine, year, quarter)
    if current is not None and current.is_locked:
        return False
    _record(engine, year, quarter, "extend", actor, reason, unit_code=unit_code, until=until)
    return True


def audit_trail(engine: Engine, year: int, quarter: int) -> list[dict]:
    """Every decision recorded for the quarter, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(AUDIT).where(AUDIT.c.year == year, AUDIT.c.quarter == quarter)
            .order_by(AUDIT.c.recorded_at, AUDIT.c.period_audit_id)
        ).mappings().all()
    return [dict(r) for r in rows]


def release_held(engine: Engine, year: int, quarter: int) -> list[str]:
    """Load the files held while the quarter was approved; return their hashes.

    Each takes the verdict its checks gave (with warnings when it has any) and the usual
    supersession: a unit's latest passing version becomes the current one.
    """
    table = m.Submission.__table__
    with engine.begin() as conn:
        held = conn.execute(
            select(table.c.submission_id, table.c.file_sha256, table.c.unit_code)
            .where(table.c.year == year, table.c.quarter == quarter, table.c.status == "held")
        ).all()
        if not held:
            return []
        warned = set(conn.execute(
            select(m.ValidationFinding.submission_id).where(
                m.ValidationFinding.submission_id.in_([h.submission_id for h in held]),
                m.ValidationFinding.severity == "warning",
            )
        ).scalars())
        for row in held:
            status = "accepted_with_warnings" if row.submission_id in warned else "accepted"
            conn.execute(update(table).where(table.c.submission_id == row.submission_id).values(status=status))
        _supersede(conn, {h.unit_code for h in held if h.unit_code}, year, quarter)
    return [h.file_sha256 for h in held]


def _utc(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
