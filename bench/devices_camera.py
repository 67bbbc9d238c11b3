"""Camera QR pipeline speed against a bare pyzbar QR-only decode of the same frames.

    ./qms bench devices_camera [--frames 40] [--rounds 5] [--opencv] [--json]

Frames are synthetic camera pictures (textured, noisy, slightly blurred background,
a QR code of varying size and place in two frames of three) at 1280x720 and
640x480, made once with a fixed seed. Both sides run on one core in the same
process, interleaved round by round:

  bare      pyzbar.decode(gray, symbols=[QRCODE]) on frames already in grayscale
  pipeline  CameraScanner.process(bgr_frame): grayscale, QR-only decode, text
            decoding, de-duplication, Scan objects

Target: pipeline time per frame <= 1.25 x bare.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import cv2
import numpy as np
import segno
from pyzbar import pyzbar

from devices.scanner.camera import CameraScanner

TARGET_RATIO = 1.25
SIZES = [(1280, 720), (640, 480)]
TEXTS = [
    "QMS-APPT:demo:20261123:A7K2Q9",
    "预约：社保医保 B 窗口 2026-11-23 09:30 凭证 7H3KQ2",
    "https://zwfw.example.gov.cn/guide?item=110105-0001",
    "QMS-TICKET:demo:A012:K00042",
]


def _qr(text: str, scale: int) -> np.ndarray:
    qr = segno.make_qr(text, encoding=None if text.isascii() else "utf-8")
    matrix = np.array([[0 if dark else 255 for dark in row] for row in qr.matrix], np.uint8)
    matrix = np.pad(matrix, 4, constant_values=255)
    big = np.kron(matrix, np.ones((scale, scale), np.uint8))
    return cv2.cvtColor(big, cv2.COLOR_GRAY2BGR)


def make_frames(size: tuple[int, int], count: int, seed: int) -> list[np.ndarray]:
    width, height = size
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(count):
        # A counter, a wall and a hand: smooth gradient, a few flat boxes, sensor noise.
        x = np.linspace(0, 1, width, dtype=np.float32)
        y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
        base = 90 + 80 * x[None, :] * (0.5 + y) + rng.uniform(-20, 20)
        frame = np.repeat(base[..., None], 3, axis=2).astype(np.float32)
        for _ in range(6):
            x0, y0 = int(rng.integers(0, width - 40)), int(rng.integers(0, height - 40))
            w, h = int(rng.integers(20, width // 3)), int(rng.integers(20, height // 3))
            frame[y0 : y0 + h, x0 : x0 + w] = rng.uniform(30, 230, size=3)
        if i % 3 != 2:
            qr = _qr(TEXTS[i % len(TEXTS)], int(rng.integers(3, 7)))
            qh, qw = qr.shape[:2]
            qh, qw = min(qh, height), min(qw, width)
            x0 = int(rng.integers(0, width - qw + 1))
            y0 = int(rng.integers(0, height - qh + 1))
            frame[y0 : y0 + qh, x0 : x0 + qw] = qr[:qh, :qw] * 0.8 + 25
        frame += rng.normal(0, 6, size=frame.shape).astype(np.float32)
        img = np.clip(frame, 0, 255).astype(np.uint8)
        frames.append(cv2.GaussianBlur(img, (3, 3), 0.8))
    return frames


def _time_per_frame(fn, frames: list) -> float:
    t0 = time.perf_counter()
    for f in frames:
        fn(f)
    return (time.perf_counter() - t0) / len(frames)


def run_size(
    size: tuple[int, int], n_frames: int, rounds: int, with_opencv: bool
) -> dict[str, float | int | str]:
    frames = make_frames(size, n_frames, seed=size[0])
    grays = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in frames]
    qr_only = [pyzbar.ZBarSymbol.QRCODE]

    def bare(gray: np.ndarray) -> object:
        return pyzbar.decode(gray, symbols=qr_only)

    # The pipeline as the kiosk runs it, fed frames directly.
    scanner = CameraScanner()
    decoded = sum(1 for g in grays if bare(g))
    piped = sum(1 for f in frames if CameraScanner(hold=0).process(f))
    bare_t, pipe_t = [], []
    for _ in range(rounds):
        bare_t.append(_time_per_frame(bare, grays))
        pipe_t.append(_time_per_frame(scanner.process, frames))
    row: dict[str, float | int | str] = {
        "size": f"{size[0]}x{size[1]}",
        "frames": n_frames,
        "with_code": sum(1 for i in range(n_frames) if i % 3 != 2),
        "bare_decoded": decoded,
        "pipeline_decoded": piped,
        "bare_ms": statistics.median(bare_t) * 1000,
        "pipeline_ms": statistics.median(pipe_t) * 1000,
    }
    if decoded != piped:
        print(f"warning: {row['size']}: bare decoded {decoded} frames, pipeline {piped}")
    row["ratio"] = float(row["pipeline_ms"]) / float(row["bare_ms"])
    if with_opencv:
        detector = cv2.QRCodeDetector()
        row["opencv_ms"] = _time_per_frame(lambda f: detector.detectAndDecode(f), frames) * 1000
    return row


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./qms bench devices_camera")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--opencv", action="store_true",
                        help="also time OpenCV's QRCodeDetector on the same frames")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    # One core: zbar is single-threaded anyway; keep OpenCV's colour conversion honest.
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    cv2.setNumThreads(1)

    rows = [run_size(size, args.frames, args.rounds, args.opencv) for size in SIZES]
    ok = all(float(r["ratio"]) <= TARGET_RATIO for r in rows)
    if args.json:
        print(json.dumps({"cpu": cpu, "rows": rows, "target_ratio": TARGET_RATIO, "pass": ok}))
        return 0 if ok else 1
    print(f"Camera QR pipeline vs bare pyzbar QR-only decode (one core: cpu {cpu}, "
          f"median of {args.rounds} rounds)")
    head = f"  {'frame':>9} {'frames':>6} {'found':>7} {'bare ms':>8} {'pipe ms':>8} " \
           f"{'bare fps':>8} {'pipe fps':>8} {'ratio':>6}"
    if args.opencv:
        head += f" {'opencv ms':>9}"
    print(head)
    for r in rows:
        line = (
            f"  {r['size']:>9} {r['frames']:>6} {r['pipeline_decoded']:>3}/{r['with_code']:<3} "
            f"{float(r['bare_ms']):8.2f} {float(r['pipeline_ms']):8.2f} "
            f"{1000 / float(r['bare_ms']):8.1f} {1000 / float(r['pipeline_ms']):8.1f} "
            f"{float(r['ratio']):6.3f}"
        )
        if args.opencv:
            line += f" {float(r['opencv_ms']):9.2f}"
        print(line)
    print(f"  target: ratio <= {TARGET_RATIO}  {'ok' if ok else 'OVER TARGET'}")
    return 0 if ok else 1
