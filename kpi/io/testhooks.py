"""Named points where a test can stop or hold the process (an edge, inert unless asked).

``KPI_TEST_KILL_AT=NAME`` kills the process outright (SIGKILL, as a power cut would)
when it reaches point NAME; ``KPI_TEST_WAIT_AT=NAME:SECONDS`` holds it there for a
while (to let another process run into it). Nothing else reads these variables:
they exist for tests/test_trust.py, which checks the state a kill leaves.
"""

from __future__ import annotations

import os
import signal
import time


def reached(point: str) -> None:
    """Stop or hold here if a test asked for ``point``."""
    if os.environ.get("KPI_TEST_KILL_AT") == point:
        os.kill(os.getpid(), signal.SIGKILL)
    wait = os.environ.get("KPI_TEST_WAIT_AT", "")
    if wait.partition(":")[0] == point:
        time.sleep(float(wait.partition(":")[2] or 1))
