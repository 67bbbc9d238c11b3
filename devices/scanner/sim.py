"""A serial barcode scanner simulator on a pseudo-terminal.

In-process: ScannerSimulator(link).start(); scan("text", encoding="gb18030"); stop().
As a program: python -m devices.scanner.sim --link PATH; each stdin line is one scan.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from devices import PtyLink

TERMINATORS = {"cr": b"\r", "crlf": b"\r\n", "lf": b"\n"}


class ScannerSimulator:
    """Writes codes to a pty the way a scanner in serial/CDC mode sends them."""

    def __init__(
        self, link: str | None = None, *, baudrate: int = 9600, pace: bool = True,
        terminator: bytes = b"\r",
    ) -> None:
        self.link = link
        self.baudrate = baudrate
        self.pace = pace
        self.terminator = terminator
        self._pty = PtyLink(link)
        self._lock = threading.Lock()

    @property
    def path(self) -> str:
        return self._pty.path

    def start(self) -> str:
        return self._pty.open()

    def stop(self) -> None:
        with self._lock:
            self._pty.close()

    def __enter__(self) -> ScannerSimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def unplug(self) -> None:
        self.stop()

    def plug(self) -> None:
        with self._lock:
            if not self._pty.is_open:
                self._pty.open()

    def send_raw(self, data: bytes) -> None:
        """Bytes exactly as given (for noise, split codes, odd terminators)."""
        with self._lock:
            self._pty.write(data, self.baudrate if self.pace else None)

    def scan(self, text: str, encoding: str = "utf-8", terminator: bytes | None = None) -> None:
        """One code, encoded as the scanner is set (UTF-8 or GB18030), then the suffix."""
        suffix = self.terminator if terminator is None else terminator
        self.send_raw(text.encode(encoding) + suffix)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devices.scanner.sim",
        description="Simulated serial barcode scanner on a pty: each stdin line is one scan.",
    )
    parser.add_argument("--link", required=True, help="symlink to create for the pty")
    parser.add_argument("--encoding", default="utf-8", help="utf-8 (default) or gb18030")
    parser.add_argument("--terminator", choices=sorted(TERMINATORS), default="cr")
    parser.add_argument("--baud", type=int, default=9600, help="pacing (default 9600)")
    args = parser.parse_args(argv)
    try:
        "".encode(args.encoding)
    except LookupError:
        print(f"error: unknown encoding {args.encoding!r}", file=sys.stderr)
        return 1
    sim = ScannerSimulator(args.link, baudrate=args.baud, terminator=TERMINATORS[args.terminator])
    try:
        sim.start()
    except OSError as exc:
        print(f"error: cannot create the pty link at {args.link}: {exc}", file=sys.stderr)
        return 1
    print(f"scanner simulator on {sim.path}, linked at {args.link}; one code per line",
          file=sys.stderr)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        for line in sys.stdin:
            code = line.rstrip("\r\n")
            if code:
                try:
                    sim.scan(code, args.encoding)
                except UnicodeEncodeError as exc:
                    print(f"cannot encode {code!r} as {args.encoding}: {exc}", file=sys.stderr)
            if stop.is_set():
                break
        else:
            while not stop.wait(0.5):
                pass
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
