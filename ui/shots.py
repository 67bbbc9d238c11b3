"""Screenshots of a widget at a chosen size, for docs/ and for a person to check."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QApplication, QWidget

PORTRAIT = QSize(1080, 1920)
LANDSCAPE = QSize(1920, 1080)


def grab(widget: QWidget, path: str | Path, size: QSize | None = None) -> Path:
    """Lay the widget out at `size`, let Qt paint, and save a PNG."""
    if size is not None:
        widget.resize(size)
    widget.show()
    for _ in range(5):
        QApplication.processEvents()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not widget.grab().save(str(out)):
        raise OSError(f"could not write screenshot {out}")
    return out
