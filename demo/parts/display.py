"""The boards in the demo: the hall board (综合屏, display-2, which also speaks the calls as
[voice] speaker) and a window board (窗口屏, display-3) for the counter you drive
(demo.parts.driven_counter), each in a window. QMS_VOICE=off keeps the hall board silent
(at the demo's 300x fast time the voice falls behind: it never skips or overlaps a call).

display-1 is left to the scripted morning, which prints what the voice says as display-1.
"""

from __future__ import annotations

import os

from demo.parts import DemoContext, driven_counter

ORDER = 80
HALL_BOARD, WINDOW_BOARD = "display-2", "display-3"


def start(ctx: DemoContext) -> None:
    if not ctx.gui:
        return
    devices = ctx.hall.device_ids
    cid = driven_counter(ctx.hall)
    common = ["--config", str(ctx.hall_path), "--broker", ctx.broker.address,
              "--credentials", str(ctx.broker.credentials_file), "--window",
              "--cache", str(ctx.run_dir / "voice")]
    started = []
    if HALL_BOARD in devices:
        voice = "off" if os.environ.get("QMS_VOICE", "").lower() in ("off", "0", "no") \
            else "auto"
        ctx.reserved.add(HALL_BOARD)
        ctx.spawn(HALL_BOARD, ["-m", "display", "--device", HALL_BOARD, "--role", "hall",
                               "--voice", voice, *common])
        started.append(f"{HALL_BOARD} the hall board (voice {voice})")
    if WINDOW_BOARD in devices and ctx.hall.counter(cid) is not None:
        ctx.reserved.add(WINDOW_BOARD)
        ctx.spawn(WINDOW_BOARD, ["-m", "display", "--device", WINDOW_BOARD, "--role", "window",
                                 "--counter", cid, "--voice", "off", *common])
        started.append(f"{WINDOW_BOARD} the window board of counter {cid}")
    if started:
        ctx.say("boards: " + "; ".join(started) + f" (logs in {ctx.run_dir})")
