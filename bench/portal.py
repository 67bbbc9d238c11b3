"""`./qms bench portal`: the portal with 40,000 halls on the central broker.

Provisions and starts a central Mosquitto, publishes every hall's retained `public/wait`
snapshot (6 services, 8 counters each), starts `python -m portal` against it and waits
until it holds them all, then, while snapshots keep changing (each hall about every
30 s, as a busy province), times pages and API calls with one client (sequential) and
prints the portal's RSS. Baseline in the same run: a static file from the same server.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from provisioning.bridge import provision_bridge
from provisioning.broker import hash_password
from queue_server.mqttlink import BrokerAddress, connect, make_client

REPO = Path(__file__).resolve().parents[1]
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
SERVICES = [("A", "综合受理"), ("B", "社保医保"), ("C", "不动产登记"), ("D", "税务办理"),
            ("E", "户籍证明"), ("F", "公积金")]


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def snapshot(hall: str, i: int, rnd: random.Random) -> bytes:
    return json.dumps({
        "hall": hall, "name": f"第{i}号便民服务中心", "at": "2026-11-23T09:05:03+08:00",
        "services": [{"service": c, "name": n, "waiting": rnd.randint(0, 40),
                      "est_wait_s": rnd.randint(0, 3600), "open": True} for c, n in SERVICES],
        "counters": [{"counter": str(k), "name": f"{k}号窗口", "status": "open",
                      "serving": f"A{rnd.randint(1, 300):03d}"} for k in range(1, 9)],
    }, ensure_ascii=False).encode()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] * 1000


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="./qms bench portal", description=__doc__.split("\n")[0])
    ap.add_argument("--halls", type=int, default=40_000)
    ap.add_argument("--requests", type=int, default=300, help="per kind of page")
    ap.add_argument("--update-per-s", type=float, default=0.0,
                    help="snapshot changes per second while timing (default: halls / 30)")
    args = ap.parse_args(argv)
    rnd = random.Random(1)
    work = Path(tempfile.mkdtemp(prefix="qms-bench-portal-"))
    os.chmod(work, 0o755)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        port = free_port()
        addr = BrokerAddress("127.0.0.1", port)
        provision_bridge("bench", work, addr)
        # A publisher that stands in for 40,000 halls' bridges.
        pw = "bench-publisher"
        with open(work / "passwd", "a") as f:
            f.write(f"bench:{hash_password(pw)}\n")
        with open(work / "acl", "a") as f:
            f.write("\nuser bench\ntopic write qms/+/public/#\n")
        conf = (work / "mosquitto.conf").read_text().replace(
            "max_queued_messages 1000", "max_queued_messages 100000\nmax_inflight_messages 0")
        (work / "mosquitto.conf").write_text(conf)
        broker = subprocess.Popen([MOSQUITTO, "-c", str(work / "mosquitto.conf")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(broker)
        time.sleep(0.5)
        pub = make_client("bench", "bench", pw, will=False)
        pub.max_inflight_messages_set(1000)
        connect(pub, addr, blocking=True)
        pub.loop_start()
        halls = [f"h{i:05d}" for i in range(args.halls)]
        t0 = time.monotonic()
        infos = [pub.publish(f"qms/{h}/public/wait", snapshot(h, i, rnd), qos=1, retain=True)
                 for i, h in enumerate(halls)]
        for info in infos:
            info.wait_for_publish(60)
        print(f"published {len(halls)} retained snapshots in {time.monotonic() - t0:.1f} s")

        creds = json.loads((work / "credentials.json").read_text())
        web_port = free_port()
        t0 = time.monotonic()
        portal = subprocess.Popen(
            [sys.executable, "-m", "portal", "--central", str(addr), "--user", "portal-1",
             "--credentials", str(work / "credentials.json"), "--listen",
             f"127.0.0.1:{web_port}"], cwd=REPO, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        procs.append(portal)
        base = f"http://127.0.0.1:{web_port}"
        client = httpx.Client(timeout=10)
        while True:
            try:
                if client.get(f"{base}/api/v1/halls?limit=1").json()["total"] >= len(halls):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - t0 > 300:
                print("portal did not take every snapshot within 300 s")
                return 1
            time.sleep(0.2)
        print(f"portal holds all {len(halls)} halls {time.monotonic() - t0:.1f} s after start")
        del creds

        stop = threading.Event()
        rate = args.update_per_s or len(halls) / 30

        def churn() -> None:
            i = 0
            next_at = time.monotonic()
            while not stop.is_set():
                h = rnd.randrange(len(halls))
                pub.publish(f"qms/{halls[h]}/public/wait", snapshot(halls[h], h, rnd), qos=1,
                            retain=True)
                i += 1
                next_at += 1 / rate
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)

        churner = threading.Thread(target=churn, daemon=True)
        churner.start()
        kinds = {
            "static file (baseline)": lambda: "/static/portal.css",
            "/ (first page of halls)": lambda: "/",
            "/?q= (search by name)": lambda: f"/?q=第{rnd.randrange(len(halls))}号",
            "/h/{hall}": lambda: f"/h/{rnd.choice(halls)}",
            "/api/v1/halls/{hall}": lambda: f"/api/v1/halls/{rnd.choice(halls)}",
        }
        results = {}
        for name, path in kinds.items():
            times = []
            for _ in range(args.requests):
                p = path()
                t = time.perf_counter()
                r = client.get(base + p)
                times.append(time.perf_counter() - t)
                assert r.status_code == 200, (p, r.status_code)
            results[name] = times
        stop.set()
        churner.join(2)
        rss = rss_mib(portal.pid)
        print(f"{len(halls)} halls, snapshots changing {rate:.0f}/s while timing; "
              f"{args.requests} sequential requests per kind")
        print(f"  portal RSS: {rss:.0f} MiB (target <= 1024 MiB)")
        print(f"  {'page':<28} {'p50 ms':>8} {'p99 ms':>8}")
        for name, times in results.items():
            print(f"  {name:<28} {pct(times, 50):>8.1f} {pct(times, 99):>8.1f}")
        pages = [x for k, v in results.items() if "baseline" not in k for x in v]
        print(f"  (targets: p50/p99 <= 50 ms; mean of all pages "
              f"{statistics.fmean(pages) * 1000:.1f} ms)")
        pub.loop_stop()
        return 0
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)
