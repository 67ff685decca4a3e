"""`p135 bench` on a small quarter: its table, the folder it keeps, the identities its files
carry, and a hand-run `p135 collect` on that folder that gives the verdicts it planted."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from flows.cli import app
from reporting import layout as L
from reporting.findings import STATUS_VI
from reporting.identity import SHEET_IDENTITY, VALID, read_identity
from reporting.programme import programme_for_year
from tasks.bench import RENAMED_SUFFIX, expected_statuses, plan_units

UNITS = 30
YEAR, QUARTER = 2023, 1
STAGE_KEYS = ("(archive)", "(guard)", "(read)", "(check)", "(load)", "(feedback)", "(collect)",
              "(re-collect)", "(publish)")
COUNTS = re.compile(r"^(\d{4}-Q\d): (\d+) tệp, (\d+) tệp mới \((\d+) tệp đã nhận\), (\d+) chấp nhận, "
                    r"(\d+) có cảnh báo, (\d+) từ chối$")
FILE_LINE = re.compile(r"^  (BaoCao_\S+\.xlsx) \((\S+)\): (.+?)(?: \(bản hiện hành\))?(?: - .*)?$")


def _bench(keep: Path, *options: str):
    """Run the command in this process (under the tests' Prefect server), leaving the
    environment as it found it."""
    with pytest.MonkeyPatch.context() as mp:
        # Set, then unset, so that each is restored: the command points them at its own quarter.
        for name in ("P135_PROGRAMMES_DIR", "P135_WAREHOUSE_URL", "P135_DATA_DIR",
                     "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"):
            mp.setenv(name, "")
            mp.delenv(name)
        return CliRunner().invoke(app, ["bench", "--units", str(UNITS), "--keep", str(keep), *options])


@pytest.fixture(scope="module")
def benched(tmp_path_factory):
    keep = tmp_path_factory.mktemp("bench") / "kept"
    result = _bench(keep)
    assert result.exit_code == 0, result.output
    return result.output, keep


def test_the_plan_has_realistic_shares_of_defects():
    shares = Counter(u.expected for u in plan_units(1000, _models()))
    assert shares == {"accepted": 930, "accepted_with_warnings": 50, "rejected": 20}
    small = Counter(expected_statuses(UNITS).values())
    assert small["rejected"] >= 1 and small["accepted_with_warnings"] >= 1


def _models():
    from tasks.bench import _bench_programme, _demo_models

    return _demo_models(_bench_programme()[1])


def test_the_table_has_every_stage_memory_and_the_bare_parse(benched):
    output, _ = benched
    for key in STAGE_KEYS:
        assert key in output, f"{key} missing from\n{output}"
    for label in ("Đọc thô (calamine, 2 tiến trình)", "Đầu-cuối / đọc thô", "Cả lượt chạy (wall time)",
                  "Đỉnh RSS cả cây tiến trình", "Đỉnh RSS tiến trình đọc", f"p135 bench: {UNITS} đơn vị", "kho SQLite"):
        assert label in output
    assert re.search(r"Đỉnh RSS cả cây tiến trình .*│ +[1-9][\d.]* MB", output), output
    assert "Traceback" not in output


def test_the_kept_folder_holds_only_the_workbooks_and_the_programme_files(benched):
    _, keep = benched
    inbox = keep / "inbox" / f"{YEAR}-Q{QUARTER}"
    assert sorted(p.name for p in keep.iterdir()) == ["inbox", "programmes"]
    assert [p.name for p in (keep / "inbox").iterdir()] == [inbox.name]
    names = sorted(p.name for p in inbox.iterdir())
    assert len(names) == UNITS and all(n.endswith(".xlsx") and (inbox / n).is_file() for n in names)
    assert sorted(p.name for p in (keep / "programmes").iterdir()) == ["ctr135-2023.toml", "units.csv"]
    assert programme_for_year(YEAR, keep / "programmes") == programme_for_year(YEAR)
    with open(keep / "programmes" / "units.csv", encoding="utf-8") as f:
        codes = [row["unit_code"] for row in csv.DictReader(f)]
    assert sorted(codes) == sorted(re.search(r"_(\w+)\.xlsx$", n).group(1) for n in names)


def test_every_file_carries_the_identity_of_its_unit(benched):
    _, keep = benched
    programme = programme_for_year(YEAR)
    with open(keep / "programmes" / "units.csv", encoding="utf-8") as f:
        names = {row["unit_code"]: row["name_vi"] for row in csv.DictReader(f)}
    digests = set()
    for path in sorted((keep / "inbox" / f"{YEAR}-Q{QUARTER}").iterdir()):
        book = CalamineWorkbook.from_path(str(path))
        state, identity = read_identity(book.get_sheet_by_name(SHEET_IDENTITY).to_python(skip_empty_area=False))
        assert state == VALID, path.name
        code = path.stem.rsplit("_", 1)[1]
        assert (identity.unit_code, identity.year, identity.quarter) == (code, YEAR, QUARTER)
        assert (identity.programme_code, identity.template_version) == (programme.code, programme.template_version)
        assert names[code] in (identity.unit_name, identity.unit_name + RENAMED_SUFFIX)
        info = book.get_sheet_by_name(L.SHEET_INFO).to_python()
        assert [row[1] for row in info[4:6]] == [code, identity.unit_name]
        digests.add(identity.digest)
    assert len(digests) == UNITS


def test_a_hand_run_collect_of_the_kept_quarter_gives_the_planted_verdicts(benched, tmp_path):
    _, keep = benched
    env = {k: v for k, v in os.environ.items() if not k.startswith(("P135_", "PREFECT_API"))}
    env.update(P135_PROGRAMMES_DIR=str(keep / "programmes"), PREFECT_HOME=str(tmp_path / "prefect"),
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180")
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "collect", "--year", str(YEAR), "--quarter", str(QUARTER),
         "--inbox", str(keep / "inbox" / f"{YEAR}-Q{QUARTER}"), "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    expected = expected_statuses(UNITS)
    want = Counter(expected.values())
    counts = COUNTS.match(lines[0])
    assert counts, lines[0]
    assert counts.groups() == (f"{YEAR}-Q{QUARTER}", str(UNITS), str(UNITS), "0", str(want["accepted"]),
                               str(want["accepted_with_warnings"]), str(want["rejected"]))
    verdicts = {m.group(2): m.group(3) for m in map(FILE_LINE.match, lines) if m}
    assert verdicts == {code: STATUS_VI[status] for code, status in expected.items()}


def test_the_bench_runs_on_a_fresh_postgresql_database_and_drops_it(tmp_path):
    from sqlalchemy import create_engine, text

    server = os.environ.get("P135_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("P135_TEST_POSTGRES_URL is not set: PostgreSQL case skipped")
    result = _bench(tmp_path / "kept", "--warehouse", server)
    assert result.exit_code == 0, result.output
    assert "kho PostgreSQL" in result.output and "(publish)" in result.output
    engine = create_engine(server)
    with engine.connect() as conn:
        left = conn.execute(text(f"SELECT datname FROM pg_database WHERE datname LIKE 'p135_bench_{os.getpid()}_%'"))
        assert left.scalars().all() == []
    engine.dispose()


@pytest.mark.parametrize(("options", "message"), [
    (["--keep", "{full}"], "đã có nội dung: --keep cần một thư mục mới hoặc trống"),
    (["--warehouse", "mysql://localhost/p135"], "chỉ hỗ trợ kho SQLite hoặc PostgreSQL"),
    (["--warehouse", "sqlite:///{full}/x.db"], "đã có: hãy chỉ một tệp chưa có"),
    (["--units", "0"], "phải lớn hơn hoặc bằng 1"),
], ids=["keep-not-empty", "other-backend", "sqlite-file-exists", "no-units"])
def test_bad_options_get_one_vietnamese_line_and_exit_2(tmp_path, options, message):
    full = tmp_path / "full"
    full.mkdir()
    (full / "x.db").write_bytes(b"")
    result = CliRunner().invoke(app, ["bench", *(o.replace("{full}", str(full)) for o in options)])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in full.iterdir()) == ["x.db"]


def test_a_broken_programme_of_another_year_does_not_stop_the_bench(tmp_path, monkeypatch):
    from reporting.programme import PROGRAMMES_DIR
    from tasks.bench import _bench_programme

    programmes = tmp_path / "programmes"
    programmes.mkdir()
    shutil.copy(PROGRAMMES_DIR / "ctr135-2023.toml", programmes)
    shutil.copy(PROGRAMMES_DIR / "units.csv", programmes)
    (programmes / "ctr135-2024.toml").write_text('year = 2024\ncode = "CTr135-2024"\n[[indicators]\n', encoding="utf-8")
    monkeypatch.setenv("P135_PROGRAMMES_DIR", str(programmes))

    path, programme = _bench_programme()
    assert (path.name, programme.year) == ("ctr135-2023.toml", 2023)

    (programmes / "units.csv").write_text("unit_code;name_vi\nCQ001;Chi bộ\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["bench", "--units", "5"])
    assert result.exit_code == 2, result.output
    assert "Lỗi cấu hình: tệp danh sách đơn vị không dùng được" in result.output and "Traceback" not in result.output
