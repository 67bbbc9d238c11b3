"""Every kiosk page fits a 1080x1920 and a 1920x1080 screen, in normal and elder mode."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from kiosk import screenshots
from kiosk.screens import grid_columns


def test_every_page_fits_both_orientations(qtbot: QtBot, tmp_path: Path) -> None:
    # main() reports a page whose minimum size is larger than the screen (it would clip)
    assert screenshots.main(["--out", str(tmp_path)]) == 0
    assert len(list(tmp_path.glob("kiosk-*.png"))) >= 15


def test_many_services_get_more_columns() -> None:
    assert grid_columns(5, elder=True, portrait=True) == 1
    assert grid_columns(12, elder=True, portrait=True) == 2
    assert grid_columns(12, elder=False, portrait=False) == 4
