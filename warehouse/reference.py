"""Load the programme and the unit registry into the warehouse, changing only what differs."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterable

from sqlalchemy import (
    Connection,
    Engine,
    String,
    Table,
    and_,
    delete,
    distinct,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)

from reporting.periods import Period, deadline_at
from reporting.programme import Programme
from reporting.units import Registry, RegistryError
from warehouse import models as m
from warehouse.load import analyze
from warehouse.view_docs import VIEWS as VIEW_DOCS
from warehouse.view_docs import WIDE_VIEW

REFERENCE_TABLES = (
    "programme", "indicator", "task_source", "task_status", "headline_metric", "headline_task_member",
    "period", "unit", "unit_lineage", "unit_year",
)

# unit_lineage from unit: each code's latest version, and where its chain of mergers ends (at
# most 50 steps). Run at load, so the views read the result instead of walking the chains.
LINEAGE = """
WITH RECURSIVE latest AS (
    SELECT unit_code, name_vi, unit_group, unit_type, valid_to, successor_unit_code, first_valid_from
    FROM (
        SELECT u.*,
               ROW_NUMBER() OVER (PARTITION BY unit_code ORDER BY valid_from DESC) AS version_rank,
               MIN(valid_from) OVER (PARTITION BY unit_code) AS first_valid_from
        FROM unit u
    ) v
    WHERE version_rank = 1
),
chain (unit_code, current_unit_code, depth) AS (
    SELECT unit_code, unit_code, 0 FROM latest
    UNION ALL
    SELECT c.unit_code, l.successor_unit_code, c.depth + 1
    FROM chain c
    JOIN latest l ON l.unit_code = c.current_unit_code
    WHERE l.successor_unit_code IS NOT NULL AND c.depth < 50
),
deepest AS (
    SELECT unit_code, current_unit_code,
           ROW_NUMBER() OVER (PARTITION BY unit_code ORDER BY depth DESC) AS depth_rank
    FROM chain
)
INSERT INTO unit_lineage (unit_code, unit_name, unit_group, unit_type, valid_from, valid_to,
                          successor_unit_code, current_unit_code, current_unit_name,
                          current_unit_group, is_merged)
SELECT l.unit_code, l.name_vi, l.unit_group, l.unit_type, l.first_valid_from,
       l.valid_to, l.successor_unit_code,
       d.current_unit_code, c.name_vi, c.unit_group,
       (d.current_unit_code <> l.unit_code)
FROM latest l
JOIN deepest d ON d.unit_code = l.unit_code AND d.depth_rank = 1
JOIN latest c ON c.unit_code = d.current_unit_code
"""


# unit_year from unit and period: for each year with a programme, each unit in force at some time
# in it, its last version of the year, and where the year's mergers (a unit ended before the
# year's last day, with a successor in force that year) lead it by the year's end.
UNIT_YEAR = """
WITH RECURSIVE span AS (
    SELECT year, MIN(starts_on) AS first_day, MAX(ends_on) AS last_day FROM period GROUP BY year
),
version AS (
    SELECT s.year, s.last_day, u.unit_code, u.name_vi, u.unit_group, u.unit_type, u.valid_to,
           u.successor_unit_code,
           ROW_NUMBER() OVER (PARTITION BY s.year, u.unit_code ORDER BY u.valid_from DESC) AS version_rank
    FROM span s
    JOIN unit u ON u.valid_from <= s.last_day AND (u.valid_to IS NULL OR u.valid_to >= s.first_day)
),
at_end AS (
    SELECT year, unit_code, name_vi, unit_group, unit_type,
           CASE WHEN valid_to < last_day THEN valid_to END AS ended_on,
           CASE WHEN valid_to < last_day THEN successor_unit_code END AS successor_unit_code
    FROM version
    WHERE version_rank = 1
),
chain (year, unit_code, year_end_unit_code, depth) AS (
    SELECT year, unit_code, unit_code, 0 FROM at_end
    UNION ALL
    SELECT c.year, c.unit_code, CAST(a.successor_unit_code AS VARCHAR(20)), c.depth + 1
    FROM chain c
    JOIN at_end a ON a.year = c.year AND a.unit_code = c.year_end_unit_code
    WHERE a.successor_unit_code IS NOT NULL
      AND a.successor_unit_code IN (SELECT unit_code FROM at_end WHERE year = a.year)
      AND c.depth < 50
),
deepest AS (
    SELECT year, unit_code, year_end_unit_code,
           ROW_NUMBER() OVER (PARTITION BY year, unit_code ORDER BY depth DESC) AS depth_rank
    FROM chain
)
INSERT INTO unit_year (unit_code, year, unit_name, unit_group, unit_type, ended_on, successor_unit_code,
                       year_end_unit_code, is_merged)
SELECT a.unit_code, a.year, a.name_vi, a.unit_group, a.unit_type, a.ended_on, a.successor_unit_code,
       d.year_end_unit_code, (d.year_end_unit_code <> a.unit_code)
FROM at_end a
JOIN deepest d ON d.year = a.year AND d.unit_code = a.unit_code AND d.depth_rank = 1
"""


def sync_rows(
    conn: Connection,
    table: Table,
    rows: Iterable[dict[str, Any]],
    key: tuple[str, ...],
    scope: dict[str, Any] | None = None,
    ignore: tuple[str, ...] = (),
) -> int:
    """Make `table` (within `scope`) hold exactly `rows`; return how many rows changed."""
    where = [table.c[k] == v for k, v in (scope or {}).items()]
    wanted = {tuple(r[k] for k in key): r for r in rows}
    names = list(next(iter(wanted.values())).keys()) if wanted else list(key)
    compared = [c for c in names if c not in ignore]
    # Rows as tuples in the order of `compared`: an unchanged row (the common case, some 60,000
    # units a run) is told by one tuple comparison, not column by column.
    columns = [table.c[c] for c in (*key, *compared)]
    existing = {
        tuple(r[:len(key)]): tuple(r[len(key):])
        for r in conn.execute(select(*columns).where(and_(True, *where)))
    }
    changed = 0
    stale = [k for k in existing if k not in wanted]

    def one_row(k: tuple) -> Any:
        # Within the scope: another programme's row of the same code is not this one.
        return and_(*where, *[table.c[c] == v for c, v in zip(key, k)])

    for k in stale:
        conn.execute(delete(table).where(one_row(k)))
    changed += len(stale)
    new = [r for k, r in wanted.items() if k not in existing]
    if new:
        conn.execute(insert(table), new)
        changed += len(new)
    for k, row in wanted.items():
        old = existing.get(k)
        if old is None:
            continue
        found = tuple(row[c] for c in compared)
        if found == old:
            continue
        if any(_normal(before) != _normal(after) for before, after in zip(old, found)):
            conn.execute(update(table).where(one_row(k)).values(**row))
            changed += 1
    return changed


def _normal(value: Any) -> Any:
    # SQLite hands back naive datetimes for aware ones written.
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def load_reference(
    engine: Engine, programmes: Iterable[Programme], registry: Registry,
    refused: list[tuple[int, str]] | None = None,
) -> int:
    """Load programmes, their periods and the registry in one transaction; return rows changed.

    A programme whose code or year the warehouse already binds to another year or code is not
    loaded: its (year, Vietnamese reason) is appended to `refused`.
    """
    changed = 0
    programmes = list(programmes)
    with engine.begin() as conn:
        programme_changes = 0
        for p in programmes:
            if reason := bound_elsewhere(conn, p):
                if refused is not None:
                    refused.append((p.year, reason))
                continue
            programme_changes += _sync_programme(conn, p)
        changed += programme_changes
        unit_changes = sync_rows(conn, m.Unit.__table__, _unit_rows(registry), ("unit_code", "valid_from"))
        changed += unit_changes
        if unit_changes and (lost := _reports_left_without_unit(conn)):
            # Raised inside the transaction: the registry's rows are rolled back with it.
            raise RegistryError(f"{registry.path}: {lost}" if registry.path else lost)
        if unit_changes or not _lineage_is_complete(conn):
            rebuild_lineage(conn)
        if unit_changes or programme_changes or not _has_unit_years(conn):
            rebuild_unit_year(conn)
        if programme_changes or WIDE_VIEW not in inspect(conn).get_view_names():
            _recreate_wide_view(conn)
        _comment_views(conn)
        if changed:
            analyze(conn, REFERENCE_TABLES)
    return changed


def bound_elsewhere(conn: Connection, p: Programme) -> str | None:
    """Why `p` cannot be loaded when the warehouse holds its code for another year, or its year under
    another code: the year's periods, facts and publications hang on the code first loaded for it,
    so reusing a code would move an earlier year's figures, and renaming one would orphan them."""
    table = m.Programme.__table__
    for code, year in conn.execute(
        select(table.c.programme_code, table.c.year)
        .where(or_(table.c.programme_code == p.code, table.c.year == p.year))
        .order_by(table.c.year)
    ):
        if code == p.code and year != p.year:
            hint = p.code.replace(str(year), str(p.year))
            example = f", ví dụ {hint!r}" if hint != p.code else ""
            return (f"mã chương trình (code) {p.code!r} đã là mã của chương trình năm {year} trong kho dữ liệu; "
                    f"mỗi năm cần một mã riêng{example}")
        if year == p.year and code != p.code:
            return (f"kho dữ liệu đã có chương trình năm {year} với mã {code!r}; số liệu, kỳ báo cáo và "
                    f"báo cáo đã phát hành của năm gắn với mã này nên không đổi được: hãy để lại code = {code!r}")
    return _indicator_with_figures_dropped(conn, p)


def _indicator_with_figures_dropped(conn: Connection, p: Programme) -> str | None:
    """Why `p` cannot replace its loaded version when it leaves out (or renames) an indicator the
    year's reports already hold figures for: they would drop out of every view and report. Asked
    only when the file changed since it was loaded."""
    table = m.Programme.__table__
    loaded = conn.execute(select(table.c.source_sha256).where(table.c.programme_code == p.code)).scalar()
    if loaded is None or loaded == p.source_sha256:
        return None
    indicators = m.Indicator.__table__
    dropped = set(conn.execute(
        select(indicators.c.indicator_code).where(indicators.c.programme_code == p.code)).scalars()
    ) - {i.code for i in p.indicators}
    if not dropped:
        return None
    facts, submissions = m.SubmissionIndicator.__table__, m.Submission.__table__
    held = conn.execute(
        select(facts.c.indicator_code).join(submissions, submissions.c.submission_id == facts.c.submission_id)
        .where(submissions.c.year == p.year, facts.c.indicator_code.in_(sorted(dropped)))
        .order_by(facts.c.indicator_code).limit(1)
    ).scalar()
    if held is None:
        return None
    return (f"chỉ tiêu {held!r} đã có số liệu trong các báo cáo năm {p.year} nên không bỏ hay đổi mã được (số liệu "
            f"đã nộp sẽ mất khỏi mọi bảng tổng hợp và báo cáo); hãy giữ chỉ tiêu với mã {held!r}, chỉ sửa tên "
            "hoặc các trường khác")


def rebuild_lineage(conn: Connection) -> None:
    """Make unit_lineage say what unit says now: every code's latest version and current unit."""
    conn.execute(delete(m.UnitLineage.__table__))
    conn.execute(text(LINEAGE))


def rebuild_unit_year(conn: Connection) -> None:
    """Make unit_year say, for every year with a programme, how each unit stood at the year's end."""
    conn.execute(delete(m.UnitYear.__table__))
    conn.execute(text(UNIT_YEAR))


def _comment_views(conn: Connection) -> None:
    """On PostgreSQL, give each view p135 owns its description as its comment, where it differs (a
    view made again by a migration or a programme load has lost it; an unchanged one is not written,
    so an analyst's login gets past set-up)."""
    if conn.dialect.name != "postgresql":
        return
    found = dict(conn.execute(text(
        "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind = 'v' AND pg_has_role(c.relowner, 'MEMBER')"
    )).all())
    for name, comment in VIEW_DOCS.items():
        if name in found and found[name] != comment:
            quoted = String().literal_processor(dialect=conn.dialect)(comment)
            # A colon before a word would be taken by text() for a bind parameter.
            escaped = re.sub(r":(?=\w)", r"\\:", quoted)
            conn.execute(text(f"COMMENT ON VIEW {name} IS {escaped}"))


# Reports that count (or wait, held) for a unit and quarter whose unit the registry no longer has
# in force on the quarter's last day: the views would silently drop them from every figure.
_UNIT_GONE = """
SELECT s.unit_code, s.year, s.quarter
FROM submission s
JOIN period p ON p.year = s.year AND p.quarter = s.quarter
WHERE s.status IN ('accepted', 'accepted_with_warnings', 'held')
  AND NOT EXISTS (
      SELECT 1 FROM unit u
      WHERE u.unit_code = s.unit_code AND u.valid_from <= p.ends_on
        AND (u.valid_to IS NULL OR u.valid_to >= p.ends_on))
ORDER BY s.unit_code, s.year, s.quarter
"""


def _reports_left_without_unit(conn: Connection) -> str | None:
    """Why the registry just loaded cannot be used, in Vietnamese, when it drops units (or ends them
    before quarters) that have reports counted; None when it keeps every one."""
    rows = conn.execute(text(_UNIT_GONE)).all()
    if not rows:
        return None
    by_unit: dict[str, list[str]] = {}
    for code, year, quarter in rows:
        by_unit.setdefault(code, []).append(Period(year, quarter).label_vi)
    shown = "; ".join(f"{code}: {', '.join(labels)}" for code, labels in list(by_unit.items())[:5])
    more = f" và {len(by_unit) - 5} đơn vị khác" if len(by_unit) > 5 else ""
    return (f"các đơn vị sau đã có báo cáo được chấp nhận (hoặc đang tạm giữ) cho các quý kể ra, nhưng tệp không còn "
            f"ghi đơn vị còn hoạt động vào ngày cuối quý đó: {shown}{more}. Các báo cáo ấy sẽ mất khỏi mọi số liệu. "
            "Hãy giữ các dòng của đơn vị; đơn vị đã hợp nhất hay thôi hoạt động thì ghi ngày kết thúc ở cột valid_to, "
            "sau ngày cuối của quý cuối cùng đơn vị đã báo cáo")


def _has_unit_years(conn: Connection) -> bool:
    """unit_year has rows, or there is nothing to make them from."""
    if conn.execute(select(m.UnitYear.unit_code).limit(1)).first() is not None:
        return True
    return conn.execute(select(m.Period.year).limit(1)).first() is None or \
        conn.execute(select(m.Unit.unit_code).limit(1)).first() is None


def _lineage_is_complete(conn: Connection) -> bool:
    codes = conn.execute(select(func.count(distinct(m.Unit.unit_code)))).scalar_one()
    return codes == conn.execute(select(func.count()).select_from(m.UnitLineage.__table__)).scalar_one()


def _sync_programme(conn: Connection, p: Programme) -> int:
    now = dt.datetime.now(dt.timezone.utc)
    scope = {"programme_code": p.code}
    changed = sync_rows(
        conn,
        m.Programme.__table__,
        [{
            "programme_code": p.code, "year": p.year, "title_vi": p.title_vi,
            "organisation_vi": p.organisation_vi, "template_version": p.template_version,
            "source_sha256": p.source_sha256, "loaded_at": now,
        }],
        ("programme_code",),
        scope,
        ignore=("loaded_at",),
    )
    changed += sync_rows(conn, m.Indicator.__table__, [
        {
            "programme_code": p.code, "indicator_code": i.code, "label_vi": i.label_vi,
            "unit_vi": i.unit_vi, "unit_group": i.group, "aggregation": i.aggregation,
            "weight_indicator_code": i.weight, "has_plan": i.has_plan, "decimals": i.decimals,
            "is_signed": i.signed, "position": i.position,
        }
        for i in p.indicators
    ], ("indicator_code",), scope)
    changed += sync_rows(conn, m.TaskSource.__table__, [
        {"programme_code": p.code, "source_code": c.code, "label_vi": c.label_vi, "position": n}
        for n, c in enumerate(p.task_sources, start=1)
    ], ("source_code",), scope)
    changed += sync_rows(conn, m.TaskStatus.__table__, [
        {
            "programme_code": p.code, "status_code": c.code, "label_vi": c.label_vi,
            "is_completed": c.is_completed, "position": n,
        }
        for n, c in enumerate(p.task_statuses, start=1)
    ], ("status_code",), scope)
    members = m.HeadlineTaskMember.__table__
    dropped = (members.c.programme_code == p.code) & members.c.metric_code.not_in([h.metric_code for h in p.headline])
    # Looked for first: an unchanged programme is loaded without a single write, so a command run
    # on a warehouse it may only read (an analyst's login) gets past set-up.
    if conn.execute(select(members.c.metric_code).where(dropped).limit(1)).first() is not None:
        changed += conn.execute(delete(members).where(dropped)).rowcount
    changed += sync_rows(conn, m.HeadlineMetric.__table__, [
        {
            "programme_code": p.code, "metric_code": h.metric_code, "label_vi": h.label_vi,
            "display_unit_vi": h.display_unit_vi, "display_decimals": h.display_decimals,
            "position": h.position, "is_task_count": h.indicator is None,
            "indicator_code": h.indicator, "plan_metric_code": h.plan_metric,
        }
        for h in p.headline
    ], ("metric_code",), scope)
    changed += sync_rows(conn, members, [
        {"programme_code": p.code, "metric_code": h.metric_code, "source_code": s, "status_code": st}
        for h in p.headline if h.indicator is None
        for s in (h.task_sources or [c.code for c in p.task_sources])
        for st in (h.task_statuses or [c.code for c in p.task_statuses])
    ], ("metric_code", "source_code", "status_code"), scope)
    changed += sync_rows(conn, m.Period.__table__, [
        {
            "year": p.year, "quarter": q, "programme_code": p.code,
            "starts_on": Period(p.year, q).starts_on, "ends_on": Period(p.year, q).ends_on,
            "deadline_on": p.deadlines[q], "deadline_at": deadline_at(p.deadlines[q]),
        }
        for q in (1, 2, 3, 4)
    ], ("year", "quarter"), {"year": p.year})
    return changed


def _unit_rows(registry: Registry) -> list[dict[str, Any]]:
    return [
        {
            "unit_code": v.unit_code, "valid_from": v.valid_from, "valid_to": v.valid_to,
            "name_vi": v.name_vi, "unit_group": v.unit_group, "unit_type": v.unit_type,
            "successor_unit_code": v.successor_code,
        }
        for v in registry.versions
    ]


def _recreate_wide_view(conn: Connection) -> None:
    """v_unit_quarter_indicators: one row per unit and quarter, a column per indicator."""
    codes = conn.execute(
        select(m.Indicator.indicator_code)
        .group_by(m.Indicator.indicator_code)
        .order_by(text("MIN(position)"), m.Indicator.indicator_code)
    ).scalars().all()
    columns = "".join(
        f",\n       MAX(CASE WHEN indicator_code = '{code}' THEN value END) AS {code}"
        for code in codes
    )
    conn.execute(text(f"DROP VIEW IF EXISTS {WIDE_VIEW}"))
    conn.execute(text(
        f"CREATE VIEW {WIDE_VIEW} AS\n"
        "SELECT year, quarter, unit_code, unit_name, unit_group, current_unit_code, submission_id"
        f"{columns}\n"
        "FROM v_unit_quarter_indicator\n"
        "GROUP BY year, quarter, unit_code, unit_name, unit_group, current_unit_code, submission_id"
    ))
