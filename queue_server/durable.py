"""Files that survive a power cut whole: the old content or the new one, never a part."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fsync_dir(d: Path) -> None:
    """Make a rename or a new name in `d` durable (the file's own fsync does not)."""
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, mode: int = 0o600,
                 owner: tuple[int, int] | None = None) -> None:
    """Replace `path` with `data`: a temporary file beside it, its mode (and owner) set
    before it has the real name, fsync'd, renamed over `path`, and the folder fsync'd."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            if owner is not None:
                os.fchown(f.fileno(), *owner)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
