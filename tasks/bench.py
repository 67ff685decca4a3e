"""`p135 bench`: a synthetic quarter of N units, written fast, and what collecting it costs.

The workbooks are real templates (tasks.templates) filled as a clerk would (tasks.demo_data),
with valid template identities. openpyxl builds one workbook per model (a demo unit, or a demo
unit with a planted defect); every unit's file is then that model's zip with only the parts that
name the unit rewritten (its code and name wherever the sheets show them, the identity sheet and
its digest, the document title): the text around the names is compressed once per model, the
unchanged parts too. A unit code and name are fixed-width, so the identity's locked-cells text
keeps its length and its split into cells.

The command (flows/cli.py) runs the real collect and publish flows; this module writes the
quarter, times the bare parse, samples memory and draws the table.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import math
import os
import random
import shutil
import struct
import threading
import time
import unicodedata
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator
from xml.sax.saxutils import escape

from reporting import layout as L
from reporting.identity import FIELDS, FORMAT, SHEET_IDENTITY, read_identity
from reporting.periods import Period
from reporting.programme import Programme, programme_for_year, programmes_dir
from reporting.units import REGISTRY_FILE_NAME, UnitVersion

BENCH_YEAR = 2023
BENCH_QUARTER = 1
SEED = 135
REJECTED_SHARE = 0.02
WARNING_SHARE = 0.05
CODE_PREFIX = "DV"
CODE_DIGITS = 6
MAX_UNITS = 10**CODE_DIGITS - 1
# Units numbered from 1: the models are built for number 0, which no unit has.
MODEL_NUMBER = 0
# Defect models are built on a few demo units each, not on every one: each costs an openpyxl save.
MODELS_PER_DEFECT = 4
NAME_PREFIX = {"chi_bo_co_so": "Chi bộ cơ sở số", "dang_bo_co_so": "Đảng bộ cơ sở số"}
RENAMED_SUFFIX = " (đổi tên)"
REGISTRY_FIELDS = ("unit_code", "name_vi", "unit_group", "unit_type", "valid_from", "valid_to", "successor_code")
VALID_FROM = "2020-01-01"
# Fixed member times: the same N gives the same bytes.
ZIP_DATE = ((2023 - 1980) << 9) | (4 << 5) | 5
ZIP_TIME = 8 << 11

ACCEPTED = "accepted"
WARNED = "accepted_with_warnings"
REJECTED = "rejected"

# Planted defects, as tests/test_quality_gate.py plants them: (status, unit group or None for any).
DEFECTS = {
    "value-negative": (REJECTED, None),
    "value-text": (REJECTED, None),
    "income-out-of-band": (WARNED, "enterprises"),
    "budget-above-revenue": (WARNED, "enterprises"),
    "unit-renamed-since-handout": (WARNED, None),
}
# Defects planted in the registry, not in the workbook.
REGISTRY_DEFECTS = {"unit-renamed-since-handout"}


def unit_code(number: int) -> str:
    return f"{CODE_PREFIX}{number:0{CODE_DIGITS}d}"


def unit_name(number: int, unit_type: str) -> str:
    return f"{NAME_PREFIX[unit_type]} {number:0{CODE_DIGITS}d}"


@dataclass(frozen=True)
class PlannedUnit:
    """One synthetic unit: its number, the demo unit it copies, and the defect planted, if any."""

    number: int
    model: int
    defect: str | None
    expected: str

    @property
    def code(self) -> str:
        return unit_code(self.number)


def plan_units(n: int, models: list) -> list[PlannedUnit]:
    """Which demo unit each of the N units copies and which units carry a defect (seeded)."""
    if not 1 <= n <= MAX_UNITS:
        raise ValueError(f"units must be between 1 and {MAX_UNITS}")
    rejected = max(1, round(n * REJECTED_SHARE)) if n >= 10 else 0
    warned = max(1, round(n * WARNING_SHARE)) if n >= 10 else 0
    rng = random.Random(SEED)
    chosen = rng.sample(range(n), rejected + warned)
    by_status = {REJECTED: [d for d, (s, _) in DEFECTS.items() if s == REJECTED],
                 WARNED: [d for d, (s, _) in DEFECTS.items() if s == WARNED]}
    defect_of: dict[int, str] = {}
    for k, index in enumerate(chosen[:rejected]):
        defect_of[index] = by_status[REJECTED][k % len(by_status[REJECTED])]
    for k, index in enumerate(chosen[rejected:]):
        defect_of[index] = by_status[WARNED][k % len(by_status[WARNED])]
    groups: dict[str | None, list[int]] = {None: list(range(len(models)))}
    for i, m in enumerate(models):
        groups.setdefault(m.unit.unit_group, []).append(i)
    planned, seen = [], {d: 0 for d in DEFECTS}
    for index in range(n):
        defect = defect_of.get(index)
        if defect is None or defect in REGISTRY_DEFECTS:
            model = index % len(models)
        else:
            candidates = groups[DEFECTS[defect][1]]
            model = candidates[seen[defect] % min(MODELS_PER_DEFECT, len(candidates))]
            seen[defect] += 1
        expected = DEFECTS[defect][0] if defect else ACCEPTED
        planned.append(PlannedUnit(index + 1, model, defect, expected))
    return planned


def expected_statuses(n: int) -> dict[str, str]:
    """{unit_code: accepted | accepted_with_warnings | rejected}: what collecting the N units gives."""
    return {u.code: u.expected for u in plan_units(n, _demo_models(_bench_programme()[1]))}


@dataclass
class Member:
    """A zip member, compressed once (raw deflate)."""

    name: bytes
    crc: int
    size: int
    body: bytes


def _member(name: str, data: bytes) -> Member:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return Member(name.encode(), zlib.crc32(data), len(data), packer.compress(data) + packer.flush())


def _deflated_piece(data: bytes, final: bool) -> bytes:
    """`data` as raw deflate blocks that end on a byte boundary, so that pieces can be joined."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH)


def _stored_piece(data: bytes, final: bool) -> bytes:
    """`data` as one stored deflate block (a few bytes of a unit's code, name or digest)."""
    return bytes([1 if final else 0]) + struct.pack("<HH", len(data), len(data) ^ 0xFFFF) + data


@dataclass
class VaryingPart:
    """A part that names the unit: the text around the names compressed once, the names stored
    per unit (a deflate stream may be cut into blocks anywhere, and a block may be stored)."""

    position: int
    name: str
    raw: list[bytes | str]
    packed: list[bytes | None]

    @classmethod
    def split(cls, position: int, name: str, data: bytes, holes: dict[str, bytes]) -> VaryingPart:
        raw: list[bytes | str] = []
        rest = data
        while True:
            found = [(rest.find(text), key) for key, text in holes.items() if rest.find(text) >= 0]
            if not found:
                break
            at, key = min(found)
            if at:
                raw.append(rest[:at])
            raw.append(key)
            rest = rest[at + len(holes[key]):]
        if rest:
            raw.append(rest)
        last = len(raw) - 1
        packed = [_deflated_piece(p, i == last) if isinstance(p, bytes) else None for i, p in enumerate(raw)]
        return cls(position, name, raw, packed)

    def member(self, values: dict[str, bytes]) -> Member:
        crc, size, body, last = 0, 0, bytearray(), len(self.raw) - 1
        for i, (piece, packed) in enumerate(zip(self.raw, self.packed)):
            data = piece if isinstance(piece, bytes) else values[piece]
            crc = zlib.crc32(data, crc)
            size += len(data)
            body += packed if packed is not None else _stored_piece(data, i == last)
        return Member(self.name.encode(), crc, size, bytes(body))


def _zip_bytes(members: list[Member]) -> bytes:
    """A plain zip (deflate, no data descriptors), as openpyxl's zipfile writes one."""
    out, central = bytearray(), bytearray()
    for m in members:
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, ZIP_TIME, ZIP_DATE,
                           m.crc, len(m.body), m.size, len(m.name), 0)
        out += m.name + m.body
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, ZIP_TIME, ZIP_DATE,
                               m.crc, len(m.body), m.size, len(m.name), 0, 0, 0, 0, 0, offset)
        central += m.name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0)
    return bytes(out + central + end)


def _xml_text(text: str) -> bytes:
    """Text as openpyxl writes it into a part: escaped, non-ASCII as character references."""
    return escape(text).encode("ascii", "xmlcharrefreplace")


@dataclass
class Model:
    """One filled workbook, ready to be copied for any unit of its type."""

    unit_type: str
    code: str
    name: str
    # The text the identity's digest is taken over (NFC): the unit's code and name appear in it
    # as themselves (JSON leaves them unescaped), so a unit's digest is this text with them swapped.
    payload: str
    fixed: list[tuple[int, Member]]
    varying: list[VaryingPart]
    arrived: dt.datetime

    def workbook_for(self, number: int) -> bytes:
        code, name = unit_code(number), unit_name(number, self.unit_type)
        digest = hashlib.sha256(self.payload.replace(self.code, code).replace(self.name, name).encode("utf-8"))
        values = {"code": _xml_text(code), "name": _xml_text(name), "digest": digest.hexdigest().encode()}
        members = dict(self.fixed)
        for part in self.varying:
            members[part.position] = part.member(values)
        return _zip_bytes([members[i] for i in sorted(members)])


def _bench_programme() -> tuple[Path, Programme]:
    """The bench year's programme file and what it says, from the programmes folder in use (a
    broken file of another year is passed over, as every command passes it over)."""
    programme = programme_for_year(BENCH_YEAR)
    for path in sorted(programmes_dir().glob("*.toml")):
        if hashlib.sha256(path.read_bytes()).hexdigest() == programme.source_sha256:
            return path, programme
    raise FileNotFoundError(f"no programme file for {BENCH_YEAR} in {programmes_dir()}")


def _demo_models(programme: Programme) -> list:
    from reporting.units import load_registry
    from tasks.demo_data import DEMO_SEED, plan_demo_year

    return [d for _, d in sorted(plan_demo_year(programme, load_registry(), DEMO_SEED).items())]


def _plant(wb, programme: Programme, defect: str | None) -> None:
    """Type the defect into a filled workbook, the way a clerk would."""
    if defect is None or defect in REGISTRY_DEFECTS:
        return
    sheet = wb[L.SHEET_INDICATORS]
    rows = {}
    row = L.FIRST_DATA_ROW
    while (code := sheet[f"{L.IND['indicator_code'].letter}{row}"].value) is not None:
        rows[code] = row
        row += 1
    value_col, ytd_col = L.IND["value"].letter, L.IND["ytd"].letter

    def type_value(code: str, value: object) -> None:
        sheet[f"{value_col}{rows[code]}"] = value
        if programme.indicator(code).has_ytd and BENCH_QUARTER == 1:
            sheet[f"{ytd_col}{rows[code]}"] = value

    first = next(iter(rows))
    if defect == "value-negative":
        sheet[f"{value_col}{rows[first]}"] = -1
    elif defect == "value-text":
        sheet[f"{value_col}{rows[first]}"] = "2 cuộc"
    elif defect == "income-out-of-band":
        type_value("avg_income_m_vnd", 95)
    elif defect == "budget-above-revenue":
        revenue = sheet[f"{value_col}{rows['revenue_bn_vnd']}"].value or 0
        type_value("budget_paid_bn_vnd", round(float(revenue) * 2 + 1, 2))
    else:
        raise ValueError(f"unknown defect {defect}")


def build_model(programme: Programme, demo, defect: str | None) -> Model:
    """Build and fill one template with openpyxl for the placeholder unit, and split it into parts."""
    import io
    import zipfile

    from python_calamine import CalamineWorkbook

    from tasks.demo_data import fill_template
    from tasks.templates import build_template

    period = Period(BENCH_YEAR, BENCH_QUARTER)
    unit = UnitVersion(unit_code(MODEL_NUMBER), unit_name(MODEL_NUMBER, demo.unit.unit_type), demo.unit.unit_group,
                       demo.unit.unit_type, dt.date.fromisoformat(VALID_FROM), None, None)
    wb = build_template(programme, unit, period)
    fill_template(wb, programme, demo, BENCH_QUARTER)
    _plant(wb, programme, defect)
    buffer = io.BytesIO()
    wb.save(buffer)
    book = CalamineWorkbook.from_filelike(io.BytesIO(buffer.getvalue()))
    state, identity = read_identity(book.get_sheet_by_name(SHEET_IDENTITY).to_python(skip_empty_area=False))
    if identity is None:
        raise RuntimeError(f"the model workbook's identity is {state}")
    payload = unicodedata.normalize("NFC", json.dumps(
        [FORMAT, *(str(getattr(identity, f)) for f in FIELDS), identity.locked_by_sheet()],
        ensure_ascii=False, separators=(",", ":")))
    holes = {"code": _xml_text(unit.unit_code), "name": _xml_text(unit.name_vi), "digest": identity.digest.encode()}
    fixed, varying = [], []
    with zipfile.ZipFile(buffer) as archive:
        for position, info in enumerate(archive.infolist()):
            data = archive.read(info)
            if any(text in data for text in holes.values()):
                varying.append(VaryingPart.split(position, info.filename, data, holes))
            else:
                fixed.append((position, _member(info.filename, data)))
    if hashlib.sha256(payload.encode("utf-8")).hexdigest() != identity.digest:
        raise RuntimeError("the identity's digest is no longer taken over the text p135 bench rewrites")
    return Model(unit.unit_type, unit.unit_code, unit.name_vi, payload, fixed, varying, demo.arrivals[BENCH_QUARTER])


@dataclass
class Quarter:
    """A written quarter: where its files are and what collecting them should give."""

    root: Path
    period: Period
    inbox: Path
    programmes: Path
    files: list[Path]
    expected: dict[str, str]
    models: int
    seconds: float

    def planted(self, status: str) -> int:
        return sum(1 for s in self.expected.values() if s == status)


def write_quarter(n: int, root: Path) -> Quarter:
    """Write N units' workbooks into root/inbox/<year>-Q<q>/ and the programme file and the N
    units' registry into root/programmes/."""
    started = time.perf_counter()
    programme_file, programme = _bench_programme()
    demo = _demo_models(programme)
    planned = plan_units(n, demo)
    period = Period(BENCH_YEAR, BENCH_QUARTER)
    inbox, programmes = root / "inbox" / period.key, root / "programmes"
    inbox.mkdir(parents=True, exist_ok=True)
    programmes.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(programme_file, programmes / programme_file.name)
    models: dict[tuple[int, str | None], Model] = {}
    files = []
    with open(programmes / REGISTRY_FILE_NAME, "w", encoding="utf-8", newline="") as registry:
        writer = csv.writer(registry, lineterminator="\n")
        writer.writerow(REGISTRY_FIELDS)
        for unit in planned:
            source = demo[unit.model]
            key = (unit.model, None if unit.defect in REGISTRY_DEFECTS else unit.defect)
            if key not in models:
                models[key] = build_model(programme, source, key[1])
            model = models[key]
            name = unit_name(unit.number, source.unit.unit_type)
            if unit.defect in REGISTRY_DEFECTS:
                name += RENAMED_SUFFIX
            writer.writerow((unit.code, name, source.unit.unit_group, source.unit.unit_type, VALID_FROM, "", ""))
            path = inbox / f"BaoCao_{period.key}_{unit.code}.xlsx"
            path.write_bytes(model.workbook_for(unit.number))
            stamp = model.arrived.timestamp()
            os.utime(path, (stamp, stamp))
            files.append(path)
    return Quarter(root, period, inbox, programmes, files, {u.code: u.expected for u in planned}, len(models),
                   time.perf_counter() - started)


# --- The bare parse: what python-calamine alone costs on the same files ---------------------------

def parse_every_sheet(paths: list[str]) -> int:
    """Read every sheet of every file with python-calamine; the number of cells read."""
    from python_calamine import CalamineWorkbook

    cells = 0
    for path in paths:
        book = CalamineWorkbook.from_path(path)
        for name in book.sheet_names:
            cells += sum(len(row) for row in book.get_sheet_by_name(name).to_python())
    return cells


def bare_parse(files: list[Path], workers: int = 2) -> float:
    """Seconds to parse every sheet of every file in `workers` plain processes (start included)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    started = time.perf_counter()
    size = max(1, math.ceil(len(files) / (workers * 8)))
    chunks = [[str(p) for p in files[i:i + size]] for i in range(0, len(files), size)]
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        sum(pool.map(parse_every_sheet, chunks))
    return time.perf_counter() - started


# --- Memory: the whole process tree, and the parsing processes --------------------------------------

@dataclass
class MemorySampler:
    """Samples the resident memory of this process and all its descendants in a background thread.

    The parsing processes are the spawned multiprocessing workers alive while `parsing` is set
    (the collect runs); the bare parse's workers are not counted among them.
    """

    interval: float = 0.1
    peak_tree: int = 0
    peak_parsing: int = 0
    peak_one_parser: int = 0
    parsing: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)
    _spawned: dict[int, bool] = field(default_factory=dict)

    def sample(self) -> None:
        import psutil

        me = psutil.Process()
        tree, parsing, largest = 0, 0, 0
        for process in [me, *me.children(recursive=True)]:
            try:
                rss = process.memory_info().rss
                if process.pid not in self._spawned:
                    self._spawned[process.pid] = any("spawn_main" in part for part in process.cmdline())
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            tree += rss
            if self.parsing and self._spawned[process.pid]:
                parsing += rss
                largest = max(largest, rss)
        self.peak_tree = max(self.peak_tree, tree)
        self.peak_parsing = max(self.peak_parsing, parsing)
        self.peak_one_parser = max(self.peak_one_parser, largest)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    @contextmanager
    def running(self) -> Iterator[MemorySampler]:
        thread = threading.Thread(target=self._loop, name="p135-bench-memory", daemon=True)
        self.sample()
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            self.sample()

    @contextmanager
    def watching_parsers(self) -> Iterator[None]:
        self.parsing = True
        try:
            yield
        finally:
            self.parsing = False


# --- Stage times when the collect summary does not carry them ----------------------------------------

class StageTimes:
    """Follows a run's stages (tasks.progress): the time from the previous stage event to each
    step's end, per stage. The collect flow's own `stage_seconds`, when it returns them, win."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def stage_expected(self, stage: str, total: int) -> None:
        self._last = time.perf_counter()

    def stage_advanced(self, stage: str, done: int) -> None:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self._last
        self._last = now


# --- A fresh warehouse --------------------------------------------------------------------------------

def fresh_warehouse(url: str | None, data: Path) -> tuple[str, Callable[[], None]]:
    """(URL, clean-up) of an empty warehouse: SQLite in `data` by default; a new database on a
    PostgreSQL server; a SQLite URL only when its file does not exist yet."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if url is None:
        return f"sqlite:///{(data / 'warehouse.db').as_posix()}", lambda: None
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:" and Path(parsed.database).exists():
            raise ValueError(f"kho SQLite {parsed.database} đã có: hãy chỉ một tệp chưa có để đo trên kho mới.")
        return url, lambda: None
    if backend != "postgresql":
        raise ValueError(f"chỉ hỗ trợ kho SQLite hoặc PostgreSQL, không phải {backend}.")
    name = f"p135_bench_{os.getpid()}_{int(time.time())}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()

    def drop() -> None:
        from warehouse.engine import dispose_engines

        dispose_engines()
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    return parsed.set(database=name).render_as_string(hide_password=False), drop


# --- The run and its table -------------------------------------------------------------------------

FLOW_STAGES = ("archive", "guard", "read", "check", "load", "feedback")
STAGE_VI = {
    "archive": "Lưu trữ (archive)",
    "guard": "Sàng lọc (guard)",
    "read": "Đọc (read)",
    "check": "Kiểm tra (check)",
    "load": "Nạp kho (load)",
    "feedback": "Phản hồi (feedback)",
}


@dataclass
class BenchReport:
    units: int
    backend: str
    quarter: Quarter
    bare_seconds: float = 0.0
    prefect_start_seconds: float = 0.0
    collect_seconds: float = 0.0
    stage_seconds: dict[str, float | None] = field(default_factory=dict)
    stages_measured_by_flow: bool = False
    recollect_seconds: float = 0.0
    publish_seconds: float = 0.0
    wall_seconds: float = 0.0
    summary: dict = field(default_factory=dict)
    recollect: dict = field(default_factory=dict)
    memory: MemorySampler = field(default_factory=MemorySampler)


def stage_seconds(summary: dict, fallback: StageTimes) -> tuple[dict[str, float | None], bool]:
    """Per-stage seconds: the flow's own when its summary has them, else what the events showed."""
    own = summary.get("stage_seconds")
    if own:
        return {s: own.get(s) for s in FLOW_STAGES}, True
    return {s: fallback.seconds.get(s) for s in FLOW_STAGES}, False


def run(
    units: int,
    root: Path,
    data: Path,
    backend: str,
    *,
    start_prefect: Callable[[], None],
    collect: Callable[[Path], dict],
    publish: Callable[[], dict],
    say: Callable[[str], None] = lambda _: None,
) -> BenchReport:
    """Write the quarter, parse it bare, collect it, collect it again, publish the year."""
    from tasks.progress import listening

    started = time.perf_counter()
    sampler = MemorySampler()
    with sampler.running():
        say(f"Đang tạo {units} tệp báo cáo...")
        quarter = write_quarter(units, root)
        os.environ["P135_PROGRAMMES_DIR"] = str(quarter.programmes)
        report = BenchReport(units, backend, quarter, memory=sampler)
        say("Đang đọc thô bằng python-calamine (2 tiến trình)...")
        report.bare_seconds = bare_parse(quarter.files, workers=2)
        say("Đang khởi động máy chủ Prefect tạm thời...")
        t = time.perf_counter()
        start_prefect()
        report.prefect_start_seconds = time.perf_counter() - t
        say("Đang thu nhận quý (luồng collect thật)...")
        times = StageTimes()
        with listening(times), sampler.watching_parsers():
            t = time.perf_counter()
            report.summary = collect(quarter.inbox)
            report.collect_seconds = time.perf_counter() - t
        report.stage_seconds, report.stages_measured_by_flow = stage_seconds(report.summary, times)
        say("Đang thu nhận lại quý không đổi...")
        with sampler.watching_parsers():
            t = time.perf_counter()
            report.recollect = collect(quarter.inbox)
            report.recollect_seconds = time.perf_counter() - t
        say("Đang công bố năm...")
        t = time.perf_counter()
        publish()
        report.publish_seconds = time.perf_counter() - t
    report.wall_seconds = time.perf_counter() - started
    return report


def _num(value: float | None, decimals: int = 1) -> str:
    from reporting.vn_format import vn_number

    return "—" if value is None else vn_number(value, decimals)


def _rate(files: int, seconds: float | None) -> str:
    return "—" if not seconds else _num(files / seconds, 0)


def _mb(size: int) -> str:
    return f"{_num(size / 2**20, 0)} MB"


def bench_table(report: BenchReport, machine: str):
    """The one table the command prints."""
    from rich.table import Table

    n, s, r, q = report.units, report.summary, report.recollect, report.quarter
    caption = None if report.stages_measured_by_flow else (
        "Giai đoạn: đo theo sự kiện tiến độ của luồng (luồng chưa trả stage_seconds); sàng lọc tính trong đọc.")
    table = Table(title=f"p135 bench: {n} đơn vị, {q.period.label_vi}, kho {report.backend}, máy {machine}",
                  title_justify="left", caption=caption, caption_justify="left")
    for heading, justify in (("Hạng mục", "left"), ("Tệp", "right"), ("Giây", "right"),
                             ("Tệp/giây", "right"), ("Ghi chú", "left")):
        table.add_column(heading, justify=justify, no_wrap=heading != "Ghi chú")
    files = len(q.files)
    table.add_row("Tạo tệp (chuẩn bị)", str(files), _num(q.seconds), _rate(files, q.seconds),
                  f"{q.models} mẫu lưu bằng openpyxl, còn lại ghép zip")
    table.add_row("Đọc thô (calamine, 2 tiến trình)", str(files), _num(report.bare_seconds),
                  _rate(files, report.bare_seconds), "mọi sheet, cùng các tệp")
    table.add_section()
    table.add_row("Khởi động Prefect tạm thời", "", _num(report.prefect_start_seconds), "", "trước khi luồng chạy")
    seen, new = s.get("files_seen", 0), s.get("files_new", 0)
    for stage in FLOW_STAGES:
        count = seen if stage == "archive" else new
        seconds = report.stage_seconds.get(stage)
        table.add_row(f"  {STAGE_VI[stage]}", str(count), _num(seconds, 2), _rate(count, seconds), "")
    table.add_row("Thu nhận đầu-cuối (collect)", str(seen), _num(report.collect_seconds),
                  _rate(seen, report.collect_seconds),
                  f"{s.get('accepted', 0)} chấp nhận, {s.get('accepted_with_warnings', 0)} cảnh báo, "
                  f"{s.get('rejected', 0)} từ chối")
    table.add_row("  Lỗi đã cài sẵn trong tệp", "", "", "",
                  f"{q.planted(WARNED)} tệp có cảnh báo, {q.planted(REJECTED)} tệp bị từ chối")
    table.add_row("Thu nhận lại, không đổi (re-collect)", str(r.get("files_seen", 0)), _num(report.recollect_seconds),
                  _rate(r.get("files_seen", 0), report.recollect_seconds),
                  f"{r.get('files_known', 0)} đã nhận, {r.get('files_new', 0)} mới")
    table.add_row("Công bố năm (publish)", str(n), _num(report.publish_seconds), _rate(n, report.publish_seconds),
                  "số đơn vị, một quý")
    table.add_section()
    ratio = report.bare_seconds / report.collect_seconds if report.collect_seconds else None
    table.add_row("Đầu-cuối / đọc thô (tốc độ)", "", "", "", "—" if ratio is None else f"{_num(ratio, 2)}×")
    table.add_row("Cả lượt chạy (wall time)", "", _num(report.wall_seconds), "", "tạo tệp đến công bố")
    table.add_row("Đỉnh RSS cả cây tiến trình", "", "", "", _mb(report.memory.peak_tree))
    table.add_row("Đỉnh RSS tiến trình đọc", "", "", "", f"{_mb(report.memory.peak_parsing)} cộng lại, "
                  f"{_mb(report.memory.peak_one_parser)} lớn nhất")
    return table


def machine_vi() -> str:
    """This machine, briefly: cores and memory."""
    import platform

    import psutil

    return (f"{os.cpu_count()} lõi, {_num(psutil.virtual_memory().total / 2**30, 0)} GB RAM, "
            f"{platform.system()} {platform.machine()}")
