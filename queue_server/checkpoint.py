"""Moving the WAL into the database file, off the request path.

SQLite's automatic checkpoint runs inside the COMMIT that crosses 1,000 WAL pages:
that request's reply then waits for ~1,000 page writes and an extra fsync of the
database (2-4 ms where a commit is 0.4 ms; at 100 requests/s one in ~150 requests).
The serving connection turns it off and this thread, on a connection of its own,
checkpoints once a second instead. A PASSIVE checkpoint never blocks the writer,
and Python's sqlite3 lets go of the GIL while it copies, so the serving thread
goes on committing meanwhile.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

INTERVAL_S = 1.0


class WalCheckpointer:
    def __init__(self, path: Path, interval_s: float = INTERVAL_S) -> None:
        self.path = path
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # at the last run: WAL frames in the database file, and those not yet
        self.copied = 0
        self.behind = -1

    def start(self) -> WalCheckpointer:
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        failing = False
        try:
            while not self._stop.wait(self.interval_s):
                try:
                    # fetchall: a statement left unfinished would hold a read snapshot,
                    # and the writer could never restart the WAL from its beginning
                    ((_, logged, moved),) = conn.execute(
                        "PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.copied, self.behind = moved, logged - moved
                    failing = False
                except sqlite3.Error as e:  # a full disk, say: the writer will say so too
                    if not failing:
                        log.warning("WAL checkpoint of %s failed: %s", self.path, e)
                    failing = True
        finally:
            conn.close()
