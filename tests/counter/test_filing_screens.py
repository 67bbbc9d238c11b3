"""The filing screens of the terminal draw with no clipped text."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollArea, QWidget
from pytestqt.qtbot import QtBot

from counter.shots import clipped, shoot_filing
from ui.theme import Theme, install_fonts


@pytest.mark.parametrize("size", [QSize(1280, 800), QSize(1024, 768), QSize(1920, 1080)])
def test_filing_screens_have_no_clipped_text(tmp_path: Path, qtbot: QtBot, qapp: object,
                                             size: QSize) -> None:
    install_fonts(qapp)  # type: ignore[arg-type]
    qapp.setStyleSheet(Theme().stylesheet())  # type: ignore[attr-defined]
    assert shoot_filing(tmp_path, size) == []
    assert {p.name for p in tmp_path.glob("*.png")} == {
        "counter-filing.png", "counter-filing-page.png", "counter-filing-more.png",
        "counter-filing-list.png"}


def test_clipping_check_sees_a_value_pushed_out_of_a_form(qtbot: QtBot) -> None:
    area = QScrollArea()
    qtbot.addWidget(area)
    area.setWidgetResizable(True)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    box = QWidget()
    row = QHBoxLayout(box)
    row.addWidget(QLabel("本人银行账号（社保卡金融账户或一卡通）：" * 2))
    row.addWidget(QLabel("6230910012345678"))
    area.setWidget(box)
    area.resize(300, 200)
    area.show()
    assert any("6230910012345678" in p and "scroll area" in p for p in clipped(area))
