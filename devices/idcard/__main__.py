"""python -m devices.idcard --port DEV [--once] [--timeout S]: print cards as JSON lines."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading

from devices import DeviceState, DeviceStatus

from .reader import CardReader, CardReadError

EXIT_OK, EXIT_ERROR, EXIT_TIMEOUT = 0, 1, 2


def _print_status(status: DeviceStatus) -> None:
    if status.state is DeviceState.READY:
        print("idcard: reader ready", file=sys.stderr)
    elif status.message:
        print(f"idcard: {status.state.value}: {status.message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devices.idcard",
        description="Read second-generation ID cards (and residence/permanent resident cards) "
        "from a SAM reader and print one JSON line per card.",
    )
    parser.add_argument("--port", required=True, help="serial device, e.g. /dev/qms-idcard")
    parser.add_argument("--once", action="store_true", help="read one card, then exit")
    parser.add_argument("--timeout", type=float, metavar="S",
                        help="give up after S seconds (exit 2 with --once)")
    parser.add_argument("--photo", action="store_true", help="include the WLT photo as hex")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug log on stderr")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    reader = CardReader(args.port, status_listener=_print_status)
    timer: threading.Timer | None = None
    signal.signal(signal.SIGTERM, lambda *_: reader.stop())

    def emit(card_dict: dict) -> None:
        print(json.dumps(card_dict, ensure_ascii=False), flush=True)

    def as_dict(card) -> dict:
        out = card.to_json_dict()
        if args.photo:
            out["photo_hex"] = card.photo.hex()
        return out

    try:
        if args.once:
            try:
                card = reader.read_card(timeout=args.timeout)
            except CardReadError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return EXIT_ERROR
            if card is None:
                status = reader.status
                if status.state in (DeviceState.OFFLINE, DeviceState.ERROR):
                    print(f"error: {status.message}", file=sys.stderr)
                    return EXIT_ERROR
                print(f"no card within {args.timeout} s", file=sys.stderr)
                return EXIT_TIMEOUT
            emit(as_dict(card))
            return EXIT_OK
        if args.timeout:
            timer = threading.Timer(args.timeout, reader.stop)
            timer.daemon = True
            timer.start()
        for card in reader.watch():
            emit(as_dict(card))
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        # Last line of defence: a clear line for the user, the traceback only with -v.
        logging.getLogger(__name__).debug("unexpected failure", exc_info=True)
        print(f"error: ID card reader failed unexpectedly: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if timer is not None:
            timer.cancel()
        reader.close()


if __name__ == "__main__":
    sys.exit(main())
