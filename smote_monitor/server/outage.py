"""One log line when the store goes away and one when it is back, however many callers notice.

The leader check, every scheduled job and the job statistics all touch the store every few
seconds; during an outage each would log the same failure again. They report here instead.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class StoreOutage:
    """Tracks whether the store is reachable, logging only the transitions."""

    def __init__(self, retry_hint: str = "retrying") -> None:
        self.retry_hint = retry_hint
        self._lock = threading.Lock()
        self._down = False

    @property
    def down(self) -> bool:
        return self._down

    def failed(self, error: BaseException | str) -> None:
        with self._lock:
            first, self._down = not self._down, True
        if first:
            log.warning("store unreachable: %s; %s", error, self.retry_hint)

    def succeeded(self) -> None:
        with self._lock:
            recovered, self._down = self._down, False
        if recovered:
            log.info("store reachable again")
