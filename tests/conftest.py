"""Fixtures for the whole suite."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# `pytest` run from anywhere (not only `python -m pytest` in the repo) must import
# the project's packages and tests.support.
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.broker import DEMO_HALL, Broker  # noqa: E402


@pytest.fixture
def broker() -> Iterator[Broker]:
    """A running Mosquitto provisioned for assets/halls/demo.toml (hall `demo`).

    Fresh per test; its clients are disconnected and it is stopped at teardown.
    """
    with Broker.start(DEMO_HALL) as b:
        yield b
