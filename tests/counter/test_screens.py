"""Every screen of the terminal and the pad draws with no clipped text (and the check works)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from counter.shots import clipped, shoot
from ui.theme import Theme, install_fonts


def test_screens_have_no_clipped_text(tmp_path: Path, qtbot: QtBot, qapp: object) -> None:
    install_fonts(qapp)  # type: ignore[arg-type]
    qapp.setStyleSheet(Theme().stylesheet())  # type: ignore[attr-defined]
    assert shoot(tmp_path) == []
    assert {p.name for p in tmp_path.glob("*.png")} == {
        "counter-terminal.png", "counter-transfer.png", "counter-offline.png",
        "counter-pad-levels.png", "counter-pad-reason.png", "counter-pad-thanks.png",
        "counter-pad-idle.png"}


def test_clipping_check_sees_a_clipped_button(qtbot: QtBot) -> None:
    w = QWidget()
    qtbot.addWidget(w)
    b = QPushButton("F1  呼叫下一位呼叫下一位呼叫下一位")
    b.setStyleSheet("font-size: 30px; min-width: 0; min-height: 0;")
    b.setFixedSize(120, 30)
    QVBoxLayout(w).addWidget(b)
    w.show()
    assert clipped(w) and "呼叫下一位" in clipped(w)[0]
