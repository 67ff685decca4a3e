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


def drop_expected_failure_tracebacks() -> None:
    """Install the filter on the flow-run logger, once per process."""
    logger = logging.getLogger("prefect.flow_runs")
    if not any(isinstance(f, ExpectedFailureFilter) for f in logger.filters):
        logger.addFilter(ExpectedFailureFilter())
