"""Qt tests here make many void PySide6 calls; see counter/nonefix.py for why None needs
its references topped up in a long pytest process on Python 3.11."""

from __future__ import annotations

import pytest

from counter.nonefix import top_up


@pytest.fixture(autouse=True)
def _none_keeps_its_references() -> None:
    top_up()
