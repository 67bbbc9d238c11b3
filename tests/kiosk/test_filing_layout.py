"""The guide and filing pages fit 1080x1920 and 1920x1080, normal and elder mode, with text
of at least 18 px (30 px elder) and touch targets of at least 60 px."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from kiosk.filing import screenshots


def test_every_filing_page_fits_and_reads(qtbot: QtBot, tmp_path: Path) -> None:
    assert screenshots.main(["--out", str(tmp_path)]) == 0
    assert len(list(tmp_path.glob("kiosk-*.png"))) >= 17
