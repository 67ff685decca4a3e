"""The collect flow on real files and a real warehouse (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select, text

from flows.collect import collect_quarter
from reporting.periods import LOCAL_TZ, Period
from tests.workbooks import default_values, save, submission
from warehouse import models as m

Q1 = Period(2023, 1)
TASK = ("NV01", "Học tập nghị quyết", "unit", "completed", dt.date(2023, 2, 1))


def _fingerprint(path):
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime


def snapshot(engine, skip=("collect_run",), like: dict | None = None) -> dict[str, list]:
    """Every row of every table as the database has it, in a stable order; with `like`, only the
    tables and columns of that earlier snapshot."""
    from sqlalchemy import MetaData, Table, inspect

    out = {}
    with engine.connect() as conn:
        for name in sorted(inspect(conn).get_table_names()):
            if name in skip or name == "alembic_version" or (like is not None and name not in like):
                continue
            table = Table(name, MetaData(), autoload_with=conn)
            columns = [c for c in table.columns if like is None or c.name in like[name][0]]
            rows = conn.execute(select(*columns).order_by(*table.primary_key.columns)).all()
            out[name] = ([c.name for c in columns], [tuple(r) for r in rows])
    return out


def _inbox(warehouse):
    inbox = warehouse.data_dir / "inbox" / Q1.key
    arrived = dt.datetime(2023, 4, 5, 9, 30, tzinfo=LOCAL_TZ)
    save(submission("CQ003", Q1, tasks=[TASK]), inbox / "CQ003.xlsx", arrived)
    save(submission("DN001", Q1, tasks=[TASK]), inbox / "DN001.xlsx", arrived + dt.timedelta(days=7))
    bad = default_values("agencies")
    bad["inspections"] = "hai"
    save(submission("CQ004", Q1, values=bad), inbox / "CQ004.xlsx", arrived)
    (inbox / "ghi-chu.txt").write_text("Kính gửi Đảng ủy Khối", encoding="utf-8")
    return inbox


def test_collect_archives_every_file_and_loads_what_passes(warehouse):
    inbox = _inbox(warehouse)
    before = {p.name: _fingerprint(p) for p in inbox.iterdir()}

    summary = collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    files = summary.pop("files")
    counts = ("period", "files_seen", "files_new", "files_known", "accepted", "accepted_with_warnings", "rejected",
              "held", "refused", "refusals")
    assert {k: summary[k] for k in counts} == {
        "period": "2023-Q1", "files_seen": 4, "files_new": 4, "files_known": 0,
        "accepted": 2, "accepted_with_warnings": 0, "rejected": 2, "held": 0, "refused": 0, "refusals": [],
    }
    assert [(f["file"], f["unit_code"], f["status"], f["errors"]) for f in files] == [
        ("CQ003.xlsx", "CQ003", "accepted", 0), ("CQ004.xlsx", "CQ004", "rejected", 2),
        ("DN001.xlsx", "DN001", "accepted", 0), ("ghi-chu.txt", None, "rejected", 1),
    ]
    assert [(r["unit_code"], r["file"]) for r in summary["rejected_files"]] == [("CQ004", "CQ004.xlsx"), (None, "ghi-chu.txt")]
    assert {p.name: _fingerprint(p) for p in inbox.iterdir()} == before, "inbox files must not change"
    with warehouse.engine.connect() as conn:
        rf = m.ReceivedFile.__table__
        files = conn.execute(select(rf.c.file_sha256, rf.c.original_name, rf.c.archive_path, rf.c.received_at)).all()
        status = dict(conn.execute(text(
            "SELECT f.original_name, s.status FROM submission s JOIN received_file f USING (file_sha256)"
        )).all())
        findings = conn.execute(text(
            "SELECT f.original_name, v.rule_id, v.sheet, v.cell, v.value FROM validation_finding v "
            "JOIN submission s USING (submission_id) JOIN received_file f USING (file_sha256)"
        )).all()
        facts = conn.execute(text("SELECT COUNT(DISTINCT submission_id) FROM submission_indicator")).scalar_one()
    assert len(files) == 4
    for sha, name, archive_path, received_at in files:
        archived = warehouse.data_dir / archive_path
        assert hashlib.sha256(archived.read_bytes()).hexdigest() == sha == before[name][0]
        received_at = received_at if received_at.tzinfo else received_at.replace(tzinfo=dt.timezone.utc)
        assert abs(received_at.timestamp() - before[name][1]) < 1
    assert status == {"CQ003.xlsx": "accepted", "DN001.xlsx": "accepted", "CQ004.xlsx": "rejected", "ghi-chu.txt": "rejected"}
    assert ("CQ004.xlsx", "indicator.value_not_number", "Chỉ tiêu", "E10", "hai") in findings
    assert ("ghi-chu.txt", "file.not_a_workbook", None, None, None) in findings
    assert facts == 2


def test_the_same_files_collected_twice_change_nothing_but_the_run_log(warehouse):
    _inbox(warehouse)
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    before = snapshot(warehouse.engine)

    summary = collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    assert summary["files_known"] == 4 and summary["files_new"] == 0
    assert snapshot(warehouse.engine) == before
    with warehouse.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM collect_run")).scalar_one() == 2


def test_a_corrected_file_supersedes_the_earlier_version(warehouse):
    inbox = warehouse.data_dir / "inbox" / Q1.key
    first = dt.datetime(2023, 4, 3, 8, 0, tzinfo=LOCAL_TZ)
    save(submission("CQ003", Q1, values=default_values("agencies", 1)), inbox / "CQ003.xlsx", first)
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    save(submission("CQ003", Q1, values=default_values("agencies", 7)), inbox / "CQ003-sua.xlsx", first + dt.timedelta(days=2))
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    with warehouse.engine.connect() as conn:
        versions = conn.execute(text(
            "SELECT submission_id, status, supersedes_submission_id FROM submission ORDER BY received_at"
        )).all()
        current = conn.execute(text(
            "SELECT value FROM v_unit_quarter_indicator WHERE unit_code = 'CQ003' AND indicator_code = 'inspections'"
        )).scalars().all()
        status = conn.execute(text(
            "SELECT version, is_latest, status FROM v_submission_status ORDER BY version"
        )).all()
    (old_id, old_status, _), (new_id, new_status, supersedes) = versions
    assert (old_status, new_status, supersedes) == ("superseded", "accepted", old_id)
    assert current == [7.0]
    assert [(v, bool(latest), s) for v, latest, s in status] == [(1, False, "superseded"), (2, True, "accepted")]


def test_each_unit_gets_feedback_naming_its_cells(warehouse):
    from python_calamine import CalamineWorkbook

    from tasks.feedback import HEADER_ROW, SHEET

    _inbox(warehouse)
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    out = warehouse.data_dir / "feedback" / "2023-Q1"
    names = sorted(p.name for p in out.iterdir())
    assert names[:3] == ["CQ003.xlsx", "CQ004.xlsx", "DN001.xlsx"]
    assert len(names) == 4 and names[3].startswith("khong-ro-don-vi_")
    rows = CalamineWorkbook.from_path(str(out / "CQ004.xlsx")).get_sheet_by_name(SHEET).to_python(skip_empty_area=False)
    assert rows[7][2] == "Từ chối"
    finding = rows[HEADER_ROW]
    assert finding[1:6] == ["indicator.value_not_number", "Lỗi", "Chỉ tiêu", "E10", "hai"]
    assert "E10" in finding[6] and "không phải là số" in finding[6]
    good = CalamineWorkbook.from_path(str(out / "CQ003.xlsx")).get_sheet_by_name(SHEET).to_python(skip_empty_area=False)
    assert good[7][2] == "Chấp nhận"


@pytest.mark.parametrize("codes_per_query", [1, 5000], ids=["one-unit-a-query", "whole-batch-a-query"])
def test_a_unit_that_sent_two_files_in_one_batch_gets_feedback_on_the_later(warehouse, monkeypatch, codes_per_query):
    from python_calamine import CalamineWorkbook

    from tasks import feedback
    from tasks.feedback import SHEET

    monkeypatch.setattr(feedback, "CODES_PER_QUERY", codes_per_query)
    inbox = _inbox(warehouse)
    later = dt.datetime(2023, 4, 9, 9, 30, tzinfo=LOCAL_TZ)
    save(submission("CQ003", Q1, values=default_values("agencies", 7), tasks=[TASK]), inbox / "CQ003-sua.xlsx", later)
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    out = warehouse.data_dir / "feedback" / "2023-Q1"
    assert sorted(p.name for p in out.iterdir())[:3] == ["CQ003.xlsx", "CQ004.xlsx", "DN001.xlsx"]
    rows = CalamineWorkbook.from_path(str(out / "CQ003.xlsx")).get_sheet_by_name(SHEET).to_python(skip_empty_area=False)
    assert any("CQ003-sua.xlsx" in str(cell) for row in rows for cell in row)


def test_feedback_never_turns_a_value_into_a_formula(tmp_path):
    from openpyxl import load_workbook

    from reporting.findings import Finding
    from tasks.feedback import HEADER_ROW, SHEET, feedback_job
    from tasks.feedback_writer import write_workbook
    from tests.workbooks import PROGRAMME
    from warehouse.load import Arrival

    arrival = Arrival("ab" * 32, "=HYPERLINK(\"x\").xlsx", 10, "archive/ab", dt.datetime(2023, 4, 1, tzinfo=dt.timezone.utc))
    findings = [
        Finding("s", "indicator.value_not_number", "error", "Chỉ tiêu", "E5", "=1+2\x07", "Ô E5 ..."),
        Finding("s", "indicator.value_not_number", "error", "Chỉ tiêu", "E6", "#N/A", "Ô E6 ..."),
    ]
    path = tmp_path / "f.xlsx"
    write_workbook(feedback_job(path, PROGRAMME, Q1, "CQ003", arrival, "rejected", findings), path)
    ws = load_workbook(path)[SHEET]
    values = [ws.cell(row=HEADER_ROW + n, column=6) for n in (1, 2)]
    assert [c.value for c in values] == ["=1+2", "#N/A"]
    assert [c.data_type for c in values] == ["s", "s"]
    assert ws["C5"].data_type == "s"


def test_carried_over_text_comes_back_as_text(tmp_path):
    from openpyxl import load_workbook

    from reporting import layout as L
    from tasks.templates import CarriedTask, CarryOver, build_template
    from tests.workbooks import PROGRAMME, REGISTRY

    carry = CarryOver(tasks=(CarriedTask("=1+1", "=HYPERLINK(\"http://x\",\"bấm\")", "unit", "in_progress"),))
    build_template(PROGRAMME, REGISTRY.version_on("CQ003", Q1.ends_on), Period(2023, 2), carry).save(tmp_path / "t.xlsx")
    ws = load_workbook(tmp_path / "t.xlsx")[L.SHEET_TASKS]
    assert (ws["B5"].data_type, ws["C5"].data_type) == ("s", "s")
    assert ws["C5"].value.startswith("=HYPERLINK")


def test_the_ops_team_sees_each_verdict_in_an_artifact(warehouse):
    from prefect.artifacts import Artifact

    _inbox(warehouse)
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    artifact = Artifact.get("collect-2023-q1")
    assert artifact is not None and artifact.type == "table"
    assert artifact.description.startswith("2023-Q1: 2 từ chối, 0 cảnh báo, 2 chấp nhận")
    rows = artifact.data if isinstance(artifact.data, list) else __import__("json").loads(artifact.data)
    rejected = [r for r in rows if r["Kết quả"] == "Từ chối"]
    assert {r["Tệp"] for r in rejected} == {"CQ004.xlsx", "ghi-chu.txt"}
    assert any("E10" in r["Lỗi hoặc cảnh báo đầu tiên"] for r in rejected)
    summary = Artifact.get("collect-2023-q1-tong-hop")
    assert summary.type == "markdown"
    assert "indicator.value_not_number" in summary.data


@pytest.mark.parametrize(("copy", "batch_size"), [
    ("CQ003-ban-sao.xlsx", 1), ("zz-CQ003-ban-sao.xlsx", 1), ("zz-CQ003-ban-sao.xlsx", 1000),
], ids=["copy-in-the-batch-before", "copy-after-the-original-is-loaded", "copy-in-the-same-batch"])
def test_a_content_sent_twice_is_received_once_wherever_the_copy_lies_in_the_inbox(warehouse, copy, batch_size):
    import os

    inbox = _inbox(warehouse)
    (inbox / copy).write_bytes((inbox / "CQ003.xlsx").read_bytes())
    original = (inbox / "CQ003.xlsx").stat()
    os.utime(inbox / copy, ns=(original.st_atime_ns, original.st_mtime_ns))

    summary = collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir), batch_size=batch_size)

    assert (summary["files_seen"], summary["files_new"], summary["files_known"]) == (5, 4, 1)
    # Of two identical files that arrived at once, the first listed is the one received.
    received = min(copy, "CQ003.xlsx")
    assert sorted(f["file"] for f in summary["files"]) == sorted([received, "CQ004.xlsx", "DN001.xlsx", "ghi-chu.txt"])
    # The copy is named, in whichever batch it came: not only counted as "1 tệp đã nhận".
    [named] = summary["renamed_known"]
    assert (named["name"], named["earlier_name"]) == (max(copy, "CQ003.xlsx"), received)
    # So is it in the run's table and summary, which the ops team reads in the Prefect UI.
    from prefect.artifacts import Artifact

    table = Artifact.get("collect-2023-q1")
    rows = table.data if isinstance(table.data, list) else __import__("json").loads(table.data)
    assert {"Tệp": max(copy, "CQ003.xlsx"), "Kết quả": "Trùng tệp đã nhận, tên khác"}.items() <= \
        next(r for r in rows if r["Tệp"] == max(copy, "CQ003.xlsx")).items()
    assert f"`{max(copy, 'CQ003.xlsx')}`: trùng với {received}" in Artifact.get("collect-2023-q1-tong-hop").data
    with warehouse.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM received_file")).scalar_one() == 4


def test_reading_starts_once_the_first_batch_is_archived_not_the_whole_inbox(warehouse):
    from flows.collect import _arrive_in_batches, _Intake
    from tasks.intake import discover_workbooks
    from tasks.progress import COLLECT_STAGES, StageClock
    from warehouse.migrate import upgrade

    upgrade(warehouse.engine)
    inbox = _inbox(warehouse)
    files, _ = discover_workbooks.fn(inbox)
    intake = _Intake()
    data = warehouse.data_dir

    def archived() -> int:
        return sum(1 for p in (data / "archive").rglob("*") if p.is_file())

    batches = _arrive_in_batches(inbox, files, data, 2, StageClock(tuple(COLLECT_STAGES)), intake, Q1)
    first = next(batches)

    assert [a.original_name for a in first] == ["CQ003.xlsx", "CQ004.xlsx"]
    assert archived() == 2, "the files of later batches wait in the inbox until their batch is asked for"
    rest = list(batches)
    assert [[a.original_name for a in batch] for batch in rest] == [["DN001.xlsx", "ghi-chu.txt"]]
    assert archived() == 4 and len(intake.new) == 4 and not intake.known and not intake.refused


def test_a_quarter_collected_again_is_archived_in_parts_that_grow_while_nothing_is_new(warehouse, monkeypatch):
    import flows.collect as collect
    from tasks.intake import discover_workbooks
    from tasks.progress import COLLECT_STAGES, StageClock

    inbox = _inbox(warehouse)
    for n in range(5, 9):
        save(submission(f"CQ00{n}", Q1, tasks=[TASK]), inbox / f"CQ00{n}.xlsx")
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    parts = []
    archive = collect.archive_originals

    def counted(inbox, chunk, *args):
        parts.append(len(chunk.unwrap()))
        return archive(inbox, chunk, *args)

    monkeypatch.setattr(collect, "archive_originals", counted)
    files, _ = discover_workbooks.fn(inbox)
    intake = collect._Intake()
    clock = StageClock(tuple(COLLECT_STAGES))

    batches = list(collect._arrive_in_batches(inbox, files, warehouse.data_dir, 1, clock, intake, Q1))

    assert batches == [] and len(intake.known) == len(files) == 8
    assert parts == [1, 2, 4, 1], "each part that held nothing new is followed by one twice as large"


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_a_rejected_file_is_explained_by_its_error_not_by_a_warning_found_before_it(warehouse):
    inbox = warehouse.data_dir / "inbox" / Q1.key
    values = default_values("enterprises")
    values["avg_income_m_vnd"] = 95  # out of the usual band: a warning, found by an earlier suite
    save(submission("DN001", Q1, values=values, tasks=[TASK[:3] + (None, None)]), inbox / "DN001.xlsx")

    summary = collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    [rejected] = summary["rejected_files"]
    assert rejected["finding"].startswith("Nhiệm vụ trọng tâm!E5 "), rejected["finding"]

    from tasks.local_check import check_files

    [verdict] = check_files([inbox / "DN001.xlsx"], warehouse.data_dir).verdicts
    assert [f.severity for f in verdict.findings] == ["error", "warning"]


def test_an_empty_file_is_never_taken_for_another_units_earlier_file(warehouse):
    q1_inbox = warehouse.data_dir / "inbox" / Q1.key
    q1_inbox.mkdir(parents=True)
    (q1_inbox / "CQ039_BaoCao.xlsx").write_bytes(b"")
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    q2 = Period(2023, 2)
    q2_inbox = warehouse.data_dir / "inbox" / q2.key
    q2_inbox.mkdir(parents=True)
    (q2_inbox / "CQ032_BaoCao.xlsx").write_bytes(b"")

    [refusal] = collect_quarter(year=2023, quarter=2, data_dir=str(warehouse.data_dir))["refusals"]

    assert refusal["reason"].startswith("Tệp rỗng (0 byte)"), refusal
    assert "CQ039" not in refusal["reason"]


def test_last_quarters_file_sent_again_for_this_quarter_is_refused_saying_which_quarter_it_counted_for(warehouse):
    q1_inbox = warehouse.data_dir / "inbox" / Q1.key
    sent = save(submission("CQ003", Q1, tasks=[TASK]), q1_inbox / "CQ003.xlsx")
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    q2 = Period(2023, 2)
    q2_inbox = warehouse.data_dir / "inbox" / q2.key
    q2_inbox.mkdir(parents=True)
    (q2_inbox / "BaoCao_CQ003_quy2.xlsx").write_bytes(sent.read_bytes())

    summary = collect_quarter(year=2023, quarter=2, data_dir=str(warehouse.data_dir))
    again = collect_quarter(year=2023, quarter=2, data_dir=str(warehouse.data_dir))

    for run in (summary, again):
        assert (run["files_new"], run["files_known"], run["refused"]) == (0, 0, 1)
        [refusal] = run["refusals"]
        assert refusal["name"] == "BaoCao_CQ003_quy2.xlsx"
        assert refusal["reason"].startswith(
            "Tệp này trùng nội dung với tệp CQ003.xlsx của đơn vị CQ003 đã nhận cho Quý I/2023 (lúc "), refusal
        assert "không được tính cho Quý II/2023" in refusal["reason"]
        # Accepted for Q1, it is Q1's report: no "if this really is Q2's report, save it again".
        assert refusal["reason"].endswith("Tệp là báo cáo Quý I/2023 đã được chấp nhận, không dùng được cho Quý "
                                          "II/2023: hãy điền mẫu báo cáo Quý II/2023 đã được cấp rồi gửi."), refusal
    with warehouse.engine.connect() as conn:
        periods = conn.execute(text("SELECT year, quarter FROM submission WHERE unit_code = 'CQ003'")).all()
    assert [tuple(p) for p in periods] == [(2023, 1)], "the Q1 report still counts for Q1 alone"
    # The unit sent something: status names it beside the unit, and its reminder says what became of it.
    from typer.testing import CliRunner

    from flows.cli import app
    from flows.remind import remind_missing

    status = CliRunner().invoke(app, ["status", "--year", "2023", "--quarter", "2",
                                      "--data-dir", str(warehouse.data_dir)])
    shown = " ".join(status.output.split())
    assert "Mục trong hộp thư bị từ chối, không thu nhận (1):" in shown, status.output
    assert ("BaoCao_CQ003_quy2.xlsx [tên tệp mang mã CQ003, đơn vị đó đang ở mục Chưa nộp]: "
            "Tệp này trùng nội dung với tệp CQ003.xlsx") in shown
    remind_missing(year=2023, quarter=2, data_dir=str(warehouse.data_dir))
    letter = (warehouse.data_dir / "reminders" / q2.key / "CQ003.txt").read_text(encoding="utf-8")
    assert "Tình trạng: đã nhận tệp BaoCao_CQ003_quy2.xlsx lúc " in letter
    assert "nhưng tệp bị từ chối ngay khi nhận, không được đọc nên chưa được tính: Tệp này trùng nội dung" in letter
    assert "chưa nhận được báo cáo" not in letter
    # The same file again in its own quarter's inbox is simply already received.
    assert collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))["files_known"] == 1


def test_a_report_in_its_own_quarters_inbox_and_in_another_is_left_to_its_own_quarter(warehouse):
    """A Q1 report dropped into Q2's inbox as well as Q1's is refused by Q2 without being recorded
    as Q2's file, so the Q1 collect (before, after or at the same time) takes it in as Q1's; one
    found in Q2's inbox alone (a clerk reusing an old template) is rejected there with feedback."""
    q2 = Period(2023, 2)
    q1_inbox, q2_inbox = (warehouse.data_dir / "inbox" / p.key for p in (Q1, q2))
    misplaced = save(submission("CQ003", Q1, tasks=[TASK]), q2_inbox / "BaoCao_CQ003_quy1.xlsx")
    q1_inbox.mkdir(parents=True, exist_ok=True)
    (q1_inbox / "CQ003.xlsx").write_bytes(misplaced.read_bytes())
    save(submission("CQ004", Q1, tasks=[TASK]), q2_inbox / "CQ004_mau_cu.xlsx")

    in_q2 = collect_quarter(year=2023, quarter=2, data_dir=str(warehouse.data_dir))
    in_q1 = collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    assert (in_q2["files_new"], in_q2["rejected"], in_q2["refused"]) == (1, 1, 1)
    [refusal] = in_q2["refusals"]
    assert refusal["name"] == "BaoCao_CQ003_quy1.xlsx"
    assert refusal["reason"].startswith(
        "Tệp này là báo cáo Quý I/2023 của đơn vị CQ003 (theo mẫu đã cấp), không phải báo cáo Quý II/2023; "
        "thư mục nhận báo cáo Quý I/2023 (inbox/2023-Q1) cũng có tệp này"), refusal
    assert (in_q1["files_new"], in_q1["accepted"], in_q1["refused"]) == (1, 1, 0)
    with warehouse.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT unit_code, year, quarter, status FROM submission ORDER BY unit_code")).all()
    assert [tuple(r) for r in rows] == [("CQ003", 2023, 1, "accepted"), ("CQ004", 2023, 2, "rejected")]
    assert (warehouse.data_dir / "feedback" / q2.key / "CQ004.xlsx").exists(), "the clerk is told which template"


def test_a_file_named_for_another_unit_is_refused_and_leaves_that_units_figures(warehouse):
    inbox = warehouse.data_dir / "inbox" / Q1.key
    save(submission("CQ001", Q1, tasks=[TASK]), inbox / "BaoCao_CQ001.xlsx")
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    save(submission("CQ001", Q1, tasks=[TASK], values={**default_values("agencies"), "party_members_end": 99}),
         inbox / "CQ047_BaoCao_Quy1.xlsx")

    summary = collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    assert (summary["accepted"], summary["accepted_with_warnings"], summary["rejected"]) == (0, 0, 1)
    with warehouse.engine.connect() as conn:
        found = conn.execute(text(
            "SELECT s.unit_code, f.rule_id FROM validation_finding f JOIN submission s USING (submission_id)")).all()
        members = conn.execute(text(
            "SELECT value FROM v_unit_quarter_indicator WHERE unit_code = 'CQ001' AND indicator_code = 'party_members_end'"
        )).scalar_one()
    assert [tuple(r) for r in found] == [("CQ001", "identity.file_name_other_unit")]
    assert members != 99, "CQ047's figures never replace CQ001's"


def test_a_copy_saved_again_after_the_deadline_leaves_the_report_on_time(warehouse):
    """The office saves a unit's file on 8 April and, when the clerk asks "did you get it?" after
    the deadline, the same file again as "... (1).xlsx", a name listed first: the report arrived
    on 8 April, on time, and the copy is told as the same content."""
    inbox = warehouse.data_dir / "inbox" / Q1.key
    first = inbox / "BaoCao_CQ001_Quy1.xlsx"
    save(submission("CQ001", Q1), first, dt.datetime(2023, 4, 8, 9, tzinfo=LOCAL_TZ))
    again = inbox / "BaoCao_CQ001_Quy1 (1).xlsx"
    again.write_bytes(first.read_bytes())
    later = dt.datetime(2023, 4, 20, 9, tzinfo=LOCAL_TZ).timestamp()
    import os

    os.utime(again, (later, later))
    assert sorted(p.name for p in inbox.iterdir())[0] == again.name

    summary = collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    assert (summary["files_seen"], summary["files_new"]) == (2, 1)
    with warehouse.engine.connect() as conn:
        name, received, on_time = conn.execute(text(
            "SELECT f.original_name, s.received_at, s.is_on_time FROM v_submission_status s "
            "JOIN received_file f ON f.file_sha256 = s.file_sha256 WHERE s.unit_code = 'CQ001'")).one()
    assert name == first.name and bool(on_time)
    assert str(received).startswith("2023-04-08 02:00:00")
