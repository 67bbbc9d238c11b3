"""Parts of the demo hall beyond broker and server: each module here adds one (a UI, a
device simulator) with `ORDER: int` and `start(ctx: DemoContext) -> None`.

A part that takes a device id (say the kiosk UI as `kiosk-1`) adds it to
`ctx.reserved`, and the scripted morning leaves that device to it: the broker binds
client ids to device ids, so two connections as one device would take turns.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from queue_server.config import Hall
from tests.support.broker import Broker

REPO = Path(__file__).resolve().parents[2]


@dataclass
class DemoContext:
    hall: Hall
    hall_path: Path
    broker: Broker
    data_dir: Path
    run_dir: Path  # pty links, simulator files, logs of the parts
    say: Callable[[str], None]
    gui: bool  # a display is there (or --gui): UI parts may open windows
    reserved: set[str] = field(default_factory=set)
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    closers: list[Callable[[], Any]] = field(default_factory=list)

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None
              ) -> subprocess.Popen[bytes]:
        """Start a part's process (python -m … from the repo), logging to run_dir/NAME.log."""
        log = open(self.run_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, *argv] if argv[0] == "-m" else argv, cwd=REPO,
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
        )
        self.processes.append((name, proc))
        self.closers.append(log.close)
        return proc

    def stop_all(self) -> None:
        for _name, proc in reversed(self.processes):
            if proc.poll() is None:
                proc.terminate()
        for _name, proc in reversed(self.processes):
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
        for close in reversed(self.closers):
            close()


def driven_counter(hall: Hall) -> str:
    """The counter a person drives in the demo (QMS_COUNTER, else the first one whose
    services all have another counter too, so no queue is left without a scripted clerk)."""
    chosen = os.environ.get("QMS_COUNTER")
    if chosen:
        return chosen
    for c in hall.counters:
        if all(len(hall.counters_serving(code)) > 1 for code in c.service_codes):
            return c.id
    return hall.counters[0].id


def parts() -> list[ModuleType]:
    found = [importlib.import_module(f"demo.parts.{m.name}")
             for m in pkgutil.iter_modules([str(Path(__file__).parent)])
             if not m.name.startswith("_")]
    return sorted(found, key=lambda m: getattr(m, "ORDER", 50))
