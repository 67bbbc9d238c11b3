"""./qms bench NAME [args]: runs bench/NAME.py's main(argv)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

GROUPS = {"devices": ["devices_idcard", "devices_camera", "devices_printer"]}


def available() -> list[str]:
    names = [m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])
             if not m.name.startswith("_")]
    return sorted(set(names) | set(GROUPS))


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: ./qms bench NAME [options]   (./qms bench NAME --help)\nbenchmarks: "
              + ", ".join(available()))
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in available():
        print(f"unknown benchmark {name!r}; choose from: {', '.join(available())}",
              file=sys.stderr)
        return 2
    rc = 0
    for part in GROUPS.get(name, [name]):
        try:
            module = importlib.import_module(f"bench.{part}")
        except ModuleNotFoundError as e:
            print(f"[{part}] not available: {e}", file=sys.stderr)
            rc = 1
            continue
        rc = module.main(rest) or rc
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
