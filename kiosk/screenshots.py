"""python -m kiosk.screenshots --out docs/: the kiosk's pages at 1080x1920 and 1920x1080.

Pages are drawn from made-up state (no broker, no devices), so the pictures show the
layout a person checks: clipped Chinese text, sizes, elder mode, the error pages.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

TICKET = {"number": "A023", "service": "A", "service_name": "综合受理", "ahead": 7,
          "est_wait_s": 1260, "issued_at": "2026-11-23T09:05:00+08:00", "code": "x7Hq2LmN0pQa",
          "priority": False, "status": "waiting"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kiosk.screenshots", description=__doc__)
    ap.add_argument("--config", default="assets/halls/demo.toml")
    ap.add_argument("--out", default="docs")
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtWidgets import QApplication

    from queue_server.config import load_hall
    from queue_server.mqttlink import BrokerAddress
    from ui.shots import LANDSCAPE, PORTRAIT, grab
    from ui.theme import install_fonts

    from . import machine as m
    from .app import assemble

    app = QApplication.instance() or QApplication(sys.argv[:1])
    install_fonts(app)  # type: ignore[arg-type]
    from counter.nonefix import top_up

    top_up()  # see kiosk/__main__.py: PySide6 6.12.0 on Python 3.11 leaks None's references
    hall = load_hall(args.config)
    ctl = assemble(hall, "kiosk-1", "unused", BrokerAddress("127.0.0.1", 9),
                   tempfile.mkdtemp(prefix="kiosk-shots-"), idcard_port="", scanner_port="",
                   printer="file:/dev/null")
    k = ctl.machine
    figures = {"A": (12, 1500), "B": (5, 960), "C": (0, 0), "D": (3, 900), "E": (9, 600)}
    k.ctx.services = {
        s.code: m.ServiceInfo(s.code, s.name, *figures.get(s.code, (0, 0)),
                              open=s.code != "C", hours="08:30-12:00 13:30-17:00")
        for s in hall.services}
    out = Path(args.out)
    problems: list[str] = []

    def shot(name: str, screen: m.Screen, *, elder: bool = False, landscape: bool = False,
             banner: str = "") -> None:
        k.screen, k.ctx.elder = screen, elder
        k.ctx.remaining_s = k.ctx.page_timeout_s
        ctl.window.resize(LANDSCAPE if landscape else PORTRAIT)
        ctl._render(force=True)
        ctl.window.set_banner(banner)
        size = LANDSCAPE if landscape else PORTRAIT
        path = grab(ctl.window, out / f"kiosk-{name}.png", size)
        got = ctl.window.size()
        if got != size:  # the page's minimum size is larger than the screen: it would clip
            problems.append(f"{path}: laid out at {got.width()}x{got.height()}, not "
                            f"{size.width()}x{size.height()}")
        print(path)

    shot("home", m.Home())
    shot("home-landscape", m.Home(), landscape=True)
    shot("ticket", m.TicketShown(TICKET, "p1", status="printed"))
    shot("ticket-landscape", m.TicketShown(TICKET, "p1", status="printed"), landscape=True)
    shot("elder", m.Home(), elder=True)
    shot("elder-landscape", m.Home(), elder=True, landscape=True)
    shot("paper-out", m.TicketShown(TICKET, "p1", status="failed", problem="paper_out"),
         banner="打印机缺纸")
    shot("paper-out-landscape",
         m.TicketShown(TICKET, "p1", status="failed", problem="paper_out"), landscape=True,
         banner="打印机缺纸，号码将显示在屏幕上，请拍照后到导服台领取号票")
    shot("elder-ticket", m.TicketShown({**TICKET, "priority": True}, "p1", status="failed",
                                       problem="offline"), elder=True)
    shot("elder-ticket-landscape", m.TicketShown({**TICKET, "priority": True}, "p1",
                                                 status="failed", problem="offline"),
         elder=True, landscape=True)
    shot("error", m.closed_error("不动产登记", "08:30-12:00 13:30-17:00"))
    shot("offline", m.Busy("r1", "issue", "", offline=True),
         banner="网络异常，请稍候或到导服台取号")
    shot("lookup", m.LookupInput("B01"))
    shot("lookup-elder-landscape", m.LookupInput("B01"), elder=True, landscape=True)
    shot("duplicate", m.Duplicate(TICKET, ""))
    shot("result-elder-landscape", m.LookupResult({**TICKET, "status": "called",
                                                  "counter_name": "3号窗口"}),
         elder=True, landscape=True)
    k.ctx.card = m.CardInfo("110101194001010011", "王秀英", 86)
    shot("choose-elder-landscape", m.ChooseService(), elder=True, landscape=True)
    shot("choose-elder", m.ChooseService(), elder=True)
    k.ctx.card = None
    shot("staff", m.StaffCalled(), elder=True, landscape=True)
    shot("checkin", m.CheckinScan(), landscape=True)
    ctl.close()
    for p in problems:
        print(f"TOO BIG: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
