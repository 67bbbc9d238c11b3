"""Keep the interpreter alive under PySide6 6.12.0 on Python 3.11.

That build returns None from every void Qt method (setText, setEnabled, …) without
taking a reference, so each call leaves None with one reference fewer; after some
tens of thousands of calls (minutes of a busy screen) Python aborts with "Fatal Python
error: none_dealloc: deallocating None". Python 3.12+ made None immortal (PEP 683),
which is why the wheel gets away with it there. Until the pinned PySide6 is fixed,
`NoneGuard` tops None's count up from a Qt timer. The missing references are phantom
(None is never freed), so adding them back is safe.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, QTimer

FLOOR = 200_000  # a second of the worst screen leaks far fewer than this
_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None


def needed() -> bool:
    return sys.version_info < (3, 12)


def top_up(floor: int = FLOOR) -> int:
    """Give None back the references it lost; returns how many were added."""
    if not needed():
        return 0
    missing = floor - sys.getrefcount(None)
    for _ in range(max(0, missing)):
        _incref(None)
    return max(0, missing)


class NoneGuard(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = 500) -> None:
        super().__init__(parent)
        top_up(FLOOR * 2)
        self._timer = QTimer(self)
        self._timer.timeout.connect(lambda: top_up(FLOOR * 2) if
                                    sys.getrefcount(None) < FLOOR else None)
        if needed():
            self._timer.start(interval_ms)
