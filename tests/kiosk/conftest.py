"""Fixtures of the kiosk tests (the rig itself is in rig.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from counter.nonefix import top_up
from tests.kiosk.rig import Rig
from tests.support.broker import Broker


@pytest.fixture
def rig(broker: Broker, tmp_path: Path, qtbot: QtBot) -> Iterator[Rig]:
    r = Rig(broker, tmp_path, qtbot)
    yield r
    r.close()


@pytest.fixture(autouse=True)
def _none_keeps_its_references() -> None:
    """PySide6 6.12.0 on Python 3.11 drops a reference to None per void call (see
    counter/nonefix.py); a long pytest process of Qt tests would abort without this."""
    top_up()
