"""The `p135` command: hand out templates, collect a quarter, publish a year, run the demo."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
db_app = typer.Typer(no_args_is_help=True, help="Manage the warehouse schema.")
app.add_typer(db_app, name="db")
# Piped output (make, CI logs) would otherwise be cut to 80 columns and wrap every label.
console = Console(width=None if sys.stdout.isatty() else 130)
errors = Console(stderr=True)

DataDir = Annotated[
    Optional[Path],
    typer.Option("--data-dir", envvar="P135_DATA_DIR", help="Data directory (inbox, archive, reports, SQLite warehouse).", show_default="data"),
]
Year = Annotated[Optional[int], typer.Option(help="Reporting year (default: see the command).")]
Quarter = Annotated[Optional[int], typer.Option(min=1, max=4, help="Quarter 1-4 (default: see the command).")]


def _prepare(data_dir: Path | None) -> Path:
    """Make the data directory exist and keep Prefect's state beside it (before Prefect loads)."""
    data = data_dir or Path("data")
    data.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str((data / "prefect").resolve()))
    os.environ["P135_DATA_DIR"] = str(data)
    return data


def _period(year: int | None, quarter: int | None, *, current: bool = False):
    from reporting.periods import current_period, period_just_ended, resolve_period

    try:
        return resolve_period(year, quarter, default=current_period() if current else period_just_ended())
    except ValueError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _programme(year: int):
    from reporting.programme import ProgrammeError, programme_for_year

    try:
        return programme_for_year(year)
    except ProgrammeError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _run(flow_fn, **params):
    """Run a flow; a failed run prints its message and exits 1."""
    state = flow_fn(**params, return_state=True)
    if not state.is_completed():
        from rich.markup import escape

        errors.print(f"[red]{flow_fn.name} did not complete:[/red] {escape(state.message or '')}", soft_wrap=True)
        raise typer.Exit(1)
    return state.result()


def _print_collect(summary: dict, per_file: bool = True) -> None:
    from rich.markup import escape

    from reporting.findings import STATUS_VI

    console.print(
        f"{summary['period']}: {summary['files_seen']} files in the inbox, "
        f"{summary['files_new']} new ({summary['files_known']} already received): "
        f"{summary['accepted']} accepted, {summary['accepted_with_warnings']} accepted with warnings, "
        f"{summary['rejected']} rejected",
        soft_wrap=True,
    )
    for refused in summary.get("refusals", []):
        name = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in refused["name"])
        console.print(f"Từ chối «{escape(name)}»: {escape(refused['reason'])}", soft_wrap=True)
    for f in summary.get("files", []) if per_file else []:
        counts = ", ".join(
            f"{n} {word}" for n, word in ((f["errors"], "lỗi"), (f["warnings"], "cảnh báo")) if n
        )
        current = " (bản hiện hành)" if f["status"] in ("accepted", "accepted_with_warnings") else ""
        console.print(
            f"  {escape(f['file'])} ({escape(f['unit_code'] or 'không rõ đơn vị')}): "
            f"{STATUS_VI.get(f['status'], f['status'])}{current}{' - ' + counts if counts else ''}",
            soft_wrap=True, highlight=False,
        )


def _print_headline(result: dict) -> None:
    from reporting.vn_format import headline_cells

    year = result["year"]
    table = Table(title=f"Kết quả thực hiện Chương trình hành động 135-CTr/TU năm {year}")
    table.add_column("Chỉ tiêu", ratio=1)
    table.add_column(f"Năm {year}", justify="right", no_wrap=True)
    table.add_column("Kế hoạch", justify="right", no_wrap=True)
    table.add_column("% kế hoạch", justify="right", no_wrap=True)
    for row in result["headline"]:
        table.add_row(*headline_cells(row))
    console.print(table)
    _print_publication(result)


def _print_publication(result: dict) -> None:
    """Which version, what changed, and where the files are."""
    for line in result.get("status", []):
        console.print(line, soft_wrap=True)
    if result.get("document"):
        console.print(f"Báo cáo: {result['document']}", soft_wrap=True)
    if result.get("pdf"):
        console.print(f"Bản PDF: {result['pdf']}", soft_wrap=True)
    elif result.get("pdf_note"):
        console.print(f"[yellow]Lưu ý:[/yellow] {result['pdf_note']}", soft_wrap=True)
    if result.get("report"):
        console.print(f"Bảng số liệu: {result['report']}", soft_wrap=True)


@app.command()
def templates(
    year: Year = None,
    quarter: Quarter = None,
    out: Annotated[Optional[Path], typer.Option(help="Output folder; default: <data-dir>/templates/<year>-Q<q>/.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Write one pre-filled template per unit for a quarter (default: the quarter in progress)."""
    data = _prepare(data_dir)
    period = _period(year, quarter, current=True)
    _programme(period.year)
    from flows.templates import hand_out_templates

    paths = _run(hand_out_templates, year=period.year, quarter=period.quarter,
                 out_dir=str(out) if out else None, data_dir=str(data))
    console.print(f"{len(paths)} templates for {period.key} in {Path(paths[0]).parent if paths else out}")


@app.command()
def collect(
    year: Year = None,
    quarter: Quarter = None,
    inbox: Annotated[Optional[Path], typer.Option(help="Inbox folder; default: <data-dir>/inbox/<year>-Q<q>/.")] = None,
    data_dir: DataDir = None,
    lock_wait: Annotated[int, typer.Option(
        "--lock-wait", min=0, metavar="GIÂY",
        help="Số giây tối đa chờ khi một lượt khác đang thu thập cùng quý (0: không chờ).",
    )] = 600,
) -> None:
    """Archive, check and load a quarter's inbox (default: the quarter just ended)."""
    data = _prepare(data_dir)
    period = _period(year, quarter)
    _programme(period.year)
    from flows.collect import collect_quarter

    summary = _run(collect_quarter, year=period.year, quarter=period.quarter,
                   inbox=str(inbox) if inbox else None, data_dir=str(data), lock_wait_seconds=lock_wait)
    _print_collect(summary)


@app.command()
def publish(
    year: Annotated[Optional[int], typer.Option(help="Year; default: that of the quarter just ended.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Publish the year-end report and print its headline table."""
    data = _prepare(data_dir)
    year = year or _period(None, None).year
    if _programme(year).publication is None:
        errors.print(f"[red]Lỗi:[/red] tệp chương trình năm {year} chưa có mục \\[publication] (cơ quan ban hành, số, "
                     "nơi ban hành, người ký, nơi nhận) nên chưa lập được báo cáo.", soft_wrap=True)
        raise typer.Exit(2)
    from flows.publish import publish_year

    result = _run(publish_year, year=year, data_dir=str(data))
    if not result["headline"]:
        errors.print(f"[red]error:[/red] no accepted submissions for {year}; nothing published")
        raise typer.Exit(1)
    _print_headline(result)


@app.command()
def explain(
    metric: Annotated[str, typer.Argument(metavar="METRIC_CODE", help="Mã chỉ tiêu của bảng kết quả chính, ví dụ revenue_bn_vnd.")],
    year: Annotated[Optional[int], typer.Option(help="Năm báo cáo (mặc định: năm của quý vừa kết thúc).")] = None,
    csv_file: Annotated[Optional[Path], typer.Option("--csv", help="Ghi các dòng ra tệp CSV (dấu chấm thập phân, không có dòng tổng).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Truy nguồn một số liệu của bảng kết quả chính: đơn vị, quý, lần nộp, tệp, giá trị và phần đóng góp."""
    from rich.markup import escape
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.engine import make_url

    from reporting.periods import period_just_ended
    from reporting.vn_format import vn_number
    from warehouse.engine import engine_for, warehouse_url
    from warehouse.explain import UnknownMetric, explain as explain_metric

    data = data_dir or Path("data")
    year = year or period_just_ended().year
    url = make_url(warehouse_url(data))
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_file():
        errors.print(f"[red]Lỗi:[/red] chưa có kho dữ liệu tại {escape(url.database)}: hãy chạy p135 collect (hoặc p135 demo) trước.", soft_wrap=True)
        raise typer.Exit(1)
    try:
        found = explain_metric(engine_for(data), year, metric)
    except UnknownMetric as exc:
        if exc.known:
            errors.print(f"[red]Lỗi:[/red] bảng kết quả chính năm {year} không có chỉ tiêu {escape(metric)}. "
                         f"Các mã chỉ tiêu: {', '.join(exc.known)}.", soft_wrap=True)
        else:
            errors.print(f"[red]Lỗi:[/red] kho dữ liệu chưa có chương trình của năm {year}.", soft_wrap=True)
        raise typer.Exit(2) from exc
    except SQLAlchemyError as exc:
        errors.print(f"[red]Lỗi:[/red] không đọc được kho dữ liệu: {escape(str(getattr(exc, 'orig', exc)))}", soft_wrap=True)
        raise typer.Exit(1) from exc

    places = found.value_decimals
    share_places = places + 4 if found.kind == "weighted_mean" else places
    table = Table(title=f"{found.label_vi.lstrip('–- ')} năm {year}: các số liệu cấu thành")
    for name, justify in (("Mã đơn vị", "left"), ("Tên đơn vị", "left"), ("Quý", "right"), ("Lần nộp", "right"),
                          ("Tệp", "left"), ("Giá trị", "right")):
        table.add_column(name, justify=justify, overflow="fold")
    if found.weight_label_vi:
        table.add_column(f"Trọng số ({found.weight_label_vi.lower()})", justify="right")
    table.add_column("Đóng góp", justify="right")
    for r in found.rows:
        cells = [r.unit_code, escape(r.unit_name), str(r.quarter), str(r.version), escape(r.file_name), vn_number(r.value, places)]
        if found.weight_label_vi:
            cells.append(vn_number(r.weight, 0))
        cells.append(vn_number(r.contribution, share_places))
        table.add_row(*cells)
    console.print(table)
    rule = {
        "task_count": "mỗi nhiệm vụ được tính một lần, theo báo cáo gần nhất của đơn vị có nhiệm vụ đó",
        "sum": "cộng giá trị các quý của mọi đơn vị",
        "latest": "lấy quý gần nhất của mỗi đơn vị (các quý trước đóng góp 0)",
        "weighted_mean": "bình quân gia quyền: giá trị × trọng số / tổng trọng số",
    }[found.kind]
    units = len({r.unit_code for r in found.rows})
    console.print(f"Cách tính: {rule}; {len(found.rows)} dòng của {units} đơn vị.", soft_wrap=True)
    view = "không có" if found.view_value is None else f"{vn_number(found.view_value, found.display_decimals)} {found.unit_vi}"
    total = f"Tổng: {vn_number(found.total, max(places, 3) if found.kind != 'task_count' else 0)} {found.unit_vi}"
    if found.matches_view:
        console.print(f"{total}, bằng số liệu của báo cáo (v_year_end_programme135): {view}.", soft_wrap=True)
    else:
        console.print(f"[yellow]{total}, khác số liệu của báo cáo (v_year_end_programme135): {view}.[/yellow]", soft_wrap=True)
    if csv_file is not None:
        import csv

        from warehouse.explain import CSV_COLUMNS

        try:
            with open(csv_file, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(CSV_COLUMNS)
                for r in found.rows:
                    writer.writerow(["" if v is None else _plain(v) for v in r.as_csv()])
        except OSError as exc:
            errors.print(f"[red]Lỗi:[/red] không ghi được tệp {escape(str(csv_file))}: {escape(exc.strerror or str(exc))}", soft_wrap=True)
            raise typer.Exit(1) from exc
        console.print(f"Đã ghi {len(found.rows)} dòng vào {escape(str(csv_file))}.", soft_wrap=True)


def _plain(value: object) -> object:
    """A float with a dot and no binary noise (0.30000000000000004 -> 0.3)."""
    if isinstance(value, float):
        return format(round(value, 10), ".10f").rstrip("0").rstrip(".") if value == value else ""
    return value


@app.command()
def demo(
    year: Annotated[int, typer.Option(help="Demo year (the programme file must exist).")] = 2023,
    data_dir: DataDir = None,
) -> None:
    """Fill the demo bloc's four quarters, collect them and publish the year."""
    data = _prepare(data_dir)
    _programme(year)
    from flows.demo import demo_year

    result = _run(demo_year, year=year, data_dir=str(data))
    for summary in result["collected"]:
        _print_collect(summary, per_file=False)
    _print_headline(result)


@app.command()
def check(
    files: Annotated[list[Path], typer.Argument(help="Workbooks to check (any name or extension).")],
    year: Year = None,
    quarter: Quarter = None,
    data_dir: DataDir = None,
) -> None:
    """Check workbooks before sending them: the same rules and messages, nothing written.

    The period comes from each file unless --year and --quarter are given; earlier quarters are
    read (read-only) from the warehouse when there is one. Exit 0: all accepted (warnings
    allowed); 1: a file is rejected; 2: usage error.
    """
    from rich.markup import escape

    if (year is None) != (quarter is None):
        errors.print("[red]error:[/red] give both --year and --quarter, or neither")
        raise typer.Exit(2)
    missing = [f for f in files if not f.is_file()]
    if missing:
        errors.print(f"[red]error:[/red] not a file: {escape(', '.join(str(f) for f in missing))}")
        raise typer.Exit(2)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    from reporting.findings import ERROR, STATUS_VI
    from tasks.local_check import check_files

    report = check_files(files, data_dir or Path("data"), year, quarter)
    for verdict in report.verdicts:
        where = ", ".join(x for x in (verdict.unit_code, verdict.period.label_vi if verdict.period else None) if x)
        colour = "red" if verdict.status == "rejected" else "yellow" if verdict.findings else "green"
        console.print(f"[bold]{escape(verdict.path.name)}[/bold]{f' ({escape(where)})' if where else ''}: "
                      f"[{colour}]{STATUS_VI[verdict.status]}[/{colour}]", soft_wrap=True)
        for f in verdict.findings:
            place = f"{f.sheet or ''}{'!' + f.cell if f.cell else ''}"
            label = "Lỗi" if f.severity == ERROR else "Cảnh báo"
            console.print(f"  [{label}] {escape(place + ' ' if place else '')}{escape(f.message_vi)} ({f.rule_id})", soft_wrap=True)
    for note in report.notes:
        console.print(f"Lưu ý: {escape(note)}", soft_wrap=True)
    if any(v.status == "rejected" for v in report.verdicts):
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Apply pending migrations to the warehouse ($P135_WAREHOUSE_URL or the SQLite file)."""
    data = _prepare(data_dir)
    from warehouse.engine import engine_for
    from warehouse.migrate import current_revision, upgrade

    engine = engine_for(data)
    upgrade(engine)
    console.print(f"warehouse at revision {current_revision(engine)} ({engine.url.render_as_string(hide_password=True)})")


@db_app.command("grant-analyst")
def db_grant_analyst(
    role: Annotated[str, typer.Argument(help="Login role to create or update, e.g. analyst_hanoi.")],
    data_dir: DataDir = None,
) -> None:
    """Create or update ROLE as a read-only analyst of the PostgreSQL warehouse (password: $P135_ANALYST_PASSWORD)."""
    data = _prepare(data_dir)
    from rich.markup import escape
    from sqlalchemy.exc import SQLAlchemyError

    from warehouse.engine import engine_for
    from warehouse.migrate import upgrade
    from warehouse.roles import LARGE_OBJECT_FUNCTIONS, PASSWORD_ENV, AnalystRoleError, check_grant, grant_analyst

    engine = engine_for(data)
    password = os.environ.get(PASSWORD_ENV)
    try:
        check_grant(engine, role, password)
        upgrade(engine)
        granted = grant_analyst(engine, role, password)
    except AnalystRoleError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from exc
    except SQLAlchemyError as exc:
        reason = escape(str(getattr(exc, "orig", exc)))
        errors.print(f"[red]error:[/red] granting {role} failed: {reason}", soft_wrap=True)
        raise typer.Exit(1) from exc
    where = engine.url.render_as_string(hide_password=True)
    console.print(
        f"{role}: read-only analyst on {where}: member of {granted.group}, which may SELECT every table and view "
        f"in schema public of this warehouse only, including those {engine.url.username or 'this user'} "
        "creates later, and may not INSERT, UPDATE, DELETE, CREATE or create temporary tables; "
        "its transactions are read-only by default",
        soft_wrap=True,
    )
    if not granted.large_objects_refused:
        console.print(
            f"{role} may still create large objects: only a superuser can refuse them, by running in this "
            f"database: REVOKE EXECUTE ON FUNCTION {', '.join(LARGE_OBJECT_FUNCTIONS)} FROM PUBLIC",
            soft_wrap=True,
        )
    if password is None:
        console.print(
            f"no password ({PASSWORD_ENV} is not set): {role} logs in only as pg_hba.conf allows "
            "(peer, trust or cert)",
            soft_wrap=True,
        )
    else:
        console.print(f"password set from {PASSWORD_ENV} (stored as the server's hash)", soft_wrap=True)


if __name__ == "__main__":
    app()
