"""Runs that say what happened: settings checked first, a missing inbox fails, an empty one says
so, every collect leaves its artifacts, and a person reads Vietnamese without Prefect's noise."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.collect import collect_quarter
from reporting.periods import Period
from tests.workbooks import REGISTRY, default_values, save, submission

ROOT = Path(__file__).resolve().parent.parent
P135 = Path(sys.executable).parent / "p135"
Q2 = Period(2023, 2)


def _cli(*args):
    return CliRunner().invoke(app, [*map(str, args)])


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_a_missing_inbox_fails_the_run_naming_the_folder(warehouse, tmp_path):
    nowhere = tmp_path / "khong-co"

    state = collect_quarter(year=2023, quarter=2, inbox=str(nowhere), data_dir=str(warehouse.data_dir), return_state=True)
    result = _cli("collect", "--year", 2023, "--quarter", 2, "--inbox", nowhere, "--data-dir", warehouse.data_dir)

    assert state.is_failed()
    assert f"Không có thư mục nhận báo cáo {nowhere}" in state.message
    assert result.exit_code == 1, result.output
    assert str(nowhere) in result.output and "Traceback" not in result.output
    a_file = tmp_path / "hop-thu.xlsx"
    a_file.write_bytes(b"PK")
    state = collect_quarter(year=2023, quarter=2, inbox=str(a_file), data_dir=str(warehouse.data_dir), return_state=True)
    assert state.is_failed() and f"{a_file} là một tệp, không phải thư mục nhận báo cáo" in state.message


BAD_PARAMETERS = {
    "batch_size-0": ({"batch_size": 0}, "tham số batch_size=0: phải là một số nguyên dương."),
    "read_workers-negative": ({"read_workers": -1}, "tham số read_workers=-1: phải là một số nguyên dương."),
    "parallel_batches-0": ({"parallel_batches": 0}, "tham số parallel_batches=0: phải là một số nguyên dương."),
    "lock_wait_seconds-negative": ({"lock_wait_seconds": -5},
                                   "tham số lock_wait_seconds=-5: phải là một số nguyên từ 0 trở lên."),
    "task_runner-unknown": ({"task_runner": "foo"}, "tham số task_runner='foo': p135 không biết cách chạy này"),
}


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
@pytest.mark.parametrize("case", list(BAD_PARAMETERS), ids=list(BAD_PARAMETERS))
def test_a_deployment_runs_parameter_out_of_range_fails_the_run_naming_it(warehouse, case):
    """A custom run's parameters reach the flow unchecked by any command: batch_size=0 used to
    complete as if nothing were wrong."""
    (warehouse.data_dir / "inbox" / Q2.key).mkdir(parents=True)
    parameters, said = BAD_PARAMETERS[case]
    state = collect_quarter(year=2023, quarter=2, data_dir=str(warehouse.data_dir), return_state=True, **parameters)
    assert state.is_failed()
    assert state.message.startswith("Lỗi cấu hình: ") and said in state.message, state.message


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_publish_and_remind_refuse_a_parameter_they_cannot_use_in_one_line(warehouse):
    """A negative approval timeout failed the paused run with Python's English ValueError and its
    traceback; a notify_block that names no block completed, the message unsent."""
    from flows.publish import publish_year
    from flows.remind import remind_missing

    state = publish_year(year=2023, data_dir=str(warehouse.data_dir), approval_timeout_seconds=-1, return_state=True)
    assert state.is_failed()
    assert state.message == "Lỗi cấu hình: tham số approval_timeout_seconds=-1: phải là một số nguyên từ 0 trở lên."
    state = remind_missing(year=2023, quarter=2, data_dir=str(warehouse.data_dir), notify_block="foo", return_state=True)
    assert state.is_failed()
    assert state.message.startswith("Lỗi cấu hình: tham số notify_block='foo': không phải tên một khối thông báo Prefect")


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_an_empty_inbox_completes_says_nothing_is_new_and_leaves_its_artifacts(warehouse, caplog):
    import logging

    from prefect.artifacts import Artifact

    (warehouse.data_dir / "inbox" / Q2.key).mkdir(parents=True)
    caplog.set_level(logging.INFO, logger="prefect.flow_runs")

    result = _cli("collect", "--year", 2023, "--quarter", 2, "--data-dir", warehouse.data_dir)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "2023-Q2: 0 tệp, 0 tệp mới (0 tệp đã nhận), 0 chấp nhận, 0 có cảnh báo, 0 từ chối"
    assert "Không có tệp mới." in lines
    table = Artifact.get("collect-2023-q2")
    summary = Artifact.get("collect-2023-q2-tong-hop")
    assert table.type == "table" and "không có tệp mới" in table.description
    assert summary.description == table.description
    assert "Không có tệp mới" in summary.data and "Tình hình nộp báo cáo Quý II/2023" in summary.data
    assert "| Khối cơ quan |" in summary.data and "| Toàn Khối |" in summary.data
    logged = [r.getMessage() for r in caplog.records]
    assert "Collected 2023-Q2: 0 files, 0 new, 0 accepted, 0 with warnings, 0 rejected, 0 held, 0 refused unread" in logged
    assert any(m.startswith("No new files in ") for m in logged)


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_collect_prints_the_contract_line_first_then_the_rejected_units_and_their_feedback(warehouse):
    from prefect.artifacts import Artifact

    inbox = warehouse.data_dir / "inbox" / Q2.key
    for code in ("CQ001", "CQ002", "CQ003"):
        save(submission(code, Q2), inbox / f"{code}.xlsx")
    collect_quarter(year=2023, quarter=2, data_dir=str(warehouse.data_dir))
    values = default_values("agencies")
    values["inspections"] = "hai"
    save(submission("CQ004", Q2, values=values), inbox / "CQ004.xlsx")

    result = _cli("collect", "--year", 2023, "--quarter", 2, "--data-dir", warehouse.data_dir)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "2023-Q2: 4 tệp, 1 tệp mới (3 tệp đã nhận), 0 chấp nhận, 0 có cảnh báo, 1 từ chối"
    assert "Đơn vị bị từ chối (1): CQ004" in lines
    assert any(line.startswith("  CQ004 – CQ004.xlsx: Chỉ tiêu!E10") for line in lines)
    assert f"Phản hồi cho từng đơn vị: {warehouse.data_dir / 'feedback' / Q2.key}/" in lines
    expected = sum(1 for _ in REGISTRY.in_force_on(Q2.ends_on))
    standing = (f"Cả Quý II/2023: 3 đơn vị có báo cáo được chấp nhận, 1 bị từ chối, {expected - 4} chưa nộp "
                "(chi tiết: p135 status --year 2023 --quarter 2).")
    assert standing in " ".join(result.output.split()), "after every run, where the whole quarter stands"
    card = Artifact.get("collect-2023-q2").description
    assert card.startswith("2023-Q2: 1 từ chối, 0 cảnh báo, 0 chấp nhận; 1/4 tệp mới")
    assert len(card) <= 80, "the counts show whole on the artifact card"

    # Run again with nothing new (as after a run that was stopped): the quarter's standing is said.
    # The rejected file renamed by its clerk and sent again is the same content: said, not checked.
    (inbox / "CQ004.xlsx").rename(inbox / "CQ004_da_sua.xlsx")
    (inbox / "CQ001.xlsx").rename(inbox / "CQ001_ban_sao.xlsx")  # accepted already: nothing to say
    again = _cli("collect", "--year", 2023, "--quarter", 2, "--data-dir", warehouse.data_dir)
    assert again.exit_code == 0, again.output
    said = " ".join(again.output.split())
    assert ("1 tệp trùng nội dung với tệp đã nhận trước đó nhưng mang tên khác, không kiểm tra lại (muốn gửi lại "
            "thì mở tệp, lưu lại rồi gửi): CQ004_da_sua.xlsx: trùng với CQ004.xlsx (CQ004: Từ chối)") in said, said
    assert "CQ001_ban_sao" not in said
    assert standing in " ".join(again.output.split())


# --- Settings checked before any flow starts ----------------------------------------------------

@pytest.mark.parametrize(("url", "cause"), [
    ("postgresql+psycopg://postgres@127.0.0.1:1/p135", "không nhận kết nối"),
    ("postgresql+psycopg://postgres@khong-co-may-nay.invalid/p135", "không tìm thấy máy chủ"),
    ("day-khong-phai-dia-chi", "không phải là địa chỉ kết nối hợp lệ"),
    ("postgresql+khongcodriver://postgres@127.0.0.1/p135", "không có trình điều khiển"),
    ("mysql://root@127.0.0.1/p135", "chỉ dùng SQLite hoặc PostgreSQL"),
    ("", "để trống"),
], ids=["wrong-port", "unknown-host", "garbage", "unknown-driver", "other-backend", "empty"])
def test_a_wrong_warehouse_url_is_one_line_exit_2_within_seconds(tmp_path, monkeypatch, url, cause):
    monkeypatch.setenv("P135_WAREHOUSE_URL", url)
    started = time.monotonic()
    result = _cli("collect", "--year", 2023, "--quarter", 2, "--data-dir", tmp_path / "data")
    took = time.monotonic() - started

    assert result.exit_code == 2, result.output
    assert result.output.startswith("Lỗi cấu hình: P135_WAREHOUSE_URL") and cause in result.output
    assert len(result.output.strip().splitlines()) <= 2 and "Traceback" not in result.output
    assert took < 30, f"took {took:.0f} s"  # a bound on hanging, not a benchmark: it answers in about a second


def test_a_missing_database_on_a_live_server_is_named(tmp_path, monkeypatch):
    server = os.environ.get("P135_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("P135_TEST_POSTGRES_URL is not set: PostgreSQL cases skipped")
    from sqlalchemy.engine import make_url

    monkeypatch.setenv("P135_WAREHOUSE_URL", make_url(server).set(database="p135_khong_co").render_as_string(hide_password=False))
    result = _cli("status", "--year", 2023, "--quarter", 1, "--data-dir", tmp_path / "data")
    assert result.exit_code == 2, result.output
    assert "cơ sở dữ liệu 'p135_khong_co' không tồn tại" in result.output


def _mount_tmpfs(where: Path, *options: str) -> None:
    where.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(("size=256k", *options)), "tmpfs", str(where)],
                          capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.decode().strip()}")


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KB file system (mounting needs root; otherwise the case skips and says so)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small file system needs root")
    where = tmp_path / "o-dia-nho"
    _mount_tmpfs(where)
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_read_only_data_directory_is_named_before_prefect_starts(small_disk, monkeypatch):
    monkeypatch.delenv("P135_WAREHOUSE_URL", raising=False)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)

    result = _cli("collect", "--year", 2023, "--quarter", 2, "--data-dir", small_disk / "data")

    assert result.exit_code == 2, result.output
    assert result.output.startswith("Lỗi cấu hình: --data-dir") and "không ghi được" in result.output
    assert "Traceback" not in result.output and "Timed out" not in result.output


def test_a_full_data_directory_is_named_before_prefect_starts(small_disk, monkeypatch):
    monkeypatch.delenv("P135_WAREHOUSE_URL", raising=False)
    filler = os.open(small_disk / "day.bin", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(filler, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(filler)

    result = _cli("collect", "--year", 2023, "--quarter", 2, "--data-dir", small_disk)

    assert result.exit_code == 2, result.output
    assert "Lỗi cấu hình: --data-dir" in result.output and ("đầy" in result.output)
    assert "Traceback" not in result.output


# --- What a person sees in a terminal -----------------------------------------------------------

def _clean_env(tmp_path: Path) -> dict[str, str]:
    """A user's environment: no test harness server, a brand-new Prefect home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "P135_", "DO_NOT_TRACK"))}
    env["HOME"] = str(tmp_path / "home")
    return env


def _in_terminal(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 300) -> tuple[int, str]:
    """Run a command with a pseudo-terminal as its stdin, stdout and stderr, as a person would."""
    import pty

    primary, secondary = pty.openpty()
    process = subprocess.Popen(args, stdin=secondary, stdout=secondary, stderr=secondary, env=env, cwd=cwd,
                               start_new_session=True)
    os.close(secondary)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                data = os.read(primary, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        code = process.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 9)
        os.close(primary)
    shown = b"".join(chunks).decode("utf-8", "replace")
    return code, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", shown)


def test_a_person_sees_vietnamese_and_no_prefect_noise(tmp_path):
    """A collect pointed at a missing folder, in a terminal with a brand-new Prefect home."""
    env = _clean_env(tmp_path)
    code, shown = _in_terminal(
        [str(P135), "collect", "--year", "2023", "--quarter", "2", "--inbox", str(tmp_path / "khong-co"),
         "--data-dir", str(tmp_path / "data")], env, ROOT,
    )

    assert code == 1, shown
    assert "Lỗi: Không có thư mục nhận báo cáo" in shown and "khong-co" in shown
    for noise in ("Traceback", "See https://", "INFO", "anonymous usage", "telemetry", "Failed to create the Prefect home"):
        assert noise not in shown, f"{noise!r} in:\n{shown}"


def test_a_rejected_file_is_told_in_vietnamese_not_in_the_engineers_log_line(tmp_path):
    """The run logs a WARNING per rejected file for engineers; the terminal shows the Vietnamese list."""
    data = tmp_path / "data"
    inbox = data / "inbox" / "2023-Q1"
    inbox.mkdir(parents=True)
    save(submission("CQ003", Period(2023, 1), values={**default_values("agencies"), "inspections": "ba"}),
         inbox / "CQ003.xlsx")
    done = subprocess.run([str(P135), "collect", "--year", "2023", "--quarter", "1", "--data-dir", str(data)],
                          env=_clean_env(tmp_path), cwd=ROOT, capture_output=True, text=True, timeout=600)

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("2023-Q1: 1 tệp, 1 tệp mới (0 tệp đã nhận), 0 chấp nhận, 0 có cảnh báo, 1 từ chối")
    assert "Đơn vị bị từ chối (1): CQ003" in done.stdout
    assert "Rejected" not in done.stdout + done.stderr


def test_check_of_one_file_starts_no_prefect_server(tmp_path):
    good = save(submission("CQ003", Period(2023, 1)), tmp_path / "bao-cao.xlsx")
    env = _clean_env(tmp_path)
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")

    done = subprocess.run([str(P135), "check", str(good), "--data-dir", str(tmp_path / "data")],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("bao-cao.xlsx (CQ003, Quý I/2023): Chấp nhận")
    assert not (tmp_path / "prefect-home" / "prefect.db").exists(), "a temporary Prefect server was started"
    assert done.stderr == ""


def test_help_and_usage_errors_are_vietnamese():
    top = _cli("--help")
    assert top.exit_code == 0
    assert "Cách dùng: " in top.output and "Lệnh" in top.output and "Hiện hướng dẫn này rồi thoát." in top.output
    for english in ("Usage:", "Show this message", "Commands", "Options"):
        assert english not in top.output
    for command in ("collect", "status", "approve", "reopen", "extend", "remind", "check"):
        shown = _cli(command, "--help")
        assert shown.exit_code == 0 and "Tùy chọn" in shown.output and "Usage" not in shown.output
    wrong = _cli("collect", "--khong-co")
    assert wrong.exit_code == 2 and "Không có tùy chọn --khong-co." in wrong.output and "Lỗi" in wrong.output
    missing = _cli("check")
    assert missing.exit_code == 2 and "Thiếu tham số" in missing.output
    extra = _cli("approve", "--year", "2023", "--quarter", "1", "--by", "x", "thua")
    assert extra.exit_code == 2 and "Thừa tham số: thua." in extra.output and "unexpected" not in extra.output
    valued = _cli("status", "--help=1")
    assert valued.exit_code == 2 and "Tùy chọn --help không nhận giá trị." in valued.output
    not_a_file = _cli("check", "khong-co.xlsx")
    assert not_a_file.exit_code == 2 and "không phải là tệp hoặc không tồn tại: khong-co.xlsx" in not_a_file.output


def test_the_counts_line_adds_held_files_only_when_there_are_some():
    """Scripts read the first line: unchanged when nothing is held; a held file is not left out of it."""
    from tasks.artifacts import counts_line

    base = {"period": "2023-Q1", "files_seen": 14, "files_new": 1, "files_known": 13, "accepted": 0,
            "accepted_with_warnings": 0, "rejected": 0, "held": 0}
    assert counts_line(base) == "2023-Q1: 14 tệp, 1 tệp mới (13 tệp đã nhận), 0 chấp nhận, 0 có cảnh báo, 0 từ chối"
    assert counts_line({**base, "held": 1}) == (
        "2023-Q1: 14 tệp, 1 tệp mới (13 tệp đã nhận), 0 chấp nhận, 0 có cảnh báo, 0 từ chối, 1 tạm giữ")


@pytest.mark.parametrize(("flow_name", "variable", "value", "cause"), [
    ("collect", "P135_WAREHOUSE_URL", "sqlite-ish://garbage", "không phải là địa chỉ kết nối hợp lệ"),
    ("collect", "P135_WAREHOUSE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/p135", "không nhận kết nối"),
    ("collect", "P135_NOTIFY_BLOCK", "khong-hop-le", "không phải tên một khối thông báo Prefect"),
    ("publish", "P135_WAREHOUSE_URL", "sqlite-ish://garbage", "không phải là địa chỉ kết nối hợp lệ"),
    ("remind", "P135_WAREHOUSE_URL", "sqlite-ish://garbage", "không phải là địa chỉ kết nối hợp lệ"),
    ("templates", "P135_NOTIFY_BLOCK", "khong-hop-le", "không phải tên một khối thông báo Prefect"),
], ids=["collect-url", "collect-no-server", "collect-notify-block", "publish-url", "remind-url", "templates-notify-block"])
def test_a_deployment_run_with_a_wrong_setting_fails_in_one_vietnamese_line(tmp_path, monkeypatch, flow_name, variable,
                                                                          value, cause):
    """A deployment's run passes no command-line check: the flow makes the same one, so the ops
    team reads the setting's name in Vietnamese, not "ArgumentError" and a traceback."""
    from flows.publish import publish_year
    from flows.remind import remind_missing
    from flows.templates import hand_out_templates

    flows = {"collect": collect_quarter, "publish": publish_year, "remind": remind_missing, "templates": hand_out_templates}
    monkeypatch.setenv(variable, value)
    state = flows[flow_name](year=2023, quarter=1, data_dir=str(tmp_path / "data"), return_state=True) \
        if flow_name != "publish" else publish_year(year=2023, data_dir=str(tmp_path / "data"), return_state=True)

    assert state.is_failed()
    assert state.message.startswith(f"Lỗi cấu hình: {variable}") and cause in state.message, state.message
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        name = client.read_flow_run(state.state_details.flow_run_id).name
    # What the ops team reads in the list of runs, instead of a random "giga-sturgeon".
    assert name == {"collect": "Thu nhận Quý I/2023", "publish": "Công bố năm 2023", "remind": "Nhắc nộp Quý I/2023",
                    "templates": "Phát mẫu Quý I/2023"}[flow_name]


@pytest.mark.parametrize(("flow_name", "params", "said"), [
    ("collect", {"year": 2023, "quarter": 7}, "Tham số không hợp lệ: quý 7 không có; quý là 1, 2, 3 hoặc 4."),
    ("collect", {"year": 2023}, "Tham số không hợp lệ: có năm (2023) nhưng không có quý."),
    ("remind", {"year": 2023, "quarter": 0}, "Tham số không hợp lệ: quý 0 không có"),
    ("templates", {"year": 2023, "quarter": 5}, "Tham số không hợp lệ: quý 5 không có"),
    ("templates", {"year": 1800, "quarter": 1}, "Tham số không hợp lệ: năm 1800 nằm ngoài khoảng p135 nhận"),
    ("templates", {"year": 2031, "quarter": 1}, "Không có tệp chương trình báo cáo dùng được cho năm 2031"),
    ("publish", {"year": 2031}, "Không có tệp chương trình báo cáo dùng được cho năm 2031"),
], ids=["quarter-7", "year-without-quarter", "remind-quarter-0", "templates-quarter-5", "templates-year-1800",
        "templates-no-programme", "publish-no-programme"])
def test_a_deployment_run_with_wrong_parameters_fails_in_one_vietnamese_line(tmp_path, flow_name, params, said):
    """What an operator types into a deployment run's parameters: refused on the run's page in
    Vietnamese, not "ValueError: quarter must be 1 to 4" with two tracebacks in its log."""
    from flows.publish import publish_year
    from flows.remind import remind_missing
    from flows.templates import hand_out_templates

    flows = {"collect": collect_quarter, "publish": publish_year, "remind": remind_missing, "templates": hand_out_templates}
    state = flows[flow_name](**params, data_dir=str(tmp_path / "data"), return_state=True)

    assert state.is_failed() and said in state.message, state.message
