"""Keeping a run's log to what a person needs: a flow that fails on purpose says why once."""

from __future__ import annotations

import logging

ENGINE_EXIT = "Engine execution exited with unexpected exception"


class ExpectedFailureFilter(logging.Filter):
    """Drops the engine's traceback of a flow that returned a Failed state on purpose.

    A deployment run's engine turns the flow's Failed state back into a FailedRun exception and
    logs it with its traceback, after the run's own "Finished in state Failed('...')" line has
    said the same. A flow that raised keeps its traceback: that one is a bug to look at.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info or ENGINE_EXIT not in str(record.msg):
            return True
        from prefect.exceptions import FailedRun

        return not isinstance(record.exc_info[1], FailedRun)


class LostQuarterFilter(logging.Filter):
    """Keeps the line of a task stopped because its run lost the quarter, because a disk is full,
    or because the warehouse's server went away, without the traceback.

    The run then fails with one message saying so (its lock connection dropped, or its lock file
    went; which disk is full): that is an event to act on by running again, not a bug to look at.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        from tasks.disk_full import disk_full_cause, warehouse_lost_cause
        from warehouse.locks import QuarterLost

        if record.exc_info and (isinstance(record.exc_info[1], QuarterLost) or disk_full_cause(record.exc_info[1])
                                or warehouse_lost_cause(record.exc_info[1])):
            record.exc_info, record.exc_text = None, None
        return True


def drop_expected_failure_tracebacks() -> None:
    """Install the filters on the flow-run and task-run loggers, once per process."""
    for name, kind in (("prefect.flow_runs", ExpectedFailureFilter), ("prefect.task_runs", LostQuarterFilter)):
        logger = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())
