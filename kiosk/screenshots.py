"""python -m kiosk.screenshots --out docs/: the kiosk's pages at 1080x1920 and 1920x1080.

Pages are drawn from made-up state (no broker, no devices), so the pictures show the
layout a person checks: clipped Chinese text, sizes, elder mode, the error pages.
"""

from __future__ import annotations

import argparse
import sys

from .shots import KioskShots

TICKET = {"number": "A023", "service": "A", "service_name": "综合受理", "ahead": 7,
          "est_wait_s": 1260, "issued_at": "2026-11-23T09:05:00+08:00", "code": "x7Hq2LmN0pQa",
          "priority": False, "status": "waiting"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kiosk.screenshots", description=__doc__)
    ap.add_argument("--config", default="assets/halls/demo.toml")
    ap.add_argument("--out", default="docs")
    args = ap.parse_args(argv)
    rig = KioskShots(args.config, args.out)
    from . import machine as m

    k, shot = rig.machine, rig.shot
    figures = {"A": (12, 1500), "B": (5, 960), "C": (0, 0), "D": (3, 900), "E": (9, 600)}
    k.ctx.services = {
        s.code: m.ServiceInfo(s.code, s.name, *figures.get(s.code, (0, 0)),
                              open=s.code != "C", hours="08:30-12:00 13:30-17:00")
        for s in rig.hall.services}

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
    return rig.finish()


if __name__ == "__main__":
    sys.exit(main())
