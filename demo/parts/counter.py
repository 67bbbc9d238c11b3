"""The counter terminal of counter 1 (counter-1) and its rating pad (pad-1) in the demo.

The scripted morning leaves counter 1 to you: open it with F9, call with F1, and rate
on the pad window. QMS_COUNTER=<id> picks another counter."""

from __future__ import annotations

import os

from demo.parts import DemoContext

ORDER = 70


def start(ctx: DemoContext) -> None:
    cid = os.environ.get("QMS_COUNTER", "1")
    terminal, pad = f"counter-{cid}", f"pad-{cid}"
    if not ctx.gui or terminal not in ctx.hall.device_ids:
        return
    common = ["--config", str(ctx.hall_path), "--broker", ctx.broker.address,
              "--credentials", str(ctx.broker.credentials_file)]
    ctx.reserved.add(terminal)
    ctx.spawn(terminal, ["-m", "counter", "--device", terminal, *common])
    msg = f"{terminal}: the counter terminal is open (F9 开始办公, F1 呼叫下一位)"
    if pad in ctx.hall.device_ids:
        ctx.reserved.add(pad)
        ctx.spawn(pad, ["-m", "counter", "--rating-pad", "--device", pad, *common])
        msg += f"; {pad}: its rating pad"
    ctx.say(msg + f" (logs in {ctx.run_dir})")
