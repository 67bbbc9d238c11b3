"""Widget pieces every app builds its screens from."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel


def label(text: str, role: str = "", *, size: int | None = None, bold: bool = False,
          color: str | None = None, center: bool = False, wrap: bool = True) -> QLabel:
    lb = QLabel(text)
    if role:
        lb.setProperty("role", role)
    style = []
    if size:
        style.append(f"font-size: {size}px;")
    if bold:
        style.append("font-weight: bold;")
    if color:
        style.append(f"color: {color};")
    if style:
        lb.setStyleSheet(" ".join(style))
    lb.setWordWrap(wrap)
    if center:
        lb.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return lb
