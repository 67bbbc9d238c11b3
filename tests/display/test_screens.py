"""The boards as pictures: every text fits its box at a readable size, colours contrast."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from display import widgets
from display.shots import shoot
from ui.theme import contrast_ratio, install_fonts


def test_screenshots_have_no_clipped_or_tiny_text(qtbot: QtBot, tmp_path: Path) -> None:
    assert install_fonts(QApplication.instance())  # type: ignore[arg-type]
    shots = shoot(tmp_path)
    assert len(shots) == 4
    for path, drawn in shots:
        assert path.stat().st_size > 10_000
        assert drawn, path
        bad = [(t, px) for t, px, fits in drawn if not fits or px < 18]
        assert not bad, (path.name, bad)
    assert max(px for t, px, _ in shots[0][1] if t == "B007") >= 100  # newest call
    assert max(px for t, px, _ in shots[1][1] if t == "B007") >= 250  # 1280x720 window board


def test_board_colours_contrast() -> None:
    for fg, bg in ((widgets.WHITE, widgets.BG), (widgets.YELLOW, widgets.BG),
                   (widgets.RED, widgets.BG), (widgets.GREY, widgets.PANEL),
                   (widgets.YELLOW, widgets.PANEL), (widgets.RED, widgets.PANEL),
                   (widgets.WHITE, widgets.BAND), (widgets.FLASH_FG, widgets.FLASH_BG)):
        assert contrast_ratio(fg, bg) >= 4.5, (fg, bg, contrast_ratio(fg, bg))
