"""Telling the ops team through a Prefect notification block, when one is configured."""

from __future__ import annotations

import inspect
import logging
import os
import re

NOTIFY_ENV = "P135_NOTIFY_BLOCK"
log = logging.getLogger("p135.notify")


def notification_block_ref(explicit: str | None = None) -> str | None:
    """The block to notify through, as `<block-type-slug>/<name>`: explicit, else $P135_NOTIFY_BLOCK."""
    ref = explicit or os.environ.get(NOTIFY_ENV) or None
    return ref.strip() if ref and ref.strip() else None


# A block's type slug (lower case, digits, dashes) and its name, as Prefect addresses a saved block.
BLOCK_REF = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*/[^/\s][^/]*$")


def block_ref_problem(ref: str, setting: str) -> str | None:
    """Why `ref` cannot name a notification block (None when it can), for the person who set it."""
    if BLOCK_REF.match(ref.strip()):
        return None
    return (
        f"{setting}={ref!r}: không phải tên một khối thông báo Prefect; hãy ghi theo dạng <loại khối>/<tên khối>, "
        "ví dụ slack-webhook/to-van-hanh (xem các khối đã tạo ở mục Blocks của giao diện Prefect)."
    )


def notify_ops(subject: str, body: str, block_ref: str | None = None) -> bool:
    """Send one message; True when sent. No block configured: nothing to do. A block that fails
    to load or send is logged, never raised: a notification must not fail the run it reports on."""
    ref = notification_block_ref(block_ref)
    if ref is None:
        return False
    from prefect.blocks.core import Block
    from prefect.utilities.asyncutils import run_coro_as_sync

    try:
        block = Block.load(ref)
        if inspect.isawaitable(block):
            block = run_coro_as_sync(block)
        sent = block.notify(body=body, subject=subject)
        if inspect.isawaitable(sent):
            run_coro_as_sync(sent)
    except Exception as exc:  # any block, any transport: report and carry on
        _logger().warning("Notification through %s failed: %s", ref, exc)
        return False
    return True


def _logger():
    """The run's logger inside a run (its page shows the line), else this module's."""
    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    try:
        return get_run_logger()
    except MissingContextError:
        return log


def tell_ops_of_failure(flow, flow_run, state) -> None:
    """on_failure hook: one message naming the run and why it failed (the state's message)."""
    notify_ops(
        subject=f"p135: lần chạy {flow_run.name} ({flow.name}) không thành công",
        body=f"Lần chạy {flow_run.name} của quy trình {flow.name} không thành công: {state.message}",
    )


def tell_ops_of_crash(flow, flow_run, state) -> None:
    """on_crashed hook: the run's process ended before it could say so itself (killed, out of
    memory, the machine restarted); the worker runs this hook and the ops team is told."""
    name = _current_name(flow_run)
    # A collect archives every file before anything else: only there is "nothing lost" its own word.
    kept = "Không mất tệp nào đã nhận; " if flow.name == "collect-quarter" else ""
    notify_ops(
        subject=f"p135: lần chạy {name} ({flow.name}) bị dừng đột ngột",
        body=(f"Lần chạy {name} của quy trình {flow.name} bị dừng đột ngột trước khi xong (tiến trình bị tắt, hết "
              f"bộ nhớ hoặc máy khởi động lại). {kept}{'hãy' if kept else 'Hãy'} chạy lại, phần chưa xong được làm khi "
              f"chạy lại. Chi tiết kỹ thuật: {state.message}"),
    )


def _current_name(flow_run) -> str:
    """The run's name as the UI shows it: a worker holds the run as it was read before the run
    named itself ("Thu nhận Quý IV/2023"), under Prefect's generated name."""
    try:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            return client.read_flow_run(flow_run.id).name
    except Exception:  # no server, no such run: the name held is still a name
        return flow_run.name
