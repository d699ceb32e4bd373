"""How a form's run ends in the Prefect UI: a named state carrying one Vietnamese sentence, never a traceback.

- recorded: Completed (green), e.g. "Đã ghi nhận";
- refused (a missing or wrong value, nothing written): Failed (red), e.g. "Chưa ghi nhận";
- already done (a second confirmation, nothing written): Cancelled (grey), e.g. "Không ghi nhận".

A flow run by a deployment (in the process `serve` starts for it) re-raises its own final Failed or Cancelled
state after the run is over, and Prefect 3.9 logs that to the run as "Engine execution exited with unexpected
exception" with a traceback of its own internals. For the states returned here - and only those - that record
is dropped: the run's logs show the sentence, then "Finished in state ...".
"""

from __future__ import annotations

import logging
from typing import Any

from prefect import get_run_logger
from prefect.exceptions import CancelledRun, FailedRun
from prefect.states import Cancelled, Completed, Failed, State

_answered: set[str] = set()  # the messages of the refusals this process returned


def _log(level: int, message: str) -> None:
    try:
        get_run_logger().log(level, message)
    except Exception:  # noqa: BLE001 - outside a run (a unit test) there is no run logger
        pass


def recorded(name: str, message: str) -> State[Any]:
    _log(logging.INFO, message)
    return Completed(name=name, message=message)


def refused(name: str, message: str) -> State[Any]:
    _log(logging.WARNING, message)
    _answered.add(message)
    return Failed(name=name, message=message)


def already(name: str, message: str) -> State[Any]:
    _log(logging.INFO, message)
    _answered.add(message)
    return Cancelled(name=name, message=message)


class QuietAnswers(logging.Filter):
    """Drops the engine's traceback of a run that ended in one of our refusals (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (isinstance(exc, (FailedRun, CancelledRun)) and str(exc) in _answered)


logging.getLogger("prefect.flow_runs").addFilter(QuietAnswers())
