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


def test_hall_board_fits_other_screens_and_a_big_hall(qtbot: QtBot, tmp_path: Path) -> None:
    from PySide6.QtCore import QSize

    from display.model import hall_view
    from display.shots import sample_state
    from ui.shots import grab

    assert install_fonts(QApplication.instance())  # type: ignore[arg-type]
    small = sample_state()
    big = dict(small)
    for n in range(7, 15):  # a county hall with 14 windows
        big[f"qms/demo/state/counter/{n}"] = {
            "counter": str(n), "name": f"{n}号窗口", "status": "open",
            "ticket": {"number": f"B{n:03d}", "service": "B", "status": "called",
                       "called_at": "2026-11-23T09:30:00+08:00"}}
    board = widgets.HallBoard()
    qtbot.addWidget(board)
    board.ticker.stop()
    # A township's 6 windows on a small old screen; 14 windows on the usual sizes.
    for state, windows, sizes in ((small, 6, ((1024, 600),)),
                                  (big, 14, ((1920, 1080), (1366, 768), (1080, 1920)))):
        board.set_view(hall_view("demo", state, [], hall_name="示范县政务服务中心",
                                 calls_shown=10, notice="请留意叫号"), clock="11月23日 09:49")
        for w, h in sizes:
            grab(board, tmp_path / f"hall-{w}x{h}.png", QSize(w, h))
            bad = [(t, px) for t, px, fits in widgets.DRAWN if not fits or px < 18]
            assert not bad, ((w, h), bad)
            assert sum(t.endswith("号窗口") and not t.startswith("请") for t, _, _ in
                       widgets.DRAWN) == windows, (w, h)
