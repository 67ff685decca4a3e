"""p135: thu nhận, kiểm tra và tổng hợp báo cáo quý của các tổ chức cơ sở đảng (Chương trình hành động 135).

The command's words for people are Vietnamese; its code, comments and log lines are English.
Commands that run a flow (templates, collect, publish, demo, remind, bench) check the settings first,
then run the flow on Prefect's temporary server; the others (check, status, approve, reopen,
extend, db) call plain functions and start no Prefect server.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import getpass
import logging
import os
import re
import signal
import sys
import threading
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

HELP_VI = "Hiện hướng dẫn này rồi thoát."
LATE_SHOWN = 10
app = typer.Typer(
    add_completion=False, no_args_is_help=True, subcommand_metavar="LỆNH [THAM SỐ]...",
    help="Thu nhận, kiểm tra và tổng hợp báo cáo quý của các tổ chức cơ sở đảng (Chương trình hành động 135).",
)
db_app = typer.Typer(no_args_is_help=True, subcommand_metavar="LỆNH [THAM SỐ]...", help="Quản lý lược đồ kho dữ liệu.")
app.add_typer(db_app, name="db")
class _Output(Console):
    """The command's output: a reader that stops reading (`p135 collect | head -1`, a script taking
    the summary line) silences the rest, and the command ends with its own exit code, not 1."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


# Piped output (make, CI logs) would otherwise be cut to 80 columns and wrap every label.
console = _Output(width=None if sys.stdout.isatty() else 130)
errors = Console(stderr=True)

DataDir = Annotated[
    Optional[Path],
    typer.Option("--data-dir", envvar="P135_DATA_DIR", show_envvar=False,
                 help="Thư mục dữ liệu (hộp thư, lưu trữ, phản hồi, báo cáo, kho SQLite); mặc định: data hoặc $P135_DATA_DIR.",
                 show_default=False),
]
# The years a command takes, as Period does (status said 2000-2100; publish took 0 as "not given").
YEAR_MIN, YEAR_MAX = 2000, 2100
# Each command's own default, said in its help: the quarter just ended (collect, status, remind),
# the quarter in progress (templates), the period written in each file (check).
Year = Annotated[Optional[int], typer.Option(min=YEAR_MIN, max=YEAR_MAX, help="Năm báo cáo, cho cùng --quarter (mặc định: năm của quý vừa kết thúc).", show_default=False)]
Quarter = Annotated[Optional[int], typer.Option(min=1, max=4, help="Quý 1-4, cho cùng --year (mặc định: quý vừa kết thúc).", show_default=False)]
YearNow = Annotated[Optional[int], typer.Option(min=YEAR_MIN, max=YEAR_MAX, help="Năm báo cáo, cho cùng --quarter (mặc định: năm của quý đang diễn ra).", show_default=False)]
QuarterNow = Annotated[Optional[int], typer.Option(min=1, max=4, help="Quý 1-4, cho cùng --year (mặc định: quý đang diễn ra).", show_default=False)]
YearOfFile = Annotated[Optional[int], typer.Option(min=YEAR_MIN, max=YEAR_MAX, help="Năm báo cáo, cho cùng --quarter (mặc định: kỳ ghi trong từng tệp).", show_default=False)]
QuarterOfFile = Annotated[Optional[int], typer.Option(min=1, max=4, help="Quý 1-4, cho cùng --year (mặc định: kỳ ghi trong từng tệp).", show_default=False)]
# For the decisions on one quarter (approve, reopen, extend): no default, whatever the date.
YearNeeded = Annotated[Optional[int], typer.Option("--year", min=YEAR_MIN, max=YEAR_MAX, help="Năm báo cáo (bắt buộc).", show_default=False)]
QuarterNeeded = Annotated[Optional[int], typer.Option("--quarter", min=1, max=4, help="Quý 1-4 (bắt buộc).", show_default=False)]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="In cả nhật ký từng bước của Prefect.")]
Actor = Annotated[Optional[str], typer.Option("--by", help="Người thực hiện (mặc định: tên đăng nhập máy).", show_default=False)]


# --- Vietnamese for the parts of the help and errors that typer writes itself ------------------

_USAGE_ERRORS_VI = (
    (r"Missing argument '(.+)'\.?", "Thiếu tham số {0}."),
    (r"Missing option '(.+)'\.?", "Thiếu tùy chọn {0}."),
    (r"Missing parameter: (.+)", "Thiếu tham số {0}."),
    (r"No such option:? '?([^'\s]+?)'?\.?(?:\s.*)?", "Không có tùy chọn {0}."),
    (r"No such command '(.+)'\.?", "Không có lệnh '{0}'."),
    (r"Missing command\.?", "Thiếu lệnh."),
    (r"Got unexpected extra arguments?(?:\(s\))? \((.+)\)", "Thừa tham số: {0}."),
    (r"Option '(.+)' does not take a value\.?", "Tùy chọn {0} không nhận giá trị."),
    (r"Option '(.+)' requires an argument\.?", "Tùy chọn {0} cần một giá trị."),
    (r"Invalid value for (.+?): (.+)", "Giá trị không hợp lệ cho {0}: {1}"),
    (r"Invalid value: (.+)", "Giá trị không hợp lệ: {0}"),
    (r"Input should be less than or equal to (.+)", "phải nhỏ hơn hoặc bằng {0}."),
    (r"Input should be greater than or equal to (.+)", "phải lớn hơn hoặc bằng {0}."),
    (r"Input should be a valid integer.*", "phải là một số nguyên."),
    (r"Input should be (.+)", "giá trị không hợp lệ."),
    (r"'?(.+?)'? is not a valid integer( range)?\.?", "'{0}' không phải là số nguyên."),
    (r"(.+?) is not in the range (.+?)\.?", "{0} nằm ngoài khoảng {1}."),
    (r"(.+?) is not a valid (.+?)\.?", "{0} không hợp lệ."),
    (r"Value '?(.+?)'? is not a valid (.+)\.?", "{0} không hợp lệ."),
    (r"(.+?) is (?:smaller|less) than the minimum valid value (.+?)\.?", "{0} nhỏ hơn giá trị nhỏ nhất {1}."),
    (r"(.+?) is (?:bigger|greater|larger) than the maximum valid value (.+?)\.?", "{0} lớn hơn giá trị lớn nhất {1}."),
    (r"Path '(.+)' does not exist\.?", "Không có đường dẫn '{0}'."),
)


# The usage line's placeholders and the help's value types, as typer writes them in English.
USAGE_PIECES_VI = {"[OPTIONS]": "[TÙY CHỌN]"}
TYPES_VI = {
    "<int>": "<số nguyên>", "<int range>": "<số nguyên>", "<float>": "<số>", "<str>": "<chữ>",
    "<path>": "<đường dẫn>", "<list[Path]>": "<các đường dẫn>", "<bool>": "",
}


def usage_error_vi(message: str) -> str:
    """A typer/click usage error in Vietnamese (the quoted names and values kept as typed)."""
    for pattern, template in _USAGE_ERRORS_VI:
        found = re.fullmatch(pattern, message.strip(), flags=re.DOTALL)
        if found:
            parts = [usage_error_vi(g) if n == 1 and template.startswith("Giá trị") else g
                     for n, g in enumerate(found.groups()) if g is not None]
            return template.format(*parts)
    return message


def _speak_vietnamese() -> None:
    """Put typer's own help and error words into Vietnamese (it has no translation catalogue)."""
    from typer import core as typer_core
    from typer import rich_utils
    from typer._click import core as click_core
    from typer._click import formatting

    rich_utils.ARGUMENTS_PANEL_TITLE = "Tham số"
    rich_utils.OPTIONS_PANEL_TITLE = "Tùy chọn"
    rich_utils.COMMANDS_PANEL_TITLE = "Lệnh"
    rich_utils.ERRORS_PANEL_TITLE = "Lỗi"
    rich_utils.ABORTED_TEXT = "Đã dừng."
    rich_utils.DEFAULT_STRING = "[mặc định: {}]"
    rich_utils.ENVVAR_STRING = "[biến môi trường: {}]"
    rich_utils.REQUIRED_LONG_STRING = "[bắt buộc]"
    rich_utils.DEPRECATED_STRING = "(không dùng nữa) "
    rich_utils.RICH_HELP = "Xem [blue]'{command_path} {help_option}'[/] để được hướng dẫn."
    # A paragraph's single line breaks are the docstring's, not the reader's.
    rich_utils._fix_linebreaks = lambda paragraphs, markup_mode: "\n\n".join(p.replace("\n", " ") for p in paragraphs)
    if getattr(rich_utils.rich_format_error, "p135_vi", False):
        return
    english_error = rich_utils.rich_format_error

    def rich_format_error_vi(error) -> None:
        text = usage_error_vi(error.format_message())
        error.format_message = lambda: text
        english_error(error)

    rich_format_error_vi.p135_vi = True
    rich_utils.rich_format_error = rich_format_error_vi
    english_usage = formatting.HelpFormatter.write_usage

    def write_usage_vi(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        english_usage(self, prog, args, "Cách dùng: " if prefix is None else prefix)

    formatting.HelpFormatter.write_usage = write_usage_vi
    english_pieces = click_core.Command.collect_usage_pieces

    def collect_usage_pieces_vi(self, ctx) -> list[str]:
        return [USAGE_PIECES_VI.get(piece, piece) for piece in english_pieces(self, ctx)]

    click_core.Command.collect_usage_pieces = collect_usage_pieces_vi
    english_type = typer_core._TyperParameter.display_type

    def display_type_vi(self, ctx) -> str:
        shown = english_type(self, ctx)
        return TYPES_VI.get(shown, shown)

    typer_core._TyperParameter.display_type = display_type_vi
    english_help_option = click_core.Command.get_help_option

    def get_help_option_vi(self, ctx):
        option = english_help_option(self, ctx)
        if option is not None:
            option.help = HELP_VI
        return option

    click_core.Command.get_help_option = get_help_option_vi


_speak_vietnamese()


# --- Settings, Prefect's noise, periods ---------------------------------------------------------

def _data_setting(data_dir: Path | None) -> str:
    if data_dir is None:
        return "thư mục dữ liệu mặc định"
    if os.environ.get("P135_DATA_DIR") and Path(os.environ["P135_DATA_DIR"]) == data_dir:
        return "P135_DATA_DIR"
    return "--data-dir"


def _prepare(data_dir: Path | None, verbose: bool = False, read_only_ok: bool = False) -> Path:
    """Check the settings (one Vietnamese line and exit 2 when one is wrong), then quiet Prefect
    and keep its state beside the data, all before Prefect is imported; a command that only reads
    the warehouse says so (`read_only_ok`), the others refuse a login that may only read it."""
    from tasks.preflight import SettingError, check_data_dir, check_run_settings, check_warehouse

    data = data_dir or Path("data")
    try:
        check_data_dir(data, _data_setting(data_dir))
        check_warehouse(data, read_only_ok=read_only_ok)
        check_run_settings()
    except SettingError as exc:
        errors.print(f"[red]Lỗi cấu hình:[/red] {escape(str(exc))}", soft_wrap=True, highlight=False)
        raise typer.Exit(2) from None
    os.environ.setdefault("PREFECT_HOME", str((data / "prefect").resolve()))
    # prefect.toml holds these, but is read only from the folder p135 starts in; the temporary
    # server (a subprocess) takes them from the environment wherever that is.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
    # Prefect's own default, 20 s, was not enough on a loaded machine (a command run from another folder).
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ["P135_DATA_DIR"] = str(data)
    _quiet_prefect(verbose)
    _stop_cleanly_on_sigterm()
    return data


def _cluster() -> None:
    """The Dask cluster a collect is told to read on answers and can (one Vietnamese line and exit 2)."""
    from tasks.preflight import SettingError, check_cluster

    try:
        check_cluster()
    except SettingError as exc:
        errors.print(f"[red]Lỗi cấu hình:[/red] {escape(str(exc))}", soft_wrap=True, highlight=False)
        raise typer.Exit(2) from None


class _Stopped(SystemExit):
    """The command was told to stop (SIGTERM): it exits, running what is registered to run at exit."""


def _stop(signum: int = signal.SIGTERM) -> _Stopped:
    """Say in Vietnamese that the command was stopped (once); the exit to raise, by the signal that
    stopped it first."""
    if _STOPPING.is_set():
        return _Stopped(128 + _STOPPED_BY[0])
    _STOPPED_BY.append(signum)
    _STOPPING.set()
    told = "nhận Ctrl-C, tín hiệu SIGINT" if signum == signal.SIGINT else "nhận tín hiệu dừng SIGTERM"
    errors.print(
        f"[red]Lỗi:[/red] lệnh đã bị dừng giữa chừng ({told}). Không mất tệp nào đã nhận; "
        "phần chưa xong được làm khi chạy lại lệnh.", soft_wrap=True, highlight=False,
    )
    return _Stopped(128 + signum)


def _from_termination(exc: BaseException | None) -> bool:
    """`exc` is Prefect's TerminationSignal or the command's own stop (Ctrl-C), or came while
    handling one (a stop that landed while a task run was being created fails the flow with "Task
    run is not set" instead)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if type(exc).__name__ == "TerminationSignal" or isinstance(exc, _Stopped):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _exception_of(state) -> BaseException | None:
    """The exception a failed run ended with, if its state holds one."""
    try:
        found = state.result(raise_on_failure=False)
    except Exception:  # no result kept: nothing to tell from it
        return None
    return found if isinstance(found, BaseException) else None


def _swallows_exceptions(frame) -> bool:
    """Interrupted inside code whose exceptions Python prints and ignores: a finaliser, or the
    import system's module-lock callback (seen when SIGTERM came while the flow's modules loaded)."""
    code = frame.f_code if frame is not None else None
    return code is not None and (code.co_name == "__del__" or (
        code.co_name == "cb" and code.co_filename.startswith("<frozen importlib")))


def _stop_cleanly_on_sigterm() -> None:
    """A SIGTERM (`kill`, systemd, a scheduler's timeout) ends the command as Ctrl-C does.

    By default it kills the process outright, so nothing registered at exit runs and Prefect's
    temporary server, a subprocess, is left running with no parent. Now the command exits: the run
    is marked crashed (Prefect's own handler during a flow run passes the signal on here), the
    server and the parsing processes are stopped, and the clerk-facing line says what became of it.
    A second SIGTERM kills at once.
    """
    def stopped(signum, frame) -> None:
        if _swallows_exceptions(frame):
            # Raised there, the exit would be printed as "Exception ignored" and the command would
            # go on: raise it a moment later, outside the callback.
            signal.signal(signal.SIGALRM, lambda _signum, later: stopped(signum, later))
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            return
        signal.signal(signum, signal.SIG_DFL)
        raise _stop(signum)

    with suppress(ValueError):  # only the main thread may set a handler; a command always runs there
        signal.signal(signal.SIGTERM, stopped)
        # Ctrl-C the same way, unless the command was started with it ignored (a script's background job).
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, stopped)
        _watch_for_a_lost_stop()


# Seconds after a SIGTERM by which a command has begun to stop (4 s measured mid-collect).
LOST_STOP_SECONDS = 10.0
_STOPPING = threading.Event()
_STOPPED_BY: list[int] = []


def _watch_for_a_lost_stop() -> None:
    """Deliver a SIGTERM again if no one acted on it.

    A handler that raises while the garbage collector runs a weakref callback has its exception
    printed as "Exception ignored" and dropped: seen with Prefect's own handler, whose
    TerminationSignal was lost that way and the collect ran on to the end. Python writes every
    signal to the wakeup fd whatever its handler does; a thread reading it runs the SIGTERM handler
    in the main thread again (`interrupt_main`, a no-op once the command restored SIG_DFL to stop)
    if the command has not begun to stop after LOST_STOP_SECONDS.
    """
    import _thread

    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    except ValueError:
        os.close(read_end)
        os.close(write_end)
        return

    def watch() -> None:
        while True:
            if signal.SIGTERM in os.read(read_end, 64) and not _STOPPING.wait(LOST_STOP_SECONDS):
                _thread.interrupt_main(signal.SIGTERM)

    threading.Thread(target=watch, name="p135-lost-stop", daemon=True).start()


# `python -c` with this, then `uvicorn` and its arguments: uvicorn's command line, SIGINT ignored.
SERVER_DEAF_TO_CTRL_C = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "import uvicorn.server; uvicorn.server.HANDLED_SIGNALS = (signal.SIGTERM,); "
    "from uvicorn.main import main; sys.argv = sys.argv[1:]; main()"
)


@contextmanager
def _server_starting():
    """Prefect's temporary server starts while the body imports the flow's modules.

    Both take seconds of one core each (the server imports and migrates its database in a
    subprocess; the flow imports pandas and Great Expectations here), so on two cores they overlap.
    The body's flow runs after the server answers; with a server of its own (PREFECT_API_URL) nothing
    starts. A server that fails to start here is started again by the flow, which says why.
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        yield
        return
    from prefect.server.api.server import SubprocessASGIServer

    from tasks.leftover_servers import forget_server, note_server, stop_leftover_servers

    home = Path(os.environ["PREFECT_HOME"])
    if left := stop_leftover_servers(home):
        errors.print(
            f"Lưu ý: đã dừng {len(left)} máy chủ Prefect tạm còn chạy từ lệnh trước bị dừng đột ngột "
            "(kill -9 hoặc hết bộ nhớ).", soft_wrap=True, highlight=False,
        )

    class OwnServer(SubprocessASGIServer):
        """Prefect's temporary server, deaf to Ctrl-C, noted as soon as its process runs.

        Ctrl-C signals the terminal's whole process group: the server stopped under the run, which
        went on logging to it in tracebacks. It now stays in the command's group (a kill of the group
        still ends it) but leaves SIGINT to the command, which stops it when it ends. Noted only once
        it answered, a server whose command was killed while it started was left for good."""

        def _run_uvicorn_command(self):
            import subprocess

            import prefect
            from prefect.settings import get_current_settings

            # Prefect 3.9's own command and environment, run by uvicorn's own entry point once SIGINT
            # is ignored and uvicorn no longer takes it, with its output in a file: a server left by a
            # command killed outright held the caller's pipes open, and `$(p135 collect)` waited.
            log = home / "p135-temporary-server.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("ab") as out:
                process = subprocess.Popen(
                    args=[sys.executable, "-c", SERVER_DEAF_TO_CTRL_C, "uvicorn",
                          "--app-dir", str(prefect.__module_path__.parent),
                          "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1",
                          "--port", str(self.port), "--log-level", "error", "--lifespan", "on"],
                    env={**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
                         "PREFECT__SERVER_FINAL": "1",
                         **get_current_settings().to_environment_variables(exclude_unset=True)},
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                )
            atexit.register(forget_server, note_server(home, process.pid))
            return process

    def start() -> None:
        server = None
        try:
            server = OwnServer()
            server.start()
        except Exception:
            # Prefect leaves a server that did not answer in time running, and the flow starts
            # another: this one would outlive the command, noted nowhere.
            process = getattr(server, "server_process", None)
            if process is not None and process.poll() is None:
                process.terminate()
                with suppress(Exception):
                    process.wait(timeout=10)
            return

    # The server module is imported above, in this thread: the thread below only waits on the server.
    starting = threading.Thread(target=start, name="p135-prefect-server", daemon=True)
    starting.start()
    try:
        yield
    finally:
        starting.join()


class _NoServerNotices(logging.Filter):
    """Drops the temporary server's start and stop notices (logged on the `prefect` logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "temporary server" not in record.getMessage()


class _ToldInVietnamese(logging.Filter):
    """Drops the engineers' per-file log lines from the terminal: the command prints each of those
    files in Vietnamese itself (the lines still reach the run's log). Prefect's "Crash detected!
    ... termination signal" lines go too (Prefect's handler logs them before the command's own
    handler says in Vietnamese that it was stopped); the run's log in the Prefect UI keeps them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("prefect") and ("termination signal" in record.getMessage() or (
                record.exc_info and _from_termination(record.exc_info[1]))):
            return False
        if _STOPPING.is_set() and record.name.startswith("prefect") and "Crash" in record.getMessage():
            return False  # the run crashed of the stop the command already told (Ctrl-C)
        return not getattr(record, "p135_per_file", False)


_VERBOSE = False


def _quiet_console() -> None:
    """Once Prefect has set up its logging: its console leaves per-file lines to the command."""
    if _VERBOSE:
        return
    from prefect.logging.handlers import PrefectConsoleHandler

    for name in ("", "prefect", "prefect.flow_runs", "prefect.task_runs"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, PrefectConsoleHandler) and not any(
                isinstance(f, _ToldInVietnamese) for f in handler.filters
            ):
                handler.addFilter(_ToldInVietnamese())


def _quiet_prefect(verbose: bool) -> None:
    """No telemetry, no per-task INFO lines unless --verbose, no server notices ever."""
    global _VERBOSE
    _VERBOSE = verbose
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # Read when Prefect is first imported, which the commands do only after this.
    os.environ["PREFECT_LOGGING_LEVEL"] = "INFO" if verbose else "WARNING"
    # Dask's own lines (a local cluster starting its scheduler and workers), read when it is imported.
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "info" if verbose else "warning")
    server_logger = logging.getLogger("prefect")
    if not any(isinstance(f, _NoServerNotices) for f in server_logger.filters):
        server_logger.addFilter(_NoServerNotices())


def _fail(message: str, code: int = 2) -> typer.Exit:
    errors.print(f"[red]Lỗi:[/red] {escape(message)}", soft_wrap=True, highlight=False)
    return typer.Exit(code)


def _period(year: int | None, quarter: int | None, *, current: bool = False):
    from reporting.periods import Period, current_period, period_just_ended

    if year is not None and quarter is None:
        raise _fail("khi cho --year, hãy cho cả --quarter.")
    if quarter is not None and year is None:
        # Not "this year's": in January, quarter 4 meant the one about to begin, not the one to collect.
        raise _fail("khi cho --quarter, hãy cho cả --year.")
    default = current_period() if current else period_just_ended()
    if year is None and quarter is None:
        return default
    try:
        return Period(year if year is not None else default.year, quarter)
    except ValueError:
        raise _fail(f"năm {year} nằm ngoài khoảng 2000-2100.") from None


def _explicit_period(year: int | None, quarter: int | None):
    if year is None or quarter is None:
        raise _fail("hãy cho cả --year và --quarter (quý cần xử lý).")
    return _period(year, quarter)


def _programme(year: int):
    from reporting.programme import NoProgramme, ProgrammeError, programme_for_year, programmes_dir

    try:
        return programme_for_year(year)
    except ProgrammeError as exc:
        if isinstance(exc, NoProgramme):
            present = f"; các tệp có: {exc.present_vi}" if exc.present_vi else ""
            raise _fail(f"chưa có tệp chương trình báo cáo cho năm {year} (thư mục {programmes_dir()}{present}).") from None
        raise _fail(f"tệp chương trình báo cáo năm {year} không dùng được: {exc}") from None


def _registry():
    """The unit registry, or one Vietnamese line naming the file, the line and the fix, and exit 2."""
    from reporting.units import RegistryError, load_registry

    try:
        return load_registry()
    except RegistryError as exc:
        errors.print(f"[red]Lỗi cấu hình:[/red] {escape(registry_problem_vi(exc))}", soft_wrap=True, highlight=False)
        raise typer.Exit(2) from None


def registry_problem_vi(exc: Exception) -> str:
    return f"tệp danh sách đơn vị không dùng được: {exc}"


# SQLSTATEs of a write refused to the login (read-only transaction, no privilege).
READ_ONLY_SQLSTATES = ("25006", "42501")


def _warehouse_errors(command):
    """A command on the warehouse that cannot go on ends in one Vietnamese line and exit 1, not a
    traceback: set-up kept waiting by another session, or a warehouse this login or URL may only
    read (an analyst's login, a `mode=ro` URL)."""
    @functools.wraps(command)
    def run(*args, **kwargs):
        from sqlalchemy.exc import DBAPIError

        from warehouse.engine import URL_ENV
        from warehouse.locks import SetupBusy

        try:
            return command(*args, **kwargs)
        except SetupBusy as exc:
            errors.print(f"[red]Lỗi:[/red] {escape(str(exc))}", soft_wrap=True, highlight=False)
            raise typer.Exit(1) from None
        except DBAPIError as exc:
            orig = exc.orig
            if getattr(orig, "sqlstate", None) not in READ_ONLY_SQLSTATES and "readonly database" not in str(orig):
                raise
            errors.print(
                "[red]Lỗi:[/red] kho dữ liệu không cho ghi với địa chỉ hoặc tài khoản đang dùng "
                f"({escape(str(orig).splitlines()[0])}). Lệnh này cần quyền ghi: hãy dùng địa chỉ kho của p135 "
                f"(${URL_ENV}), không dùng tài khoản hay địa chỉ chỉ đọc của người phân tích.",
                soft_wrap=True, highlight=False,
            )
            raise typer.Exit(1) from None

    return run


def _warehouse(data: Path, year: int | None = None, read_only_ok: bool = False):
    """The warehouse, migrated and with the programmes and units loaded: plain functions, no Prefect
    run. Refuses (one line, exit 1) when the programme of `year` contradicts the warehouse. With
    `read_only_ok`, a login that may only read gets the warehouse as it is, and a note when the
    files have changed since p135 last loaded them."""
    from sqlalchemy.exc import DBAPIError

    from reporting.units import RegistryError
    from tasks.prepare import ProgrammeRefused, bring_up_to_date
    from warehouse.engine import engine_for

    try:
        bring_up_to_date(data, year=year)
    except DBAPIError as exc:
        if not read_only_ok or getattr(exc.orig, "sqlstate", None) not in READ_ONLY_SQLSTATES:
            raise
        errors.print(
            "Lưu ý: tệp chương trình báo cáo hoặc danh sách đơn vị đã thay đổi từ lần p135 nạp gần nhất, mà tài "
            "khoản này chỉ được đọc kho: số liệu dưới đây theo kho như hiện có (lệnh thu nhận hay công bố kế tiếp "
            "sẽ nạp các tệp mới).", soft_wrap=True, highlight=False)
    except ProgrammeRefused as exc:
        raise _fail(f"tệp chương trình báo cáo năm {year} không dùng được: {exc}.") from None
    except RegistryError as exc:
        # Readable alone, it contradicts the warehouse (a unit with reports dropped or ended early):
        # told as the registry's other mistakes are, naming the file.
        errors.print(f"[red]Lỗi cấu hình:[/red] {escape(registry_problem_vi(exc))}.", soft_wrap=True, highlight=False)
        raise typer.Exit(2) from None
    return engine_for(data)


# A name (of who approves, reopens, extends) is one line of readable text, as it is shown in
# letters and feedback; longer than this it is not a name.
NAME_MAX_CHARS = 200


def _one_line(given: str, what: str) -> str:
    """`given` as one line: control characters dropped, runs of white space (newlines too) one space."""
    text = " ".join("".join(c for c in given if c.isprintable() or c.isspace()).split())
    if len(text) > NAME_MAX_CHARS:
        raise _fail(f"{what} quá dài ({len(text)} ký tự, tối đa {NAME_MAX_CHARS}).")
    return text


def _actor(given: str | None) -> str:
    if given and given.strip():
        return _one_line(given, "tên người thực hiện (--by)")
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "(không rõ)"


# --- Running a flow with a progress bar per stage -----------------------------------------------

class _StageBars:
    """Follows a run's stages (tasks.progress) as rich progress bars."""

    def __init__(self, progress):
        from tasks.progress import COLLECT_STAGES

        self.progress, self.labels, self.ids = progress, COLLECT_STAGES, {}

    def stage_expected(self, stage: str, total: int) -> None:
        if stage in self.ids:
            # Expected again once known better (a collect's new files, after the archive): same count done.
            self.progress.update(self.ids[stage], total=total)
        else:
            self.ids[stage] = self.progress.add_task(self.labels.get(stage, stage), total=total)

    def stage_advanced(self, stage: str, done: int) -> None:
        if stage in self.ids:
            self.progress.advance(self.ids[stage], done)


def stage_progress(out: Console):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(), TextColumn("tệp"),
        TimeElapsedColumn(), console=out, transient=True, disable=not out.is_terminal,
    )


def _run(flow_fn, **params):
    """Run a flow with a bar per stage; a failed run prints its message and exits 1."""
    from tasks.progress import listening

    _quiet_console()
    try:
        with stage_progress(errors) as progress, listening(_StageBars(progress)):
            state = flow_fn(**params, return_state=True)
    except RuntimeError as exc:
        if "ephemeral Prefect API server" not in str(exc):
            raise
        # The temporary server did not answer in time: nothing ran, nothing was written, and the
        # server Prefect leaves starting is stopped with the command.
        from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

        from tasks.leftover_servers import stop_own_servers

        stop_own_servers()

        raise _fail(
            f"máy chủ Prefect tạm không khởi động xong trong {PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()} "
            "giây (máy có thể đang quá tải); chưa có gì được chạy. Hãy chạy lại lệnh, hoặc đặt "
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS lớn hơn.", 1) from None
    if not state.is_completed():
        if _from_termination(_exception_of(state)):
            # Prefect's own handler caught the SIGTERM and the run failed of it, before ours ran.
            raise _stop()
        message = state.message or ""
        if message.startswith("Flow run encountered an exception"):
            message = "lần chạy không thành công: " + message.split(": ", 1)[-1]
        raise _fail(message, 1)
    return state.result()


# --- What the commands print --------------------------------------------------------------------

# New files listed one per line; a national quarter's tens of thousands are counted instead (every
# rejected file is still listed below with its first finding).
FILES_LISTED = 500


def _name_shown(name: str) -> str:
    """A file name as one line of the output: a line break or another control character in it is
    shown escaped (\\x0a), so a script reads one line per file."""
    return name if name.isprintable() else "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in name)


def _print_collect(summary: dict, per_file: bool = True) -> None:
    from reporting.findings import STATUS_VI
    from reporting.periods import Period
    from reporting.vn_format import vn_number
    from tasks.artifacts import REFUSED_VI, counts_line, renamed_text_vi

    console.print(counts_line(summary), soft_wrap=True, markup=False, highlight=False)
    # What became of each new file, then each inbox entry refused unread: one print for all (a
    # print a line took 3 s for 60,000 files).
    files = summary.get("files", []) if per_file else []
    lines = []
    for f in files[:FILES_LISTED]:
        counts = ", ".join(
            f"{n} {word}" for n, word in ((f["errors"], "lỗi"), (f["warnings"], "cảnh báo")) if n
        )
        current = " (bản hiện hành)" if f["status"] in ("accepted", "accepted_with_warnings") else ""
        lines.append(f"  {_name_shown(f['file'])} ({f['unit_code'] or 'không rõ đơn vị'}): "
                     f"{STATUS_VI.get(f['status'], f['status'])}{current}{' - ' + counts if counts else ''}")
    if len(files) > FILES_LISTED:
        lines.append(
            f"  ... và {vn_number(len(files) - FILES_LISTED, 0)} tệp mới khác: danh sách đầy đủ trong bảng "
            f"collect-{summary['period'].replace('-Q', '-q')} của lượt chạy (Prefect) và view v_submission_status."
        )
    if summary.get("refusals"):
        lines.append(f"{len(summary['refusals'])} mục trong hộp thư bị từ chối, không thu nhận (không tính vào số tệp ở trên):")
    for refused in summary.get("refusals", []):
        lines.append(f"  {_name_shown(refused['name'])}: {REFUSED_VI} - {refused['reason']}")
    if renamed := summary.get("renamed_known"):
        lines.append(f"{summary.get('renamed_known_count', len(renamed))} tệp trùng nội dung với tệp đã nhận trước "
                     "đó nhưng mang tên khác, không kiểm tra lại (muốn gửi lại thì mở tệp, lưu lại rồi gửi):")
        for r in renamed:
            lines.append(f"  {_name_shown(r['name'])}: {_name_shown(renamed_text_vi(r))}")
        if summary.get("renamed_known_count", 0) > len(renamed):
            lines.append(f"  ... và {summary['renamed_known_count'] - len(renamed)} tệp khác.")
    if lines:
        console.print("\n".join(lines), soft_wrap=True, highlight=False, markup=False)
    label = Period(*map(int, summary["period"].split("-Q"))).label_vi
    if not summary["files_new"]:
        console.print("Không có tệp mới.", highlight=False)
    if states := summary.get("unit_states"):
        # Where the quarter stands after the run, earlier runs' decisions included (a run after one
        # that was stopped shows what that run decided).
        year, quarter = summary["period"].split("-Q")
        parts = [f"{states.get('on_time', 0) + states.get('late', 0)} đơn vị có báo cáo được chấp nhận",
                 f"{states.get('rejected', 0)} bị từ chối", f"{states.get('missing', 0)} chưa nộp"]
        if states.get("held"):
            parts.append(f"{states['held']} đang tạm giữ")
        console.print(f"Cả {label}: {', '.join(parts)} (chi tiết: p135 status --year {year} --quarter {quarter}).",
                      soft_wrap=True, highlight=False, markup=False)
    if summary.get("released"):
        console.print(f"{summary['released']} tệp tạm giữ đã được đưa vào số liệu ({label} đã mở lại).", highlight=False)
    if summary.get("held"):
        console.print(
            f"{summary['held']} tệp đạt kiểm tra được tạm giữ, chưa đưa vào số liệu: {label} đã được phê duyệt "
            "(khóa sổ). Mở lại bằng p135 reopen nếu cần.", soft_wrap=True, highlight=False,
        )
    rejected = summary.get("rejected_files") or []
    if rejected:
        # A unit whose corrected file passed needs nothing more; say so beside its code.
        from tasks.artifacts import NOT_DUE, NOT_DUE_VI

        passed = {"on_time": "đã có bản được chấp nhận", "late": "đã có bản được chấp nhận",
                  "held": "đã có bản đạt, đang tạm giữ", NOT_DUE: NOT_DUE_VI}
        units = sorted({(r["unit_code"] or "(không rõ đơn vị)", passed.get(r.get("unit_state"), "")) for r in rejected})
        names = ", ".join(f"{code} ({note})" if note else code for code, note in units[:FILES_LISTED])
        more = f" ... và {vn_number(len(units) - FILES_LISTED, 0)} đơn vị khác" if len(units) > FILES_LISTED else ""
        console.print(f"Đơn vị bị từ chối ({len(units)}): {names}{more}", soft_wrap=True, highlight=False, markup=False)
        # A national quarter rejects a thousand files or more: the first ones here, all of them in p135 status.
        shown = [f"  {r['unit_code'] or '(không rõ đơn vị)'} – {_name_shown(r['file'])}: {r['finding']}"
                 for r in rejected[:FILES_LISTED]]
        if len(rejected) > FILES_LISTED:
            year, quarter = summary["period"].split("-Q")
            shown.append(f"  ... và {vn_number(len(rejected) - FILES_LISTED, 0)} tệp bị từ chối khác: xem p135 status "
                         f"--year {year} --quarter {quarter}, các tệp phản hồi hoặc view v_submission_status.")
        console.print("\n".join(shown), soft_wrap=True, highlight=False, markup=False)
    if rejected or summary.get("held"):
        console.print(f"Phản hồi cho từng đơn vị: {summary['feedback_dir']}/", soft_wrap=True, highlight=False, markup=False)


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
    from reporting.periods import Period

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
    if result.get("unapproved"):
        console.print(
            f"Bản DỰ THẢO: chưa phê duyệt {', '.join(result['unapproved'])} "
            f"(phê duyệt: p135 approve --year {result['year']} --quarter N --by TÊN).", soft_wrap=True, highlight=False,
        )
    if result.get("coverage_note"):
        console.print(f"[yellow]Lưu ý:[/yellow] {escape(result['coverage_note'])}", soft_wrap=True, highlight=False)
    reopened = {Period(result["year"], q).label_vi: q for q in result.get("held_reopened") or ()}
    if locked := {label: n for label, n in (result.get("held") or {}).items() if label not in reopened}:
        held = ", ".join(f"{label} ({n} tệp)" for label, n in locked.items())
        console.print(
            f"[yellow]Lưu ý:[/yellow] tệp đang tạm giữ (gửi đến sau khi kỳ đã phê duyệt) chưa được đưa vào số liệu: {held}. "
            f"Nếu cần đưa vào, hãy mở lại kỳ (p135 reopen --year {result['year']} --quarter N --reason ...), "
            "thu nhận lại rồi công bố lại.", soft_wrap=True, highlight=False,
        )
    for label, quarter in reopened.items():
        console.print(
            f"[yellow]Lưu ý:[/yellow] {label} đã mở lại nhưng {result['held'][label]} tệp tạm giữ chưa được đưa vào số "
            f"liệu của bản này: sẽ được đưa vào ở lần thu nhận tới (p135 collect --year {result['year']} --quarter "
            f"{quarter}); thu nhận rồi công bố lại.", soft_wrap=True, highlight=False,
        )


def _print_completeness(c, programme, approval) -> None:
    import pandas as pd

    from tasks.completeness import COLUMNS_VI, STATE_VI, deadline_vi, table_rows, unit_lines

    state = {"approved": f"đã phê duyệt bởi {approval.approved_by}", "reopened": f"đã mở lại ({approval.reopen_reason})",
             "open": "chưa phê duyệt"}[approval.state] if approval else "chưa phê duyệt"
    console.print(f"{c.period.label_vi}: hạn nộp {deadline_vi(programme, c.period)}; kỳ báo cáo {state}.",
                  soft_wrap=True, highlight=False, markup=False)
    extended = c.units[c.units["is_extended"].astype(bool)] if "is_extended" in c.units else c.units.iloc[0:0]
    if len(extended):
        # Who has a later deadline than the quarter's: their on-time count follows it.
        days = [f"{r['unit_code']} đến {pd.Timestamp(r['deadline']):%d/%m/%Y}"
                for r in extended.sort_values("unit_code").to_dict("records")]
        console.print(f"Được gia hạn nộp ({len(days)}): {', '.join(days)}.", soft_wrap=True, highlight=False, markup=False)
    for key in ("missing", "rejected", "held", "late"):
        found = unit_lines(c, key)
        if found:
            console.print(f"{STATE_VI[key]} ({len(found)}):", highlight=False)
            # Late units need no action now: a few of them, then how many more.
            shown = found if key != "late" or len(found) <= LATE_SHOWN else found[:LATE_SHOWN]
            for line in shown:
                console.print(f"  {line}", soft_wrap=True, highlight=False, markup=False)
            if len(shown) < len(found):
                console.print(f"  … và {len(found) - len(shown)} đơn vị khác (xem v_unit_completeness)", highlight=False)
    table = Table(title=f"Tình hình nộp báo cáo {c.period.label_vi}")
    for n, name in enumerate(COLUMNS_VI):
        table.add_column(name, justify="left" if n == 0 else "right", no_wrap=True)
    rows = table_rows(c, programme)
    for n, row in enumerate(rows):
        table.add_row(*row, style="bold" if n == len(rows) - 1 else None)
    console.print(table)


# --- Commands that run a flow -------------------------------------------------------------------

@app.command()
def templates(
    year: YearNow = None,
    quarter: QuarterNow = None,
    out: Annotated[Optional[Path], typer.Option(help="Thư mục ghi; mặc định: <data-dir>/templates/<năm>-Q<quý>/.", show_default=False)] = None,
    data_dir: DataDir = None,
    verbose: Verbose = False,
) -> None:
    """Viết cho mỗi đơn vị một tệp mẫu báo cáo đã điền sẵn (mặc định: quý đang diễn ra)."""
    period = _period(year, quarter, current=True)
    _programme(period.year)
    _registry()
    data = _prepare(data_dir, verbose)
    if out is not None:
        from tasks.preflight import SettingError, check_output_dir

        try:
            check_output_dir(out, "--out")
        except SettingError as exc:
            raise _fail(str(exc)) from None
    with _server_starting():
        from flows.templates import hand_out_templates

    paths = _run(hand_out_templates, year=period.year, quarter=period.quarter,
                 out_dir=str(out) if out else None, data_dir=str(data))
    where = Path(paths[0]).parent if paths else out
    console.print(f"{len(paths)} tệp mẫu {period.label_vi} trong {where}", soft_wrap=True, highlight=False)


@app.command()
def collect(
    year: Year = None,
    quarter: Quarter = None,
    inbox: Annotated[Optional[Path], typer.Option(help="Thư mục nhận báo cáo; mặc định: <data-dir>/inbox/<năm>-Q<quý>/.", show_default=False)] = None,
    data_dir: DataDir = None,
    lock_wait: Annotated[int, typer.Option(
        "--lock-wait", min=0, metavar="GIÂY",
        help="Số giây tối đa chờ khi một lượt khác đang thu thập cùng quý (0: không chờ).",
    )] = 600,
    verbose: Verbose = False,
) -> None:
    """Lưu trữ, kiểm tra và nạp các tệp báo cáo của một quý (mặc định: quý vừa kết thúc).

    Dòng đầu tiên là tóm tắt (dạng cố định cho các script đọc); sau đó là các đơn vị bị từ chối và
    nơi để phản hồi. Mã thoát 0: lần chạy hoàn tất (kể cả khi có tệp bị từ chối); 1: lần chạy không
    thành công (ví dụ không có thư mục nhận báo cáo); 2: tham số hoặc cấu hình sai.
    """
    period = _period(year, quarter)
    _programme(period.year)
    _registry()
    data = _prepare(data_dir, verbose)
    _cluster()
    with _server_starting():
        from flows.collect import collect_quarter

    summary = _run(collect_quarter, year=period.year, quarter=period.quarter,
                   inbox=str(inbox) if inbox else None, data_dir=str(data), lock_wait_seconds=lock_wait)
    _print_collect(summary)


@app.command()
def publish(
    year: Annotated[Optional[int], typer.Option(min=YEAR_MIN, max=YEAR_MAX, help="Năm; mặc định: năm của quý vừa kết thúc.", show_default=False)] = None,
    reissue: Annotated[bool, typer.Option(
        "--reissue", help="Phát hành lại bản chính thức đã gửi khi căn cứ lập báo cáo đã thay đổi (tệp chương trình, "
                          "danh sách đơn vị, số liệu chính thức năm trước); không có tùy chọn này thì chỉ báo thay đổi.")] = False,
    date: Annotated[Optional[str], typer.Option(
        "--date", help="Ngày ghi trên văn bản (ngày ký), ví dụ 20/01/2024; mặc định: ngày lập. Chỉ dùng khi lập phiên bản mới.",
        show_default=False)] = None,
    data_dir: DataDir = None,
    verbose: Verbose = False,
) -> None:
    """Công bố báo cáo kết quả năm và in bảng kết quả chính (bản DỰ THẢO khi còn quý chưa phê duyệt)."""
    year = year or _period(None, None).year
    document_date = _parse_day(date) if date is not None else None
    if document_date is not None and document_date < dt.date(year, 1, 1):
        raise _fail(f"ngày văn bản {document_date:%d/%m/%Y} ở trước năm {year}: hãy cho ngày ký báo cáo (--date).")
    _registry()
    if _programme(year).publication is None:
        raise _fail(f"tệp chương trình năm {year} chưa có mục [publication] (cơ quan ban hành, số, nơi ban hành, "
                    "người ký, nơi nhận) nên chưa lập được báo cáo.")
    data = _prepare(data_dir, verbose)
    with _server_starting():
        from flows.publish import publish_year

    result = _run(publish_year, year=year, data_dir=str(data), ask_approval=False, reissue=reissue,
                  document_date=document_date)
    if not result["headline"]:
        raise _fail(f"chưa có báo cáo nào được chấp nhận trong năm {year}; chưa công bố gì.", 1)
    _print_headline(result)


@app.command()
def explain(
    metric: Annotated[str, typer.Argument(metavar="MÃ_CHỈ_TIÊU", help="Mã chỉ tiêu của bảng kết quả chính, ví dụ revenue_bn_vnd.")],
    year: Annotated[Optional[int], typer.Option(min=YEAR_MIN, max=YEAR_MAX, help="Năm báo cáo (mặc định: năm của quý vừa kết thúc).")] = None,
    csv_file: Annotated[Optional[Path], typer.Option("--csv", help="Ghi các dòng ra tệp CSV (dấu chấm thập phân, không có dòng tổng).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Truy nguồn một số liệu của bảng kết quả chính: đơn vị, quý, lần nộp, tệp, giá trị và phần đóng góp."""
    from rich.markup import escape
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from reporting.periods import period_just_ended
    from reporting.vn_format import vn_number
    from warehouse.engine import engine_for, sqlite_file, warehouse_url
    from warehouse.explain import UnknownMetric
    from warehouse.explain import explain as explain_metric

    data = data_dir or Path("data")
    year = year or period_just_ended().year
    if csv_file is not None and (csv_file.is_dir() or not (csv_file.parent if str(csv_file.parent) else Path(".")).is_dir()):
        what = "đường dẫn là một thư mục, không phải tệp" if csv_file.is_dir() else "thư mục chứa tệp không tồn tại"
        errors.print(f"[red]Lỗi:[/red] không ghi được tệp {escape(str(csv_file))}: {what}.", soft_wrap=True)
        raise typer.Exit(1)
    url = make_url(warehouse_url(data))
    if (path := sqlite_file(url)) is not None and not path.is_file():
        errors.print(f"[red]Lỗi:[/red] chưa có kho dữ liệu tại {escape(str(path))}: hãy chạy p135 collect (hoặc p135 demo) trước.", soft_wrap=True)
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

    if not found.rows:
        # A total of nothing (a mean of no rows above all) is not a figure the report could match.
        errors.print(f"[red]Lỗi:[/red] chưa có báo cáo được chấp nhận nào của năm {year} góp vào chỉ tiêu "
                     f"{escape(metric)}: chưa có số liệu để truy nguồn.", soft_wrap=True)
        raise typer.Exit(1)
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
        "latest": "lấy quý gần nhất của mỗi đơn vị còn tồn tại đến cuối năm (các quý trước đóng góp 0)",
        "weighted_mean": "bình quân gia quyền: giá trị × trọng số / tổng trọng số",
    }[found.kind]
    units = len({r.unit_code for r in found.rows})
    console.print(f"Cách tính: {rule}; {len(found.rows)} dòng của {units} đơn vị.", soft_wrap=True)
    if found.kind == "latest" and (ended := {r.unit_code: r.ended_on for r in found.rows if r.ended_on}):
        listed = ", ".join(f"{code} (đến {day:%d/%m/%Y})" for code, day in sorted(ended.items()))
        console.print(f"Không tính vào số cuối năm các đơn vị đã giải thể trong năm, không sáp nhập vào đơn vị nào: "
                      f"{listed}.", soft_wrap=True, highlight=False)
    view = "không có" if found.view_value is None else f"{vn_number(found.view_value, found.display_decimals)} {found.unit_vi}"
    # A sum or a latest value has no more decimals than its values; a weighted mean shows three.
    total_places = {"task_count": 0, "sum": places, "latest": places}.get(found.kind, max(places, 3))
    total = f"Tổng: {vn_number(found.total, total_places)} {found.unit_vi}"
    if found.matches_view:
        console.print(f"{total}, bằng số liệu của báo cáo (v_year_end_programme135): {view}.", soft_wrap=True)
    else:
        console.print(f"[yellow]{total}, khác số liệu của báo cáo (v_year_end_programme135): {view}.[/yellow]", soft_wrap=True)
    if published := _published_figure(engine_for(data), year, metric, found):
        console.print(published, soft_wrap=True, highlight=False)
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
            from tasks.preflight import os_reason

            reason = "thư mục chứa tệp không tồn tại" if isinstance(exc, FileNotFoundError) else os_reason(exc)
            errors.print(f"[red]Lỗi:[/red] không ghi được tệp {escape(str(csv_file))}: {escape(reason)}.", soft_wrap=True)
            raise typer.Exit(1) from exc
        console.print(f"Đã ghi {len(found.rows)} dòng vào {escape(str(csv_file))}.", soft_wrap=True)


def _published_figure(engine, year: int, metric: str, found) -> str | None:
    """How the figure traced compares with the latest published version's (None if none was published).

    The trace reads the warehouse as it is now; the report people hold is the version published."""
    from reporting.periods import LOCAL_TZ
    from reporting.vn_format import dated_vi, round_half_up, vn_number
    from warehouse.publications import latest_publication

    latest = latest_publication(engine, year)
    figure = next((f for f in latest.figures if f["metric_code"] == metric), None) if latest else None
    if figure is None:
        return None
    places = figure["display_decimals"]
    then = None if figure["value"] is None else round_half_up(figure["value"], places)
    now = None if found.view_value is None else round_half_up(found.view_value, places)
    shown = "không có" if then is None else f"{vn_number(then, places)} {figure['display_unit_vi']}"
    version = f"phiên bản {latest.version}, {dated_vi(latest.published_at.astimezone(LOCAL_TZ).date(), latest.document_date)}"
    if then == now:
        return f"Bản công bố mới nhất ({version}) ghi cùng số liệu: {shown}."
    return (f"[yellow]Bản công bố mới nhất ({version}) ghi {shown}: số liệu đã thay đổi sau lần công bố đó; "
            f"hãy chạy p135 publish --year {year} để lập phiên bản mới.[/yellow]")


def _plain(value: object) -> object:
    """A float with a dot and no binary noise (0.30000000000000004 -> 0.3)."""
    if isinstance(value, float):
        return format(round(value, 10), ".10f").rstrip("0").rstrip(".") if value == value else ""
    return value


@app.command()
def demo(
    year: Annotated[int, typer.Option(min=YEAR_MIN, max=YEAR_MAX, help="Năm trình diễn (phải có tệp chương trình).")] = 2023,
    data_dir: DataDir = None,
    verbose: Verbose = False,
) -> None:
    """Trình diễn cả năm: điền bốn quý của Khối mẫu, thu nhận từng quý và công bố kết quả năm."""
    _programme(year)
    _registry()
    data = _prepare(data_dir, verbose)
    with _server_starting():
        from flows.demo import demo_year

    result = _run(demo_year, year=year, data_dir=str(data))
    for summary in result["collected"]:
        _print_collect(summary, per_file=False)
    _print_headline(result)


@app.command()
def remind(
    year: Year = None,
    quarter: Quarter = None,
    notify: Annotated[Optional[str], typer.Option(help="Khối thông báo Prefect, dạng <loại>/<tên>; mặc định: $P135_NOTIFY_BLOCK.", show_default=False)] = None,
    data_dir: DataDir = None,
    verbose: Verbose = False,
) -> None:
    """Viết thư nhắc cho các đơn vị chưa có báo cáo được chấp nhận (mặc định: quý vừa kết thúc)."""
    from tasks.notify import block_ref_problem, notification_block_ref

    period = _period(year, quarter)
    _programme(period.year)
    _registry()
    if notify is not None and (problem := block_ref_problem(notify, "--notify")):
        raise _fail(problem)
    data = _prepare(data_dir, verbose)
    with _server_starting():
        from flows.remind import remind_missing

    result = _run(remind_missing, year=period.year, quarter=period.quarter, data_dir=str(data), notify_block=notify)
    if result["closed"]:
        from tasks.reminders import closed_quarter_vi

        console.print(closed_quarter_vi(period, len(result["missing"]), len(result["rejected"]),
                                        result.get("removed", 0), result["folder"]),
                      soft_wrap=True, highlight=False, markup=False)
        return
    console.print(
        f"{period.label_vi}: {result['reminders']} thư nhắc trong {result['folder']}/ "
        f"({len(result['missing'])} đơn vị chưa nộp, {len(result['rejected'])} bị từ chối)"
        + ("; đã gửi thông báo cho tổ vận hành." if result["notified"] else "."),
        soft_wrap=True, highlight=False, markup=False,
    )
    block = notification_block_ref(notify)
    if block and not result["notified"]:
        raise _fail(f"không gửi được thông báo qua khối {block} (khối chưa được tạo, hoặc dịch vụ nhận không trả lời; "
                    "xem nhật ký của lần chạy). Phần thư nhắc ở trên không bị ảnh hưởng.", 1)


@app.command()
def bench(
    units: Annotated[int, typer.Option("--units", min=1, max=999_999, help="Số đơn vị (mỗi đơn vị một tệp báo cáo quý).")] = 1000,
    warehouse: Annotated[Optional[str], typer.Option(
        "--warehouse", metavar="URL",
        help="Máy chủ kho dữ liệu để đo (PostgreSQL: tạo một cơ sở dữ liệu mới rồi xóa khi xong); mặc định: SQLite mới trong thư mục tạm.",
        show_default=False)] = None,
    keep: Annotated[Optional[Path], typer.Option(
        "--keep", metavar="DIR",
        help="Giữ quý đã tạo trong DIR (DIR/inbox/<năm>-Q<quý>/ và DIR/programmes/) để chạy lại p135 collect bằng tay.",
        show_default=False)] = None,
    verbose: Verbose = False,
) -> None:
    """Đo hiệu năng thu nhận và công bố trên N đơn vị, rồi in một bảng kết quả.

    Tạo tệp báo cáo quý của N đơn vị (có tỉ lệ lỗi và cảnh báo thực tế), thu nhận bằng luồng collect
    thật trên kho mới, thu nhận lại quý không đổi, công bố năm, rồi in một bảng: thời gian và tốc độ
    từng giai đoạn, đỉnh bộ nhớ, và tốc độ so với đọc thô cùng các tệp.
    """
    import shutil
    import tempfile

    from tasks import bench as measure

    _programme(measure.BENCH_YEAR)
    _registry()
    if keep is not None and keep.exists() and (not keep.is_dir() or any(keep.iterdir())):
        raise _fail(f"thư mục {keep} đã có nội dung: --keep cần một thư mục mới hoặc trống.")
    scratch = Path(tempfile.mkdtemp(prefix="p135-bench-"))
    # Registered before the Prefect temporary server starts, so it runs after the server stops.
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    data = scratch / "data"
    try:
        url, drop = measure.fresh_warehouse(warehouse, data)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    except Exception as exc:  # the server refused: say so in one line
        raise _fail(f"không tạo được cơ sở dữ liệu mới trên máy chủ kho: {type(exc).__name__}: {exc}") from None
    os.environ["P135_WAREHOUSE_URL"] = url
    # A bench often runs on a busy machine: give Prefect's temporary server time to start (the
    # table shows how long it took).
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    try:
        data = _prepare(data, verbose)
        root = (keep or scratch / "quarter").resolve()
        from flows.collect import collect_quarter
        from flows.publish import publish_year

        def start_prefect() -> None:
            from prefect.client.orchestration import get_client

            try:
                with get_client(sync_client=True) as client:
                    client.hello()
            except RuntimeError as exc:
                raise _fail(f"máy chủ Prefect tạm thời không khởi động được: {exc}", 1) from None

        period_args = {"year": measure.BENCH_YEAR, "quarter": measure.BENCH_QUARTER, "data_dir": str(data)}
        report = measure.run(
            units, root, data, "PostgreSQL" if url.startswith("postgresql") else "SQLite",
            start_prefect=start_prefect,
            collect=lambda inbox: _run(collect_quarter, inbox=str(inbox), **period_args),
            publish=lambda: _run(publish_year, year=measure.BENCH_YEAR, data_dir=str(data), ask_approval=False),
            say=lambda line: errors.print(line, highlight=False, markup=False),
        )
    finally:
        drop()
    console.print(measure.bench_table(report, measure.machine_vi()))
    if keep is not None:
        q = report.quarter
        console.print(
            f"Quý đã tạo được giữ trong {keep}. Chạy lại bằng tay trên kho mới:\n"
            f"  P135_PROGRAMMES_DIR={q.programmes} p135 collect --year {q.period.year} --quarter {q.period.quarter} "
            f"--inbox {q.inbox} --data-dir <thư mục mới>",
            soft_wrap=True, highlight=False, markup=False,
        )


# --- Commands that start no Prefect server ------------------------------------------------------

@app.command()
def check(
    files: Annotated[list[Path], typer.Argument(metavar="TỆP", help="Các tệp cần kiểm tra (tên và đuôi tệp bất kỳ).", show_default=False)],
    year: YearOfFile = None,
    quarter: QuarterOfFile = None,
    data_dir: DataDir = None,
) -> None:
    """Kiểm tra tệp trước khi gửi: cùng quy tắc và lời nhắn như khi thu nhận, không ghi gì.

    Năm và quý lấy từ từng tệp, trừ khi cho --year và --quarter; các quý trước được đọc (chỉ đọc)
    từ kho dữ liệu nếu có. Mã thoát 0: mọi tệp được chấp nhận (có thể có cảnh báo); 1: có tệp bị
    từ chối; 2: dùng lệnh sai.
    """
    if (year is None) != (quarter is None):
        raise _fail("hãy cho cả --year và --quarter, hoặc không cho cả hai.")
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise _fail(f"không phải là tệp hoặc không tồn tại: {', '.join(str(f) for f in missing)}")
    data = data_dir or Path("data")
    if os.environ.get("P135_WAREHOUSE_URL") is not None:
        from tasks.preflight import SettingError, check_warehouse

        try:
            check_warehouse(data, writes=False)
        except SettingError as exc:
            raise _fail(str(exc)) from None
    _registry()
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    _quiet_prefect(False)
    from reporting.findings import ERROR, STATUS_VI
    from tasks.local_check import check_files

    report = check_files(files, data, year, quarter)
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


@app.command()
@_warehouse_errors
def status(
    year: Year = None,
    quarter: Quarter = None,
    data_dir: DataDir = None,
) -> None:
    """Tình hình nộp báo cáo của một quý (mặc định: quý vừa kết thúc).

    Đơn vị chưa nộp và bị từ chối in trước, rồi bảng theo khối với tỷ lệ nộp và tỷ lệ đúng hạn.
    """
    period = _period(year, quarter)
    programme = _programme(period.year)
    _registry()
    data = _prepare(data_dir, read_only_ok=True)
    from tasks.completeness import read_completeness
    from warehouse.approval import approval_of
    from warehouse.completeness import held_corrections

    engine = _warehouse(data, period.year, read_only_ok=True)
    completeness = read_completeness(data, period)
    _print_completeness(completeness, programme, approval_of(engine, period.year, period.quarter))
    _print_unattributed(completeness)
    _print_misnamed(completeness)
    _print_refused(completeness)
    _print_not_due(completeness)
    held = held_corrections(engine, period.year, period.quarter)
    if held:
        # Not a state of its own (the accepted report still counts) but a decision waiting: reopen or not.
        console.print(f"Bản sửa đang tạm giữ của đơn vị đã có báo cáo được chấp nhận ({len(held)}), chờ mở lại kỳ:",
                      highlight=False)
        for h in held:
            console.print(f"  {h['unit_code']}: tệp {h['original_name']}", soft_wrap=True, highlight=False, markup=False)


def _print_unattributed(completeness) -> None:
    """Files counted for no unit, and the units not reported whose code their names carry: the ops
    team calls those units rather than remind them that nothing came."""
    files = completeness.unattributed
    _print_named_files(completeness, files, f"Tệp không xác định được đơn vị ({len(files)}), không được tính cho đơn "
                       "vị nào:", "tệp nữa (xem v_submission_status).")


def _print_refused(completeness) -> None:
    """Inbox entries refused unread by the latest run, and the units not reported whose code their
    names carry: the unit sent something, and is told what became of it."""
    entries = completeness.refused
    _print_named_files(completeness, entries, f"Mục trong hộp thư bị từ chối, không thu nhận ({len(entries)}):",
                       "mục nữa (xem bảng inbox_refusal).")


def _print_not_due(completeness) -> None:
    """Files from units not due this quarter (merged, dissolved): in no unit's state, so told here."""
    files = completeness.not_due
    if not files:
        return
    console.print(f"Tệp của đơn vị không phải báo cáo riêng {completeness.period.label_vi} ({len(files)}), không được "
                  "tính cho đơn vị nào:", highlight=False)
    for f in files[:FILES_LISTED]:
        console.print(f"  {f['unit_code']} – {f['unit_name'] or ''}: tệp {f['original_name']}: {f['first_error'] or ''}",
                      soft_wrap=True, highlight=False, markup=False)
    if len(files) > FILES_LISTED:
        console.print(f"  ... và {len(files) - FILES_LISTED} tệp nữa (xem v_submission_status).", highlight=False)


def _print_named_files(completeness, files: list[dict], heading: str, more: str) -> None:
    """Files counted for no unit under `heading`, each with its first error and the units not
    reported whose code its name carries."""
    if not files:
        return
    not_reported = completeness.units.loc[completeness.units["state"] == "missing", "unit_code"].tolist()
    console.print(heading, highlight=False)
    for f in files[:FILES_LISTED]:
        named = [code for code in not_reported if f in completeness.files_named_for(code)]
        hint = f" [tên tệp mang mã {', '.join(named)}, đơn vị đó đang ở mục Chưa nộp]" if named else ""
        name = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in f["original_name"])
        console.print(f"  {name}{hint}: {f['first_error'] or ''}", soft_wrap=True, highlight=False, markup=False)
    if len(files) > FILES_LISTED:
        console.print(f"  ... và {len(files) - FILES_LISTED} {more}", highlight=False)


def _print_misnamed(completeness) -> None:
    """Files refused for a name carrying another unit's code than their template's: the unit named
    may be the sender, still not reported, whom the ops team calls."""
    files = completeness.misnamed
    if not files:
        return
    not_reported = completeness.units.loc[completeness.units["state"] == "missing", "unit_code"].tolist()
    console.print(f"Tệp mang mã của đơn vị khác với mẫu báo cáo ({len(files)}), đã bị từ chối, số liệu không được "
                  "tính cho đơn vị nào:", highlight=False)
    for f in files[:FILES_LISTED]:
        named = [code for code in not_reported if f in completeness.files_named_for(code)]
        hint = f"; {', '.join(named)} đang ở mục Chưa nộp" if named else ""
        console.print(f"  {f['original_name']} [mẫu của {f['template_unit_code']}{hint}]", soft_wrap=True,
                      highlight=False, markup=False)
    if len(files) > FILES_LISTED:
        console.print(f"  ... và {len(files) - FILES_LISTED} tệp nữa (xem v_validation_findings).", highlight=False)


@app.command()
@_warehouse_errors
def approve(
    year: YearNeeded = None,
    quarter: QuarterNeeded = None,
    by: Annotated[Optional[str], typer.Option("--by", help="Người phê duyệt (họ tên, chức vụ; bắt buộc).", show_default=False)] = None,
    note: Annotated[Optional[str], typer.Option(help="Ghi chú kèm phê duyệt.", show_default=False)] = None,
    data_dir: DataDir = None,
) -> None:
    """Phê duyệt (khóa sổ) số liệu một quý: tệp đến sau được lưu, kiểm tra, phản hồi nhưng chưa nạp."""
    period = _explicit_period(year, quarter)
    _programme(period.year)
    _registry()
    if not by or not by.strip():
        raise _fail("hãy ghi tên người phê duyệt: --by \"Họ tên\".")
    by = _one_line(by, "tên người phê duyệt (--by)")
    data = _prepare(data_dir)
    from sqlalchemy.engine import make_url

    from reporting.periods import LOCAL_TZ
    from tasks.approval import approve_quarter
    from warehouse.approval import approval_of, ever_collected
    from warehouse.engine import sqlite_file, warehouse_url

    url = make_url(warehouse_url(data))
    path = sqlite_file(url)
    # A mistyped --data-dir would otherwise approve the quarter in a new, empty warehouse.
    engine = None if path is not None and not path.is_file() else _warehouse(data, period.year)
    if engine is None or not ever_collected(engine):
        raise _fail(
            f"kho dữ liệu {url.render_as_string(hide_password=True)} chưa có lần thu nhận nào (kho mới, hoặc nhầm "
            f"thư mục dữ liệu): không phê duyệt {period.label_vi}. Hãy kiểm tra --data-dir (hoặc P135_WAREHOUSE_URL).",
            1,
        )
    if approve_quarter(data, period, by, note):
        console.print(
            f"Đã phê duyệt {period.label_vi} (người phê duyệt: {by}). Từ nay tệp mới của quý này được lưu, "
            "kiểm tra và phản hồi nhưng không đưa vào số liệu cho đến khi mở lại (p135 reopen).",
            soft_wrap=True, highlight=False, markup=False,
        )
        if shortfall := _approved_short(data, period):
            errors.print(f"[yellow]Lưu ý:[/yellow] {escape(shortfall)}", soft_wrap=True, highlight=False)
        return
    found = approval_of(engine, period.year, period.quarter)
    when = f" ngày {found.approved_at.astimezone(LOCAL_TZ):%d/%m/%Y %H:%M}" if found.approved_at else ""
    console.print(f"{period.label_vi} đã được phê duyệt trước đó bởi {found.approved_by}{when}; không thay đổi gì.",
                  soft_wrap=True, highlight=False, markup=False)


def _approved_short(data: Path, period) -> str | None:
    """What an approved quarter lacks: units in force whose report is not accepted (None when none)."""
    from tasks.completeness import read_completeness

    total = read_completeness(data, period).total()
    expected, accepted = total["expected"], total["accepted"]
    if accepted >= expected:
        return None
    counted = "chưa có đơn vị nào" if not accepted else f"mới có {accepted}/{expected} đơn vị"
    return (
        f"{counted} có báo cáo {period.label_vi} được chấp nhận ({total['missing']} chưa nộp, "
        f"{total['rejected']} bị từ chối). Báo cáo năm sẽ dùng số liệu quý này như đã chốt; nếu chưa đủ, "
        f"hãy mở lại (p135 reopen --year {period.year} --quarter {period.quarter} --reason ...), thu nhận tiếp "
        "rồi phê duyệt lại."
    )


@app.command()
@_warehouse_errors
def reopen(
    year: YearNeeded = None,
    quarter: QuarterNeeded = None,
    reason: Annotated[Optional[str], typer.Option(help="Lý do mở lại (bắt buộc).", show_default=False)] = None,
    by: Actor = None,
    data_dir: DataDir = None,
) -> None:
    """Mở lại một quý đã phê duyệt: lần thu nhận tới sẽ nạp các tệp đã tạm giữ."""
    period = _explicit_period(year, quarter)
    _programme(period.year)
    _registry()
    if not reason or not reason.strip():
        raise _fail("hãy ghi lý do mở lại: --reason \"...\".")
    data = _prepare(data_dir)
    from warehouse.approval import approval_of
    from warehouse.approval import reopen as reopen_quarter

    engine = _warehouse(data, period.year)
    if not reopen_quarter(engine, period.year, period.quarter, _actor(by), reason.strip()):
        console.print(f"{period.label_vi} đang mở (không ở trạng thái đã phê duyệt) nên không cần mở lại; không thay đổi gì.",
                      highlight=False)
        return
    held = approval_of(engine, period.year, period.quarter).held_files
    console.print(
        f"Đã mở lại {period.label_vi} (lý do: {reason.strip()}). "
        + (f"{held} tệp đang tạm giữ sẽ được đưa vào số liệu ở lần thu nhận tới "
           f"(p135 collect --year {period.year} --quarter {period.quarter})." if held else "Không có tệp nào đang tạm giữ."),
        soft_wrap=True, highlight=False, markup=False,
    )


def _parse_day(text: str) -> dt.date:
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise _fail(f"ngày '{text}' không đọc được; hãy ghi dạng 20/07/2023 hoặc 2023-07-20.")


@app.command()
@_warehouse_errors
def extend(
    unit: Annotated[str, typer.Argument(metavar="MÃ_ĐƠN_VỊ", help="Mã đơn vị được gia hạn, ví dụ CQ004.", show_default=False)],
    year: YearNeeded = None,
    quarter: QuarterNeeded = None,
    until: Annotated[Optional[str], typer.Option(help="Ngày cuối của hạn mới, ví dụ 20/07/2023 (tính hết ngày; bắt buộc).", show_default=False)] = None,
    reason: Annotated[Optional[str], typer.Option(help="Lý do gia hạn (bắt buộc).", show_default=False)] = None,
    by: Actor = None,
    data_dir: DataDir = None,
) -> None:
    """Gia hạn nộp báo cáo một quý cho một đơn vị (được ghi vào nhật ký cùng người quyết định và lý do)."""
    period = _explicit_period(year, quarter)
    programme = _programme(period.year)
    if not until:
        raise _fail("hãy cho ngày cuối của hạn mới: --until 20/07/2023.")
    if not reason or not reason.strip():
        raise _fail("hãy ghi lý do gia hạn: --reason \"...\".")
    day = _parse_day(until)
    deadline = programme.deadlines[period.quarter]
    if day <= deadline:
        raise _fail(f"ngày gia hạn {day:%d/%m/%Y} phải sau hạn nộp {deadline:%d/%m/%Y} của {period.label_vi}.")
    code = unit.strip().upper()
    version = _registry().version_on(code, period.ends_on)
    if version is None:
        raise _fail(f"không có đơn vị mã {code} trong danh sách đơn vị phải báo cáo {period.label_vi}.")
    data = _prepare(data_dir)
    from warehouse.approval import extend as extend_deadline

    if not extend_deadline(_warehouse(data, period.year), period.year, period.quarter, code, day, _actor(by), reason.strip()):
        raise _fail(f"{period.label_vi} đã được phê duyệt và khóa sổ: gia hạn lúc này sẽ đổi số liệu đã duyệt (nộp đúng "
                    f"hạn, nộp muộn) nên không ghi. Nếu cần, hãy mở lại quý (p135 reopen --year {period.year} "
                    f"--quarter {period.quarter} --reason ...), gia hạn, rồi phê duyệt lại.", 1)
    console.print(
        f"Đã gia hạn nộp báo cáo {period.label_vi} cho {code} – {version.name_vi} đến hết ngày {day:%d/%m/%Y} "
        f"(lý do: {reason.strip()}).", soft_wrap=True, highlight=False, markup=False,
    )


def _role_error_vi(exc: Exception, role: str, engine=None) -> str:
    """Why p135 refuses a grant, in Vietnamese (the details the server gave kept as they are)."""
    from warehouse.roles import InvalidRoleName, RoleNotReadOnly, RolesNotSupported, ServerRightsHeld

    if isinstance(exc, RolesNotSupported):
        path = engine.url.database if engine is not None else "warehouse.db"
        return (
            f"kho dữ liệu là SQLite ({path}): SQLite không có vai trò hay phân quyền nên không cấp được quyền chỉ đọc. "
            f"Hãy đưa người phân tích một bản sao tạo bằng sqlite3 {path} \".backup 'BẢN_SAO.db'\", "
            f"hoặc để họ mở tệp ở chế độ chỉ đọc: "
            f"sqlite3 'file:{path}?mode=ro', hay địa chỉ SQLAlchemy 'sqlite:///file:{path}?mode=ro&uri=true'."
        )
    if isinstance(exc, ServerRightsHeld):
        return (f"vai trò {role} đã có và là thành viên của {', '.join(exc.held)}: vai trò đó đọc, ghi tệp hoặc chạy "
                "chương trình trên máy chủ cơ sở dữ liệu (COPY ... TO/FROM tệp hay PROGRAM), điều mà cấp quyền chỉ "
                "đọc không gỡ được; hãy chọn tên khác, hoặc để quản trị viên thu hồi: "
                f"REVOKE {', '.join(exc.held)} FROM {role}.")
    if isinstance(exc, InvalidRoleName):
        if "connects as" in str(exc):
            return f"{role} là người dùng mà p135 dùng để kết nối; hãy chọn tên khác."
        if "owns the warehouse" in str(exc):
            return f"{role} là chủ sở hữu cơ sở dữ liệu của kho; hãy chọn tên khác."
        if "is a superuser" in str(exc):
            return (f"vai trò {role} đã có và là superuser: p135 không hạ quyền một quản trị viên (gõ nhầm tên sẽ "
                    "khóa quyền quản trị của người đó); hãy chọn tên khác.")
        return (
            f"tên vai trò {role!r} không dùng được: chỉ gồm 1-63 chữ thường, chữ số và dấu gạch dưới, "
            "không bắt đầu bằng chữ số, và không phải tên dành riêng (postgres, public, p135_analyst, pg_...)."
        )
    if isinstance(exc, RoleNotReadOnly):
        return _still_writes_vi(exc, role)
    return str(exc)


def _still_writes_vi(exc, role: str) -> str:
    """What the role could still do after the grants, and what to do about it, in Vietnamese."""
    rights = []
    for item in exc.found:
        kind, _, where = item.partition(" on ")
        if where.startswith("database "):
            rights.append(f"quyền {kind} trên cơ sở dữ liệu {where.removeprefix('database ')}")
        elif where:
            rights.append(f"quyền {kind} trên {where}")
        else:
            rights.append(f"ghi vào bảng {item}")
    shown = ", ".join(rights[:5]) + (f" và {len(rights) - 5} quyền khác" if len(rights) > 5 else "")
    line = (f"sau khi cấp quyền, {role} vẫn có thể ghi hoặc tạo đối tượng ({shown}), do sở hữu đối tượng, là thành "
            "viên một vai trò khác hoặc do quyền cấp cho PUBLIC, nên p135 đã hủy mọi thay đổi.")
    if exc.user != exc.owner and any(i.startswith(("TEMPORARY on", "CREATE on database")) for i in exc.found):
        line += (f" Quyền trên cơ sở dữ liệu mà PostgreSQL cấp sẵn cho PUBLIC chỉ chủ sở hữu cơ sở dữ liệu "
                 f"(«{exc.owner}») hoặc superuser thu hồi được, mà lệnh đang chạy bằng «{exc.user}»: hãy chạy lại "
                 f"với P135_WAREHOUSE_URL đăng nhập bằng «{exc.owner}» hoặc một superuser.")
    return line


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Áp dụng các bản nâng cấp lược đồ còn thiếu cho kho dữ liệu ($P135_WAREHOUSE_URL hoặc tệp SQLite)."""
    data = _prepare(data_dir)
    from warehouse.engine import engine_for
    from warehouse.migrate import current_revision, upgrade

    engine = engine_for(data)
    upgrade(engine)
    console.print(f"Kho dữ liệu ở phiên bản lược đồ (revision) {current_revision(engine)} "
                  f"({engine.url.render_as_string(hide_password=True)})", soft_wrap=True, highlight=False)


@db_app.command("grant-analyst")
def db_grant_analyst(
    role: Annotated[str, typer.Argument(metavar="VAI_TRÒ", help="Vai trò đăng nhập cần tạo hoặc cập nhật, ví dụ analyst_hanoi.", show_default=False)],
    statement_timeout: Annotated[int, typer.Option(
        "--statement-timeout", min=0, max=1440, metavar="PHÚT",
        help="Máy chủ dừng một câu lệnh của vai trò chạy quá số phút này (0: không giới hạn).")] = 15,
    idle_timeout: Annotated[int, typer.Option(
        "--idle-timeout", min=0, max=1440, metavar="PHÚT",
        help="Máy chủ đóng phiên để giao dịch mở mà không làm gì quá số phút này (0: không giới hạn).")] = 30,
    remove_password: Annotated[bool, typer.Option(
        "--remove-password",
        help="Xóa mật khẩu của vai trò (khi không có tùy chọn này và không đặt $P135_ANALYST_PASSWORD, "
             "vai trò đã có giữ nguyên mật khẩu của mình).")] = False,
    data_dir: DataDir = None,
) -> None:
    """Tạo hoặc cập nhật VAI_TRÒ thành người phân tích chỉ được đọc kho PostgreSQL (mật khẩu: $P135_ANALYST_PASSWORD)."""
    from warehouse.roles import PASSWORD_ENV, AnalystRoleError, check_role_name

    password = os.environ.get(PASSWORD_ENV)
    try:
        check_role_name(role)
    except AnalystRoleError as exc:
        raise _fail(_role_error_vi(exc, role)) from None
    if password is not None and (password == "" or "\x00" in password):
        raise _fail(f"{PASSWORD_ENV} được đặt nhưng để trống hoặc chứa ký tự NUL; hãy bỏ đặt biến này nếu vai trò không cần mật khẩu.")
    if password is not None and remove_password:
        raise _fail(f"--remove-password xóa mật khẩu, nhưng {PASSWORD_ENV} lại đặt mật khẩu: hãy chọn một trong hai.")
    data = _prepare(data_dir)
    from sqlalchemy.exc import SQLAlchemyError

    from warehouse.engine import engine_for
    from warehouse.migrate import upgrade
    from warehouse.roles import LARGE_OBJECT_FUNCTIONS, check_grant, grant_analyst

    engine = engine_for(data)
    try:
        check_grant(engine, role, password)
        upgrade(engine)
        granted = grant_analyst(engine, role, password, remove_password=remove_password,
                                statement_timeout_minutes=statement_timeout,
                                idle_in_transaction_minutes=idle_timeout)
    except AnalystRoleError as exc:
        raise _fail(_role_error_vi(exc, role, engine)) from None
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", exc)
        if getattr(orig, "sqlstate", None) == "42501":
            user = engine.url.username or "người dùng này"
            raise _fail(f"không cấp được quyền cho {role}: {user} không có quyền tạo hay sửa vai trò trên máy chủ "
                        f"(cần CREATEROLE hoặc superuser; máy chủ báo: {str(orig).splitlines()[0]}).", 1) from None
        raise _fail(f"không cấp được quyền cho {role}: {orig}", 1) from None
    where = engine.url.render_as_string(hide_password=True)
    console.print(
        f"{role}: người phân tích chỉ đọc trên {where}: thành viên của {granted.group}, được SELECT mọi bảng và view "
        f"trong schema public của riêng kho này, kể cả những bảng {engine.url.username or 'người dùng này'} tạo sau "
        "này, và không được INSERT, UPDATE, DELETE, CREATE hay tạo bảng tạm; các giao dịch của vai trò mặc định là chỉ đọc.",
        soft_wrap=True, highlight=False,
    )
    limits = [f"{what} {minutes} phút" for what, minutes in (
        ("một câu lệnh chạy quá", statement_timeout), ("giao dịch mở để không quá", idle_timeout)) if minutes]
    console.print(
        (f"Máy chủ dừng {' và '.join(limits)} của {role}" if limits else f"Không giới hạn thời gian chạy câu lệnh của {role}")
        + " (vai trò vẫn tự đổi được trong phiên của mình bằng SET statement_timeout).",
        soft_wrap=True, highlight=False,
    )
    if not granted.large_objects_refused:
        console.print(
            f"{role} vẫn tạo được large object: chỉ superuser mới chặn được, bằng cách chạy trong cơ sở dữ liệu "
            f"này: REVOKE EXECUTE ON FUNCTION {', '.join(LARGE_OBJECT_FUNCTIONS)} FROM PUBLIC",
            soft_wrap=True, highlight=False, markup=False,
        )
    if remove_password or (password is None and granted.created):
        console.print(
            f"{'Đã xóa mật khẩu' if remove_password else f'Không đặt mật khẩu ({PASSWORD_ENV} chưa được đặt)'}: "
            f"{role} chỉ đăng nhập được theo pg_hba.conf (peer, trust hoặc cert).", soft_wrap=True, highlight=False,
        )
    elif password is None:
        console.print(
            f"Mật khẩu của {role} giữ nguyên như trước ({PASSWORD_ENV} chưa được đặt; xóa mật khẩu: --remove-password).",
            soft_wrap=True, highlight=False,
        )
    else:
        console.print(f"Mật khẩu lấy từ {PASSWORD_ENV} (máy chủ chỉ lưu bản băm).", soft_wrap=True, highlight=False)


if __name__ == "__main__":
    app()
