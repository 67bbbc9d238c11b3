"""The counter terminal of one counter and its rating pad in the demo (counter 2 of the
demo hall: its queue A has other counters too, so no queue waits for you alone).

The scripted morning leaves that counter to you: open it with F9, call with F1, and rate
on the pad window. QMS_COUNTER=<id> picks another counter."""

from __future__ import annotations

from demo.parts import DemoContext, driven_counter

ORDER = 70


def start(ctx: DemoContext) -> None:
    cid = driven_counter(ctx.hall)
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
