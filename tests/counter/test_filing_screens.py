"""The filing screens of the terminal draw with no clipped text."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from counter.shots import shoot_filing
from ui.theme import Theme, install_fonts


def test_filing_screens_have_no_clipped_text(tmp_path: Path, qtbot: QtBot, qapp: object) -> None:
    install_fonts(qapp)  # type: ignore[arg-type]
    qapp.setStyleSheet(Theme().stylesheet())  # type: ignore[attr-defined]
    assert shoot_filing(tmp_path) == []
    assert {p.name for p in tmp_path.glob("*.png")} == {
        "counter-filing.png", "counter-filing-page.png", "counter-filing-more.png",
        "counter-filing-list.png"}
