"""Fixtures of the kiosk tests (the rig itself is in rig.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.kiosk.rig import Rig
from tests.support.broker import Broker


@pytest.fixture
def rig(broker: Broker, tmp_path: Path, qtbot: QtBot) -> Iterator[Rig]:
    r = Rig(broker, tmp_path, qtbot)
    yield r
    r.close()
