"""What the ops team sees and does: completeness and timeliness, extensions, approval and the
lock it puts on a quarter, reminders, and a draft report while quarters are not approved."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import pytest
from prefect.blocks.abstract import NotificationBlock
from sqlalchemy import text
from typer.testing import CliRunner

from flows.cli import app
from flows.collect import collect_quarter
from flows.remind import remind_missing
from reporting.periods import LOCAL_TZ, Period
from reporting.units import Registry
from tests.workbooks import PROGRAMME, REGISTRY, default_values, save, submission

Q1 = Period(2023, 1)
DEADLINE = PROGRAMME.deadlines[1]


class FileNotification(NotificationBlock):
    """A notification block that appends each message to a file the test reads (no network)."""

    _block_type_name = "p135 test file notification"
    _block_type_slug = "p135-test-file-notification"

    path: str

    async def notify(self, body: str, subject: str | None = None) -> None:
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(f"{subject}\n{body}\n---\n")


@pytest.fixture
def notifications(tmp_path, monkeypatch):
    """A configured notification block ($P135_NOTIFY_BLOCK) and the file it writes to."""
    path = tmp_path / "thong-bao.txt"
    FileNotification(path=str(path)).save("p135-ops", overwrite=True)
    monkeypatch.setenv("P135_NOTIFY_BLOCK", "p135-test-file-notification/p135-ops")
    return path


def _at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=LOCAL_TZ)


def _inbox(warehouse, period: Period = Q1):
    return warehouse.data_dir / "inbox" / period.key


def _cli(*args):
    return CliRunner().invoke(app, [*map(str, args)])


def _rejected_values():
    values = default_values("agencies")
    values["inspections"] = "hai"
    return values


def _quarter_of_five(warehouse):
    """Q1 2023: one on time, one late, one late but extended, one rejected, one corrected late."""
    inbox = _inbox(warehouse)
    save(submission("CQ001", Q1), inbox / "CQ001.xlsx", _at(DEADLINE - dt.timedelta(days=5)))
    save(submission("CQ002", Q1), inbox / "CQ002.xlsx", _at(DEADLINE + dt.timedelta(days=5)))
    save(submission("CQ003", Q1), inbox / "CQ003.xlsx", _at(DEADLINE + dt.timedelta(days=8)))
    save(submission("CQ004", Q1, values=_rejected_values()), inbox / "CQ004.xlsx", _at(DEADLINE - dt.timedelta(days=1)))
    bad_enterprise = default_values("enterprises")
    bad_enterprise["revenue_bn_vnd"] = "nhiều"
    save(submission("DN001", Q1, values=bad_enterprise), inbox / "DN001-sai.xlsx", _at(DEADLINE - dt.timedelta(days=2)))
    save(submission("DN001", Q1), inbox / "DN001-sua.xlsx", _at(DEADLINE + dt.timedelta(days=3)))


def _states(engine, period=Q1) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(text(
            "SELECT unit_code, state FROM v_unit_completeness WHERE year = :y AND quarter = :q"
        ), {"y": period.year, "q": period.quarter}).all())


def test_completeness_counts_each_unit_once_with_rates_by_group(warehouse):
    _quarter_of_five(warehouse)
    result = _cli("extend", "CQ003", "--year", 2023, "--quarter", 1, "--until", "20/04/2023",
                  "--reason", "Đơn vị đổi bí thư chi bộ", "--by", "Trần Văn Gia", "--data-dir", warehouse.data_dir)
    assert result.exit_code == 0, result.output
    assert "đến hết ngày 20/04/2023" in result.output
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    states = _states(warehouse.engine)
    expected_units = {v.unit_code: v.unit_group for v in REGISTRY.in_force_on(Q1.ends_on)}
    assert set(states) == set(expected_units), "expected = units in force on the quarter's last day"
    assert {k: states[k] for k in ("CQ001", "CQ002", "CQ003", "CQ004", "DN001")} == {
        "CQ001": "on_time", "CQ002": "late", "CQ003": "on_time", "CQ004": "rejected", "DN001": "late",
    }
    with warehouse.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT unit_group, expected, received, accepted, on_time, late, missing, rejected, "
            "reporting_rate, on_time_rate FROM v_completeness WHERE year = 2023 AND quarter = 1 ORDER BY unit_group"
        )).all()
        other_quarter = conn.execute(text(
            "SELECT COUNT(*), MIN(reporting_rate), MIN(on_time_rate) FROM v_completeness WHERE year = 2023 AND quarter = 2"
        )).one()
    agencies = sum(1 for g in expected_units.values() if g == "agencies")
    enterprises = len(expected_units) - agencies
    assert [tuple(r[:8]) for r in rows] == [
        ("agencies", agencies, 4, 3, 2, 1, agencies - 4, 1),
        ("enterprises", enterprises, 1, 1, 0, 1, enterprises - 1, 0),
    ]
    assert [float(r[8]) for r in rows] == [round(300 / agencies, 1), round(100 / enterprises, 1)]
    assert [float(r[9]) for r in rows] == [round(200 / agencies, 1), 0.0]
    assert other_quarter == (2, 0, 0), "one row per group even with nothing received; rates never NULL"
    status = _cli("status", "--year", 2023, "--quarter", 1, "--data-dir", warehouse.data_dir)
    assert "Được gia hạn nộp (1): CQ003 đến 20/04/2023." in " ".join(status.output.split()), status.output

    # The clerk of a late unit is told so, as status counts it; a unit within its extension is not.
    feedback = warehouse.data_dir / "feedback" / Q1.key
    late = ("Đơn vị được tính là nộp muộn: báo cáo đầu tiên đạt yêu cầu nhận lúc 09:00 ngày 15/04/2023, "
            "sau hạn nộp 10/04/2023.")
    assert late in _feedback_text(feedback / "CQ002.xlsx")
    assert "nộp muộn" not in _feedback_text(feedback / "CQ003.xlsx")
    (feedback / "CQ002.xlsx").unlink()
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    assert late in _feedback_text(feedback / "CQ002.xlsx"), "the same words when written again"

    with warehouse.engine.connect() as conn:
        on_time = conn.execute(text(
            "SELECT unit_code, CAST(deadline AS VARCHAR(10)), is_on_time, is_extended FROM v_submission_status "
            "WHERE year = 2023 AND quarter = 1 AND unit_code IN ('CQ001', 'CQ002', 'CQ003') ORDER BY unit_code"
        )).all()
    assert [(u, d, bool(t), bool(x)) for u, d, t, x in on_time] == [
        ("CQ001", "2023-04-10", True, False), ("CQ002", "2023-04-10", False, False),
        ("CQ003", "2023-04-20", True, True),
    ], "a file sent within its unit's extension is on time"

    with warehouse.engine.connect() as conn:
        audit = conn.execute(text("SELECT action, unit_code, extended_until, actor, reason FROM period_audit")).all()
    assert [(a, u, str(d)[:10], who, why) for a, u, d, who, why in audit] == [
        ("extend", "CQ003", "2023-04-20", "Trần Văn Gia", "Đơn vị đổi bí thư chi bộ"),
    ]


def test_a_correction_with_an_older_file_time_leaves_a_late_unit_late(warehouse):
    """CQ002 sent its report late; weeks later a correction arrives whose file time is before the
    deadline (a copy kept since, a clock set back). The unit's first passing file is the first to
    arrive, as versions count: it stays late, and the quarter's timeliness stays as it was."""
    inbox = _inbox(warehouse)
    save(submission("CQ002", Q1), inbox / "CQ002.xlsx", _at(DEADLINE + dt.timedelta(days=5)))
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    assert _states(warehouse.engine)["CQ002"] == "late"
    values = default_values("agencies")
    values["inspections"] = values["inspections"] + 1
    save(submission("CQ002", Q1, values=values), inbox / "CQ002-bosung.xlsx", _at(DEADLINE - dt.timedelta(days=5)))

    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    assert _states(warehouse.engine)["CQ002"] == "late"
    with warehouse.engine.connect() as conn:
        first = conn.execute(text(
            "SELECT first_passed_at FROM v_unit_completeness WHERE year = 2023 AND quarter = 1 AND unit_code = 'CQ002'"
        )).scalar_one()
        versions = conn.execute(text(
            "SELECT version, status FROM v_submission_status WHERE year = 2023 AND quarter = 1 AND unit_code = 'CQ002' "
            "ORDER BY version")).all()
    first = first if isinstance(first, dt.datetime) else dt.datetime.fromisoformat(str(first))
    first = first if first.tzinfo else first.replace(tzinfo=dt.timezone.utc)
    assert first == _at(DEADLINE + dt.timedelta(days=5))
    assert [tuple(v) for v in versions] == [(1, "superseded"), (2, "accepted")], "the correction counts"


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_status_lists_missing_and_rejected_units_first_with_rates(warehouse):
    _quarter_of_five(warehouse)
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    result = _cli("status", "--year", 2023, "--quarter", 1, "--data-dir", warehouse.data_dir)

    assert result.exit_code == 0, result.output
    out = result.output
    assert out.index("Chưa nộp (") < out.index("Bị từ chối (1)") < out.index("Nộp muộn (3)") < out.index("Tỷ lệ nộp")
    assert "CQ004 – Chi bộ Sở Kế hoạch và Đầu tư: tệp CQ004.xlsx: Chỉ tiêu!E10" in out
    assert "CQ005 – " in out
    assert "Toàn Khối" in out and "%" in out and "Traceback" not in out


def test_an_approved_quarter_holds_later_files_until_it_is_reopened(warehouse, notifications):
    inbox = _inbox(warehouse)
    save(submission("CQ001", Q1), inbox / "CQ001.xlsx", _at(DEADLINE - dt.timedelta(days=3)))
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    remind_missing(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    assert list((warehouse.data_dir / "reminders").rglob("*.txt")), "letters written before the approval"
    notifications.unlink()  # the reminders' message to the ops team; the run below must page no one
    approved = _cli("approve", "--year", 2023, "--quarter", 1, "--by", "Lê Thị Duyệt", "--data-dir", warehouse.data_dir)
    assert approved.exit_code == 0, approved.output
    # Approved with one unit's report accepted: the person approving is told what the quarter lacks.
    assert "Lưu ý: mới có 1/" in approved.output and "có báo cáo Quý I/2023 được chấp nhận" in approved.output
    again = _cli("approve", "--year", 2023, "--quarter", 1, "--by", "Người khác", "--data-dir", warehouse.data_dir)
    assert again.exit_code == 0, again.output
    assert "đã được phê duyệt trước đó bởi Lê Thị Duyệt" in again.output
    extended = _cli("extend", "CQ002", "--year", 2023, "--quarter", 1, "--until", "30/04/2023", "--reason", "xin sau",
                    "--data-dir", warehouse.data_dir)
    assert extended.exit_code == 1, extended.output
    assert "Quý I/2023 đã được phê duyệt và khóa sổ: gia hạn lúc này sẽ đổi số liệu đã duyệt" in extended.output
    with warehouse.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM period_audit WHERE action = 'extend'")).scalar_one() == 0
    reminded = _cli("remind", "--year", 2023, "--quarter", 1, "--data-dir", warehouse.data_dir)
    assert reminded.exit_code == 0, reminded.output
    assert "Quý I/2023 đã được phê duyệt và khóa sổ nên không viết thư nhắc" in reminded.output
    assert not list((warehouse.data_dir / "reminders").rglob("*.txt")), "no unit is asked for a report it cannot send"
    assert "Đã xóa " in reminded.output and "thư nhắc viết trước khi phê duyệt" in reminded.output
    from prefect.artifacts import Artifact

    card = Artifact.get("remind-2023-q1")
    assert card.description == "Không nhắc nộp Quý I/2023: quý đã phê duyệt và khóa sổ", "not the letters of before"
    assert "đã được phê duyệt và khóa sổ nên không viết thư nhắc" in card.data

    late = save(submission("CQ002", Q1), inbox / "CQ002.xlsx", _at(DEADLINE + dt.timedelta(days=20)))
    held = collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    assert (held["files_new"], held["held"], held["accepted"]) == (1, 1, 0)
    told = Artifact.get("collect-2023-q1-tong-hop").data
    assert told.count("1 tạm giữ") == 1 and "tệp tạm giữ: kỳ đã khóa sổ, chưa đưa vào số liệu" in told, told
    engine = warehouse.engine
    with engine.connect() as conn:
        status = conn.execute(text(
            "SELECT s.status, f.archive_path FROM submission s JOIN received_file f USING (file_sha256) "
            "WHERE s.unit_code = 'CQ002'"
        )).one()
        current = conn.execute(text("SELECT unit_code FROM v_current_submission ORDER BY unit_code")).scalars().all()
        approval = conn.execute(text(
            "SELECT state, approved_by, held_files FROM v_period_approval WHERE year = 2023 AND quarter = 1"
        )).one()
    assert status[0] == "held"
    assert (warehouse.data_dir / status[1]).read_bytes() == late.read_bytes(), "the original is archived"
    assert current == ["CQ001"], "a held file is not loaded"
    assert tuple(approval) == ("approved", "Lê Thị Duyệt", 1)
    assert _states(engine)["CQ002"] == "held"
    feedback = _feedback_text(warehouse.data_dir / "feedback" / Q1.key / "CQ002.xlsx")
    assert "tạm giữ" in feedback and "Lê Thị Duyệt" in feedback and PROGRAMME.contact_vi in feedback
    published = _cli("publish", "--year", 2023, "--data-dir", warehouse.data_dir)
    assert published.exit_code == 0, published.output
    assert ("Lưu ý: tệp đang tạm giữ (gửi đến sau khi kỳ đã phê duyệt) chưa được đưa vào số liệu: Quý I/2023 (1 tệp)."
            in " ".join(published.output.split())), "the year's figures leave out a file someone sent"

    reopened = _cli("reopen", "--year", 2023, "--quarter", 1, "--reason", "Đơn vị CQ002 nộp bổ sung",
                    "--by", "Lê Thị Duyệt", "--data-dir", warehouse.data_dir)
    assert reopened.exit_code == 0, reopened.output
    assert "1 tệp đang tạm giữ" in reopened.output
    # Published between the reopening and the collect: the note says the file comes in at the next
    # collect, not to reopen the quarter already reopened.
    draft = " ".join(_cli("publish", "--year", 2023, "--data-dir", warehouse.data_dir).output.split())
    assert ("Lưu ý: Quý I/2023 đã mở lại nhưng 1 tệp tạm giữ chưa được đưa vào số liệu của bản này: sẽ được đưa vào "
            "ở lần thu nhận tới (p135 collect --year 2023 --quarter 1)") in draft, draft
    assert "hãy mở lại kỳ" not in draft
    loaded = collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    assert (loaded["files_new"], loaded["released"]) == (0, 1)
    assert Artifact.get("collect-2023-q1").description.endswith(
        "không có tệp mới (2 tệp đã nhận); 1 tệp tạm giữ nay được đưa vào số liệu"), "the card says what the run did"
    with engine.connect() as conn:
        current = conn.execute(text("SELECT unit_code FROM v_current_submission ORDER BY unit_code")).scalars().all()
        trail = conn.execute(text("SELECT action, actor, reason FROM period_audit ORDER BY period_audit_id")).all()
        state = conn.execute(text("SELECT state, reopen_reason FROM v_period_approval WHERE year = 2023 AND quarter = 1")).one()
    assert current == ["CQ001", "CQ002"]
    feedback = _feedback_text(warehouse.data_dir / "feedback" / Q1.key / "CQ002.xlsx")
    assert "Chấp nhận" in feedback and "tạm giữ" not in feedback, "the unit is told its file now counts"
    assert [tuple(t) for t in trail] == [
        ("approve", "Lê Thị Duyệt", None), ("reopen", "Lê Thị Duyệt", "Đơn vị CQ002 nộp bổ sung"),
    ]
    assert tuple(state) == ("reopened", "Đơn vị CQ002 nộp bổ sung")
    assert not notifications.exists(), "nothing failed: nobody is paged"


def _feedback_text(path) -> str:
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    return " ".join(str(c) for row in rows for c in row if c)


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_a_rejected_unit_whose_error_names_no_cell_is_listed_beside_one_whose_error_does(warehouse, notifications):
    """An enterprise's clerk filled an agency's template: its indicator rows are missing (the error
    names the sheet, no cell); another clerk typed words for a number. Both are listed."""
    from prefect.artifacts import Artifact

    inbox = _inbox(warehouse)
    save(submission("CQ004", Q1, values=_rejected_values()), inbox / "CQ004.xlsx", _at(DEADLINE - dt.timedelta(days=1)))
    as_agency = Registry(tuple(dataclasses.replace(v, unit_group="agencies") if v.unit_code == "DN002" else v
                               for v in REGISTRY.versions), REGISTRY.source_sha256)
    save(submission("DN002", Q1, registry=as_agency), inbox / "DN002.xlsx", _at(DEADLINE - dt.timedelta(days=1)))

    state = collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir), return_state=True)
    reminded = remind_missing(year=2023, quarter=1, data_dir=str(warehouse.data_dir), return_state=True)

    assert state.is_completed(), state.message
    assert reminded.is_completed(), reminded.message
    summary = Artifact.get("collect-2023-q1-tong-hop").data
    listed = {line.split(" – ")[0].removeprefix("- "): line for line in summary.splitlines()
              if line.startswith(("- CQ004", "- DN002"))}
    assert "CQ004.xlsx: Chỉ tiêu!E10 Ô E10" in listed["CQ004"]
    assert 'DN002.xlsx: Chỉ tiêu Thiếu dòng chỉ tiêu "Tổng doanh thu"' in listed["DN002"]
    letter = (warehouse.data_dir / "reminders" / Q1.key / "DN002.txt").read_text(encoding="utf-8")
    assert 'Thiếu dòng chỉ tiêu "Tổng doanh thu"' in letter and "nan" not in letter
    status = _cli("status", "--year", 2023, "--quarter", 1, "--data-dir", warehouse.data_dir)
    assert status.exit_code == 0, status.output
    assert 'DN002.xlsx: Chỉ tiêu Thiếu dòng chỉ tiêu "Tổng doanh thu"' in status.output


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_a_file_with_a_sheet_renamed_counts_as_its_units_rejected_report_not_as_nobodys(warehouse):
    """The clerk renamed a sheet (the template's workbook structure is not locked): the file is
    refused unread, but its template identity says whose it is. One made by hand stays nobody's."""
    inbox = _inbox(warehouse)
    renamed = submission("CQ005", Q1)
    renamed["Nhiệm vụ trọng tâm"].title = "Nhiem vu"
    save(renamed, inbox / "CQ005.xlsx", _at(DEADLINE - dt.timedelta(days=1)))
    by_hand = submission("CQ006", Q1, without_identity=True)
    by_hand["Nhiệm vụ trọng tâm"].title = "Nhiem vu"
    save(by_hand, inbox / "CQ006.xlsx", _at(DEADLINE - dt.timedelta(days=1)))

    summary = collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    remind_missing(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    assert {f["file"]: (f["unit_code"], f["status"]) for f in summary["files"]} == {
        "CQ005.xlsx": ("CQ005", "rejected"), "CQ006.xlsx": (None, "rejected"),
    }
    states = _states(warehouse.engine)
    assert states["CQ005"] == "rejected" and states["CQ006"] == "missing"
    feedback = warehouse.data_dir / "feedback" / Q1.key
    assert 'Thiếu sheet "Nhiệm vụ trọng tâm"' in _feedback_text(feedback / "CQ005.xlsx")
    letters = warehouse.data_dir / "reminders" / Q1.key
    assert "TỪ CHỐI" in (letters / "CQ005.txt").read_text(encoding="utf-8")
    # Still nobody's, but its clerk is told what came under its code and why it does not count.
    by_hand_letter = (letters / "CQ006.txt").read_text(encoding="utf-8")
    assert "Tình trạng: đã nhận tệp CQ006.xlsx lúc " in by_hand_letter and "nên chưa được tính" in by_hand_letter
    assert 'Thiếu sheet "Nhiệm vụ trọng tâm"' in by_hand_letter
    # p135 check names it the same way before it is sent.
    from tasks.local_check import check_files

    report = check_files([inbox / "CQ005.xlsx", inbox / "CQ006.xlsx"], warehouse.data_dir)
    assert [(v.unit_code, v.status) for v in report.verdicts] == [("CQ005", "rejected"), (None, "rejected")]


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_reminders_tell_each_unit_what_is_missing_and_the_ops_team_once(warehouse, notifications):
    _quarter_of_five(warehouse)
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    result = remind_missing(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    folder = warehouse.data_dir / "reminders" / Q1.key
    letters = {p.stem: p.read_text(encoding="utf-8") for p in folder.iterdir()}
    missing = sorted(set(_states(warehouse.engine)) - {"CQ001", "CQ002", "CQ003", "CQ004", "DN001"})
    assert sorted(letters) == sorted(missing + ["CQ004"])
    assert result["missing"] == missing and result["rejected"] == ["CQ004"] and result["notified"]
    rejected = letters["CQ004"]
    assert "Hạn nộp: 10/04/2023" in rejected and "TỪ CHỐI" in rejected
    assert "Chỉ tiêu!E10" in rejected and "CQ004_2023-Q1.xlsx" in rejected
    assert "chưa nhận được báo cáo" in letters["CQ005"] and "CQ005_2023-Q1.xlsx" in letters["CQ005"]
    assert "đã được cấp" not in letters["CQ005"], "the letter cannot know the template reached the unit"
    assert "Nếu đơn vị chưa nhận được tệp mẫu này hoặc cần hỗ trợ, xin liên hệ" in letters["CQ005"]
    sent = notifications.read_text(encoding="utf-8")
    assert sent.count("---") == 1, "one message for the ops team"
    assert f"{len(missing)} chưa nộp, 1 bị từ chối" in sent and "CQ004 – " in sent


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_a_file_no_unit_could_be_told_for_is_named_to_the_ops_team_and_its_sender(warehouse, notifications):
    """A PDF sent as CQ005's report counts for no unit: status names it beside CQ005, still not
    reported, and CQ005's reminder says what came and why it does not count."""
    inbox = _inbox(warehouse)
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "CQ005_BaoCao_Quy1.xlsx").write_bytes(b"%PDF-1.4 a scan of the report")
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    from openpyxl import load_workbook

    [feedback] = (warehouse.data_dir / "feedback" / Q1.key).glob("khong-ro-don-vi_*.xlsx")
    cells = [c for row in load_workbook(feedback).active.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert any(c.startswith("Báo cáo CHƯA được tiếp nhận: tệp đã gửi không đọc được như một báo cáo theo mẫu")
               for c in cells), "no cell to fix in a PDF: the clerk is told to send the template"
    assert not any("Sửa các lỗi dưới đây ngay trong tệp đã gửi" in c for c in cells)

    status = _cli("status", "--year", 2023, "--quarter", 1, "--data-dir", warehouse.data_dir)
    assert status.exit_code == 0, status.output
    assert "Tệp không xác định được đơn vị (1), không được tính cho đơn vị nào:" in status.output
    assert "CQ005_BaoCao_Quy1.xlsx [tên tệp mang mã CQ005, đơn vị đó đang ở mục Chưa nộp]: Tệp này là một tệp PDF" \
        in " ".join(status.output.split())

    remind_missing(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    letters = warehouse.data_dir / "reminders" / Q1.key
    letter = (letters / "CQ005.txt").read_text(encoding="utf-8")
    assert "Tình trạng: đã nhận tệp CQ005_BaoCao_Quy1.xlsx lúc " in letter and "tệp PDF" in letter
    assert "chưa nhận được báo cáo" not in letter
    assert "chưa nhận được báo cáo" in (letters / "CQ006.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_a_file_read_while_still_being_copied_is_no_longer_listed_once_it_came_whole(warehouse):
    """A collect read CQ005.xlsx half-copied (damaged, no unit); the next read it whole and
    accepted it. Status kept listing the name as a damaged file of no unit."""
    inbox = _inbox(warehouse)
    whole = save(submission("CQ005", Q1), inbox.parent / "CQ005.xlsx").read_bytes()
    (inbox / "CQ005.xlsx").parent.mkdir(parents=True, exist_ok=True)
    (inbox / "CQ005.xlsx").write_bytes(whole[: len(whole) // 2])
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    half = " ".join(_cli("status", "--year", 2023, "--quarter", 1, "--data-dir", warehouse.data_dir).output.split())
    assert "Tệp không xác định được đơn vị (1)" in half and "CQ005.xlsx [tên tệp mang mã CQ005" in half

    (inbox / "CQ005.xlsx").write_bytes(whole)
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    status = _cli("status", "--year", 2023, "--quarter", 1, "--data-dir", warehouse.data_dir)
    assert status.exit_code == 0, status.output
    assert "Tệp không xác định được đơn vị" not in status.output
    assert _states(warehouse.engine)["CQ005"] != "missing"


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_a_file_sent_in_another_units_template_is_named_to_its_sender(warehouse, notifications):
    """CQ005 typed its report into CQ001's template and sent it as CQ005_BaoCao_Quy1.xlsx: refused,
    it counts for neither. Status names it beside CQ005, still not reported, and CQ005's reminder
    says what came and why, instead of "nothing came"."""
    save(submission("CQ001", Q1), _inbox(warehouse) / "CQ005_BaoCao_Quy1.xlsx")
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    assert {_states(warehouse.engine)[c] for c in ("CQ001", "CQ005")} == {"rejected", "missing"}

    status = _cli("status", "--year", 2023, "--quarter", 1, "--data-dir", warehouse.data_dir)
    assert status.exit_code == 0, status.output
    shown = " ".join(status.output.split())
    assert "Tệp mang mã của đơn vị khác với mẫu báo cáo (1), đã bị từ chối" in shown
    assert "CQ005_BaoCao_Quy1.xlsx [mẫu của CQ001; CQ005 đang ở mục Chưa nộp]" in shown

    remind_missing(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    letters = warehouse.data_dir / "reminders" / Q1.key
    letter = (letters / "CQ005.txt").read_text(encoding="utf-8")
    assert "Tình trạng: đã nhận tệp CQ005_BaoCao_Quy1.xlsx lúc " in letter
    assert "tệp là mẫu báo cáo đã cấp cho đơn vị khác nên chưa được tính" in letter
    assert "hãy nhập số liệu vào mẫu đã cấp cho CQ005" in letter
    assert "chưa nhận được báo cáo" not in letter
    # CQ001 may have sent nothing: its letter says what came in its template, not "fix your file".
    owner = (letters / "CQ001.txt").read_text(encoding="utf-8")
    assert "Tình trạng: đã nhận tệp CQ005_BaoCao_Quy1.xlsx lúc " in owner
    assert "theo mẫu báo cáo của đơn vị, nhưng tên tệp mang mã của đơn vị khác nên tệp chưa được tính" in owner
    assert "tệp của đơn vị" not in owner and "sửa ngay trong tệp đã gửi" not in owner
    from openpyxl import load_workbook

    feedback = load_workbook(warehouse.data_dir / "feedback" / Q1.key / "CQ001.xlsx").active
    told = " ".join(str(c) for row in feedback.iter_rows(values_only=True) for c in row if c)
    assert "Không phải sửa số liệu: hãy làm theo hướng dẫn ở dòng lỗi" in told
    # The same content renamed is a file already received, never checked again: the advice that works.
    assert "hãy đổi tên tệp (bỏ mã CQ005), mở tệp và lưu lại rồi gửi lại" in told
    assert "Sửa các lỗi dưới đây ngay trong tệp đã gửi" not in told


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_last_quarters_template_sent_again_is_told_to_use_this_quarters(warehouse, notifications):
    """The file cannot be mended: its feedback and the unit's reminder say to enter the figures in
    this quarter's template, not "fix the errors in the file you sent"."""
    q2 = Period(2023, 2)
    save(submission("CQ003", Q1), _inbox(warehouse, q2) / "CQ003_BaoCao_Quy2.xlsx")
    collect_quarter(year=2023, quarter=2, data_dir=str(warehouse.data_dir))
    assert _states(warehouse.engine, q2)["CQ003"] == "rejected"
    from openpyxl import load_workbook

    feedback = load_workbook(warehouse.data_dir / "feedback" / q2.key / "CQ003.xlsx").active
    told = " ".join(str(c) for row in feedback.iter_rows(values_only=True) for c in row if c)
    assert "tệp là mẫu báo cáo của kỳ khác (hoặc mẫu cũ), không phải mẫu của quý này" in told
    assert "Hãy nhập số liệu vào mẫu báo cáo quý này đã được cấp cho đơn vị rồi gửi lại" in told
    assert "Sửa các lỗi dưới đây ngay trong tệp đã gửi" not in told

    remind_missing(year=2023, quarter=2, data_dir=str(warehouse.data_dir))
    letter = (warehouse.data_dir / "reminders" / q2.key / "CQ003.txt").read_text(encoding="utf-8")
    assert "tệp đã gửi là mẫu của kỳ khác: hãy nhập số liệu vào mẫu dưới đây rồi gửi lại." in letter
    assert "sửa ngay trong tệp đã gửi" not in letter


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_a_failed_run_tells_the_ops_team_through_the_block(warehouse, notifications, monkeypatch, tmp_path):
    monkeypatch.setenv("P135_PROGRAMMES_DIR", str(tmp_path / "no-programmes"))
    (tmp_path / "no-programmes").mkdir()

    state = collect_quarter(year=2024, quarter=1, data_dir=str(warehouse.data_dir), return_state=True)

    assert state.is_failed()
    assert "Không có tệp chương trình báo cáo dùng được cho năm 2024" in state.message
    sent = notifications.read_text(encoding="utf-8")
    assert "không thành công" in sent and "năm 2024" in sent


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_a_run_whose_process_was_killed_tells_the_ops_team(warehouse, notifications):
    """A worker whose flow-run process dies (kill -9, out of memory) marks the run Crashed and runs
    its on_crashed hooks: every scheduled flow tells the ops team, as a failed run does."""
    from prefect.states import Crashed

    from flows.publish import publish_year
    from flows.templates import hand_out_templates
    from tasks.notify import tell_ops_of_crash, tell_ops_of_failure

    for scheduled in (collect_quarter, publish_year, remind_missing, hand_out_templates):
        assert scheduled.on_crashed_hooks == [tell_ops_of_crash], scheduled.name
        assert scheduled.on_failure_hooks == [tell_ops_of_failure], scheduled.name
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        named = client.create_flow_run(flow=collect_quarter, name="Thu nhận Quý I/2023")
    # The worker holds the run as it read it, under Prefect's generated name.
    held_by_worker = named.model_copy(update={"name": "impossible-tanuki"})

    tell_ops_of_crash(collect_quarter, held_by_worker, Crashed(message="Process exited with status code: -9"))

    sent = " ".join(notifications.read_text(encoding="utf-8").split())
    assert "p135: lần chạy Thu nhận Quý I/2023 (collect-quarter) bị dừng đột ngột" in sent
    assert "Không mất tệp nào đã nhận; hãy chạy lại" in sent and "status code: -9" in sent


def test_publish_is_a_draft_naming_the_quarters_not_approved(warehouse):
    from openpyxl import load_workbook
    from prefect.artifacts import Artifact

    _quarter_of_five(warehouse)
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    _cli("approve", "--year", 2023, "--quarter", 1, "--by", "Lê Thị Duyệt", "--data-dir", warehouse.data_dir)

    draft = _cli("publish", "--year", 2023, "--data-dir", warehouse.data_dir)

    assert draft.exit_code == 0, draft.output
    assert "Bản DỰ THẢO: chưa phê duyệt Quý II/2023, Quý III/2023, Quý IV/2023" in draft.output
    # Four of the quarter's units and no other quarter: the report says what its year figures lack.
    lacking = ("Phạm vi số liệu: Quý II/2023, Quý III/2023 và Quý IV/2023 chưa có báo cáo nào được chấp nhận; "
               "Quý I/2023 mới có 4/")
    assert "Lưu ý: " + lacking in " ".join(draft.output.split())
    from docx import Document

    document = Document(str(warehouse.data_dir / "reports" / "bao-cao-ctr135-2023.docx"))
    assert any(p.text.startswith(lacking) for p in document.paragraphs)
    report = warehouse.data_dir / "reports" / "bao-cao-ctr135-2023.xlsx"
    title = load_workbook(report).worksheets[0]["A2"].value
    assert title.startswith("DỰ THẢO – ")
    assert "DỰ THẢO" in Artifact.get("ctr135-2023-headline").description
    for quarter in (2, 3, 4):
        assert _cli("approve", "--year", 2023, "--quarter", quarter, "--by", "Lê Thị Duyệt",
                    "--data-dir", warehouse.data_dir).exit_code == 0

    official = _cli("publish", "--year", 2023, "--data-dir", warehouse.data_dir)

    assert official.exit_code == 0, official.output
    assert "DỰ THẢO" not in official.output
    said = " ".join(official.output.split())
    number = PROGRAMME.publication.document_number
    assert f"Phiên bản 2 (bản chính thức, Báo cáo số {number}), lập ngày" in said and "Phiên bản 1 (dự thảo)" in " ".join(draft.output.split())
    assert ("So với phiên bản 1: các số liệu chính không thay đổi (đã phê duyệt Quý II/2023, Quý III/2023, "
            "Quý IV/2023: đây là bản chính thức).") in said
    issued = Document(str(warehouse.data_dir / "reports" / "bao-cao-ctr135-2023.docx"))
    assert not any("phiên bản 1" in p.text for p in issued.paragraphs), "the Committee's copy carries no draft history"
    assert not load_workbook(report).worksheets[0]["A2"].value.startswith("DỰ THẢO")
    assert "DỰ THẢO" not in Artifact.get("ctr135-2023-headline").description


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
@pytest.mark.parametrize("command", [
    ["status", "--year", "2023", "--quarter", "1"],
    ["approve", "--year", "2023", "--quarter", "1", "--by", "A"],
    ["reopen", "--year", "2023", "--quarter", "1", "--reason", "sửa số liệu"],
    ["extend", "CQ001", "--year", "2023", "--quarter", "1", "--until", "2023-04-30", "--reason", "ốm"],
    ["db", "upgrade"],
], ids=["status", "approve", "reopen", "extend", "db-upgrade"])
def test_commands_that_are_not_flows_run_no_task_or_flow(warehouse, monkeypatch, command):
    """Calling a task or a flow outside a flow starts Prefect's temporary server: these call plain functions."""
    import prefect

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"{self.name} was called: it would start a Prefect server")

    from tasks.prepare import bring_up_to_date
    from warehouse.load import open_collect_run

    bring_up_to_date(warehouse.data_dir)
    open_collect_run(warehouse.engine, year=2023, quarter=1, inbox="inbox", flow_run_id=None)  # approve needs one
    monkeypatch.setattr(prefect.Task, "__call__", refuse)
    monkeypatch.setattr(prefect.Flow, "__call__", refuse)

    result = _cli(*command, "--data-dir", warehouse.data_dir)

    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("args", "message"), [
    (["approve", "--year", "2023", "--quarter", "1"], "tên người phê duyệt"),
    (["approve", "--quarter", "1", "--by", "A"], "hãy cho cả --year và --quarter"),
    (["reopen", "--year", "2023", "--quarter", "1"], "lý do mở lại"),
    (["extend", "CQ001", "--year", "2023", "--quarter", "1", "--until", "2023-04-01", "--reason", "x"], "phải sau hạn nộp 10/04/2023"),
    (["extend", "XX999", "--year", "2023", "--quarter", "1", "--until", "2023-04-30", "--reason", "x"], "không có đơn vị mã XX999"),
    (["extend", "CQ001", "--year", "2023", "--quarter", "1", "--until", "ba mươi", "--reason", "x"], "không đọc được"),
], ids=["approve-without-name", "approve-without-year", "reopen-without-reason", "extend-before-deadline",
        "extend-unknown-unit", "extend-bad-date"])
def test_bad_decisions_are_refused_in_vietnamese(warehouse, args, message):
    result = _cli(*args, "--data-dir", warehouse.data_dir)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_each_rejected_file_is_a_warning_and_each_stage_is_logged_with_counts_and_time(warehouse, caplog):
    inbox = _inbox(warehouse)
    save(submission("CQ001", Q1), inbox / "CQ001.xlsx", _at(DEADLINE))
    save(submission("CQ004", Q1, values=_rejected_values()), inbox / "CQ004.xlsx", _at(DEADLINE))
    caplog.set_level(logging.INFO, logger="prefect.flow_runs")

    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"Rejected CQ004.xlsx from CQ004 (2023-Q1): Chỉ tiêu!E10 {_finding_text(warehouse)}"]
    stages = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("Stages: "))
    for stage in ("archive", "read", "check", "load", "feedback"):
        assert f"{stage} 2 files " in stages


def _finding_text(warehouse) -> str:
    with warehouse.engine.connect() as conn:
        return conn.execute(text("SELECT message_vi FROM validation_finding WHERE cell = 'E10'")).scalar_one()


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_the_cli_shows_a_bar_per_stage_with_counts(warehouse):
    import io

    from rich.console import Console

    from flows.cli import _StageBars, stage_progress
    from tasks.progress import listening

    inbox = _inbox(warehouse)
    for code in ("CQ001", "CQ002", "CQ003"):
        save(submission(code, Q1), inbox / f"{code}.xlsx", _at(DEADLINE))
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=100)

    with stage_progress(terminal) as progress, listening(_StageBars(progress)) as bars:
        collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
        shown = {progress.tasks[i].description: (progress.tasks[i].completed, progress.tasks[i].total)
                 for i in bars.ids.values()}

    assert shown == {label: (3, 3) for label in ("Lưu trữ tệp gốc", "Đọc tệp", "Kiểm tra", "Nạp vào kho", "Viết phản hồi")}
    assert "Lưu trữ tệp gốc" in screen.getvalue()


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_a_notification_block_that_fails_never_fails_the_run(warehouse, monkeypatch):
    monkeypatch.setenv("P135_NOTIFY_BLOCK", "khong-co-loai-nay/khong-co")
    _quarter_of_five(warehouse)
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    state = remind_missing(year=2023, quarter=1, data_dir=str(warehouse.data_dir), return_state=True)

    assert state.is_completed() and state.result()["notified"] is False
    # The run's page says so in Vietnamese too: the artifact the ops team reads in the UI.
    from prefect.artifacts import Artifact

    shown = Artifact.get("remind-2023-q1")
    assert "Không gửi được thông báo qua khối khong-co-loai-nay/khong-co" in shown.data
    assert shown.description.startswith("Chưa gửi được thông báo: nhắc nộp")
    # The command says so in Vietnamese and exits 1: the ops team must not believe it was told.
    told = _cli("remind", "--year", 2023, "--quarter", 1, "--data-dir", warehouse.data_dir)
    assert told.exit_code == 1, told.output
    assert "Lỗi: không gửi được thông báo qua khối khong-co-loai-nay/khong-co" in told.output


@pytest.mark.parametrize(("where", "value", "said"), [
    ("option", "garbage", "Lỗi: --notify='garbage': không phải tên một khối thông báo Prefect"),
    ("environment", "abc", "Lỗi cấu hình: P135_NOTIFY_BLOCK='abc': không phải tên một khối thông báo Prefect"),
], ids=["option", "environment"])
def test_a_notification_block_named_wrongly_is_refused_before_the_run(tmp_path, monkeypatch, where, value, said):
    monkeypatch.delenv("P135_WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("P135_NOTIFY_BLOCK", raising=False)
    args = ["remind", "--year", 2023, "--quarter", 1, "--data-dir", tmp_path / "data"]
    if where == "option":
        args += ["--notify", value]
    else:
        monkeypatch.setenv("P135_NOTIFY_BLOCK", value)

    result = _cli(*args)

    assert result.exit_code == 2, result.output
    assert said in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_the_bars_count_only_new_files_once_the_archive_has_seen_the_inbox(warehouse):
    import io

    from rich.console import Console

    from flows.cli import _StageBars, stage_progress
    from tasks.progress import listening

    inbox = _inbox(warehouse)
    for code in ("CQ001", "CQ002", "CQ003"):
        save(submission(code, Q1), inbox / f"{code}.xlsx", _at(DEADLINE))
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    save(submission("CQ004", Q1), inbox / "CQ004.xlsx", _at(DEADLINE))
    terminal = Console(file=io.StringIO(), force_terminal=True, width=100)

    with stage_progress(terminal) as progress, listening(_StageBars(progress)) as bars:
        collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
        shown = {progress.tasks[i].description: (progress.tasks[i].completed, progress.tasks[i].total)
                 for i in bars.ids.values()}

    assert shown == {"Lưu trữ tệp gốc": (4, 4), **{label: (1, 1) for label in ("Đọc tệp", "Kiểm tra", "Nạp vào kho",
                                                                              "Viết phản hồi")}}


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_a_rejected_correction_is_told_the_accepted_report_still_stands_and_after_approval_whom_to_contact(warehouse):
    inbox = _inbox(warehouse)
    save(submission("CQ001", Q1), inbox / "CQ001.xlsx", _at(DEADLINE - dt.timedelta(days=3)))
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    save(submission("CQ001", Q1, values=_rejected_values()), inbox / "CQ001_sua.xlsx", _at(DEADLINE - dt.timedelta(days=2)))
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    feedback = warehouse.data_dir / "feedback" / Q1.key / "CQ001.xlsx"

    told = _feedback_text(feedback)
    # Collected years after the 2023 deadline: the clerk is not told to beat a deadline long past.
    assert "Từ chối" in told and "gửi lại càng sớm càng tốt (hạn nộp chung của quý, 10/04/2023, đã qua)." in told
    assert "trước hạn nộp" not in told
    assert "Báo cáo đã được chấp nhận trước đó (tệp CQ001.xlsx, nhận lúc " in told
    assert "vẫn là báo cáo hiện hành của đơn vị" in told

    approved = _cli("approve", "--year", 2023, "--quarter", 1, "--by", "Lê Thị Duyệt", "--data-dir", warehouse.data_dir)
    assert approved.exit_code == 0, approved.output
    third = _rejected_values()
    third["inspections"] = "ba"
    save(submission("CQ001", Q1, values=third), inbox / "CQ001_lan3.xlsx", _at(DEADLINE + dt.timedelta(days=20)))
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    closed = _feedback_text(feedback)
    assert "CQ001_lan3.xlsx" in closed
    assert "đã được phê duyệt bởi Lê Thị Duyệt" in closed and PROGRAMME.contact_vi in closed
    assert "càng sớm càng tốt" not in closed and "trước hạn nộp" not in closed, \
        "sending again no longer helps once the quarter is closed"
    assert "(tệp CQ001.xlsx, nhận lúc " in closed
    # The same words when the feedback is written again (lost, then mended by the next run).
    feedback.unlink()
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    assert _feedback_text(feedback) == closed

    # A correction that passes is held; the accepted report still counts, and status shows it waiting.
    values = default_values("agencies")
    values["inspections"] = 3
    save(submission("CQ001", Q1, values=values), inbox / "CQ001_dung.xlsx", _at(DEADLINE + dt.timedelta(days=21)))
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    shown = _cli("status", "--year", 2023, "--quarter", 1, "--data-dir", warehouse.data_dir)
    assert shown.exit_code == 0, shown.output
    assert "Bản sửa đang tạm giữ của đơn vị đã có báo cáo được chấp nhận (1), chờ mở lại kỳ:" in shown.output
    assert "  CQ001: tệp CQ001_dung.xlsx" in shown.output


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_a_broken_registry_fails_the_run_in_one_vietnamese_line(warehouse, monkeypatch, tmp_path):
    """A scheduled run meets the units.csv the ops team saved with semicolons: Failed, saying which line, no RegistryError."""
    from reporting.programme import PROGRAMMES_DIR

    programmes = tmp_path / "programmes"
    programmes.mkdir()
    (programmes / "ctr135-2023.toml").write_bytes((PROGRAMMES_DIR / "ctr135-2023.toml").read_bytes())
    (programmes / "units.csv").write_text(
        (PROGRAMMES_DIR / "units.csv").read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")
    monkeypatch.setenv("P135_PROGRAMMES_DIR", str(programmes))
    _inbox(warehouse).mkdir(parents=True, exist_ok=True)

    for state in (collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir), return_state=True),
                  remind_missing(year=2023, quarter=1, data_dir=str(warehouse.data_dir), return_state=True)):
        assert state.is_failed()
        assert state.message.startswith(f"Tệp danh sách đơn vị không dùng được: {programmes / 'units.csv'}: dòng 1: ")
        assert "RegistryError" not in state.message and "Hãy sửa tệp rồi chạy lại." in state.message
