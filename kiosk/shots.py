"""The rig both screenshot commands draw the kiosk with (kiosk.screenshots for the
ticket pages, kiosk.filing.screenshots for 办事指南 and 我要申报): a kiosk assembled
offscreen with no broker and no devices, one picture per page and size, and the pages
that would not fit listed."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


class KioskShots:
    def __init__(self, config: str, out: str | Path,
                 check: Callable[[Any, bool], list[str]] | None = None) -> None:
        """`check(window, elder)` adds a page's other problems (e.g. too small to touch)."""
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtWidgets import QApplication

        from counter.nonefix import top_up
        from queue_server.config import load_hall
        from queue_server.mqttlink import BrokerAddress
        from ui.theme import install_fonts

        from .app import assemble

        self.app = QApplication.instance() or QApplication(sys.argv[:1])
        install_fonts(self.app)  # type: ignore[arg-type]
        top_up()  # see kiosk/__main__.py: PySide6 6.12.0 on Python 3.11 leaks None's references
        self.hall = load_hall(config)
        self.ctl = assemble(self.hall, "kiosk-1", "unused", BrokerAddress("127.0.0.1", 9),
                            tempfile.mkdtemp(prefix="kiosk-shots-"), idcard_port="",
                            scanner_port="", printer="file:/dev/null")
        self.machine = self.ctl.machine
        self.out = Path(out)
        self.check = check
        self.problems: list[str] = []

    def shot(self, name: str, screen: Any, *, elder: bool = False, landscape: bool = False,
             banner: str = "", prepare: Callable[[], None] | None = None) -> None:
        """Draw `screen` and save it as kiosk-NAME.png."""
        from ui.shots import LANDSCAPE, PORTRAIT, grab

        k, ctl = self.machine, self.ctl
        k.screen, k.ctx.elder = screen, elder
        k.ctx.remaining_s = k.ctx.page_timeout_s
        size = LANDSCAPE if landscape else PORTRAIT
        ctl.window.resize(size)
        ctl._render(force=True)
        ctl.window.set_banner(banner)
        if prepare is not None:
            prepare()
        path = grab(ctl.window, self.out / f"kiosk-{name}.png", size)
        got = ctl.window.size()
        if got != size:  # the page's minimum size is larger than the screen: it would clip
            self.problems.append(f"{path}: laid out at {got.width()}x{got.height()}, not "
                                 f"{size.width()}x{size.height()}")
        if self.check is not None:
            self.problems.extend(f"{path}: {p}" for p in self.check(ctl.window, elder))
        print(path)

    def finish(self) -> int:
        """Close the kiosk; 1 if any page had a problem (printed), else 0."""
        self.ctl.close()
        for p in self.problems:
            print(f"TOO BIG: {p}", file=sys.stderr)
        return 1 if self.problems else 0
