"""Fixtures for the whole suite."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# `pytest` run from anywhere (not only `python -m pytest` in the repo) must import
# the project's packages and tests.support.
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from queue_server.client import RequestClient  # noqa: E402
from queue_server.mqtt import QueueServer  # noqa: E402
from tests.support.broker import DEMO_HALL, Broker  # noqa: E402
from tests.support.server import in_process  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    # As in the apps (ui/collector.py): a collection that happens to run on paho's thread
    # and frees a widget left by an earlier Qt test crashes the process. The suite
    # collects only on the main thread, between tests.
    gc.disable()


@pytest.fixture(autouse=True)
def _collect_on_main_thread(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    qt = "qtbot" in request.fixturenames or "qapp" in request.fixturenames
    gc.collect(2 if qt else 1)  # a full collection costs ~70 ms; Qt garbage needs it


@pytest.fixture
def broker() -> Iterator[Broker]:
    """A running Mosquitto provisioned for assets/halls/demo.toml (hall `demo`).

    Fresh per test; its clients are disconnected and it is stopped at teardown.
    """
    with Broker.start(DEMO_HALL) as b:
        yield b


@pytest.fixture
def server(broker: Broker, tmp_path: Path) -> Iterator[QueueServer]:
    """The queue server, in this process, on the `broker` fixture's demo hall."""
    s = in_process(broker, tmp_path / "data")
    yield s
    s.stop()


@pytest.fixture
def clients(broker: Broker) -> Iterator[dict[str, RequestClient]]:
    """clients["kiosk-1"]: a connected RequestClient per device, made when first asked for."""
    made: dict[str, RequestClient] = {}

    class Lazy(dict):  # type: ignore[type-arg]
        def __missing__(self, device: str) -> RequestClient:
            rc = RequestClient("demo", device, broker.password(device), broker.broker_address)
            made[device] = self[device] = rc.start()
            return rc

    yield Lazy()
    for rc in made.values():
        rc.close()
