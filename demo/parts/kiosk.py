"""The self-service kiosk (kiosk-1) in the demo, on the simulated devices of
demo/parts/devices.py. QMS_KIOSK_WINDOW=WxH sets its window (default 1600x900)."""

from __future__ import annotations

import os

from demo.parts import DemoContext

ORDER = 60
DEVICE = "kiosk-1"


def start(ctx: DemoContext) -> None:
    if not ctx.gui or DEVICE not in ctx.hall.device_ids:
        return
    ctx.reserved.add(DEVICE)
    run = ctx.run_dir
    ctx.spawn("kiosk", [
        "-m", "kiosk", "--config", str(ctx.hall_path), "--device", DEVICE,
        "--broker", ctx.broker.address, "--credentials", str(ctx.broker.credentials_file),
        "--data", str(run / DEVICE), "--idcard-port", str(run / "idcard"),
        "--scanner-port", str(run / "scanner"), "--printer", f"serial:{run / 'printer'}",
        "--camera-dir", str(run / "camera"),
        "--windowed", os.environ.get("QMS_KIOSK_WINDOW", "1600x900"),
    ])
    ctx.say(f"{DEVICE}: the kiosk window is open (log in {run}/kiosk.log)")
