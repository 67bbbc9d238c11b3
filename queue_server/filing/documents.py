"""Documents: images checked with Pillow (pure, no I/O) and stored content-addressed.

A document is named by the SHA-256 of its bytes, so an upload repeated (the kiosk's
retry, the same page twice) is stored once. Files live under DIR/documents/ab/<sha256>,
encrypted with the hall's filing key (DIR/filing.key, Fernet), and are written and
fsynced before the SQLite commit that makes them known, so an acknowledged upload
survives a crash.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from PIL import Image, UnidentifiedImageError

from ..catalogue import FilingSettings
from ..durable import write_atomic
from .errors import FilingRefusal
from .state import Document

_MAGIC = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG"}


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    min_pixels: int
    max_pixels: int

    @classmethod
    def of(cls, s: FilingSettings) -> Limits:
        return cls(s.max_document_kb * 1024, s.min_pixels, s.max_pixels)


def check_image(data: bytes, limits: Limits, at: datetime, device: str) -> Document:
    """The document these bytes make, or a FilingRefusal saying what is wrong."""
    if len(data) > limits.max_bytes:
        raise FilingRefusal("DOCUMENT_TOO_LARGE", f"{len(data)} bytes > {limits.max_bytes}",
                            limit_kb=limits.max_bytes // 1024)
    fmt = next((f for magic, f in _MAGIC.items() if data.startswith(magic)), None)
    if fmt is None:
        raise FilingRefusal("DOCUMENT_TYPE", "not JPEG or PNG")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                if im.format != fmt:
                    raise FilingRefusal("DOCUMENT_TYPE", f"{im.format} inside a {fmt} header")
                width, height = im.size
                if (min(width, height) < limits.min_pixels
                        or max(width, height) > limits.max_pixels):
                    raise FilingRefusal("DOCUMENT_DIMENSIONS", f"{width}x{height}",
                                        min_pixels=limits.min_pixels,
                                        max_pixels=limits.max_pixels)
                im.load()  # decodes every pixel: a truncated or damaged file fails here
    except FilingRefusal:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise FilingRefusal("DOCUMENT_CORRUPT", f"{type(e).__name__}: {e}") from None
    return Document(sha256=hashlib.sha256(data).hexdigest(), size=len(data), width=width,
                    height=height, format=fmt, stored_at=at, devices={device}, data=data)


def load_key(data_dir: Path) -> bytes:
    """The hall's filing key, made on first use (0600). Back it up with the data: without
    it the filings' personal data and the documents cannot be read."""
    path = data_dir / "filing.key"
    if path.exists():
        return path.read_bytes().strip()
    key = Fernet.generate_key()
    write_atomic(path, key + b"\n", mode=0o600)
    return key


class DocumentStore:
    def __init__(self, data_dir: Path, fernet: Fernet) -> None:
        self.dir = data_dir / "documents"
        self.fernet = fernet

    def path(self, sha256: str) -> Path:
        return self.dir / sha256[:2] / sha256

    def put(self, sha256: str, data: bytes) -> None:
        """Write (encrypted) and fsync; a file already there is the same content."""
        p = self.path(sha256)
        if p.exists():
            return
        p.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(p, self.fernet.encrypt(data), mode=0o600)

    def get(self, sha256: str) -> bytes:
        try:
            data = self.fernet.decrypt(self.path(sha256).read_bytes())
        except InvalidToken:
            raise OSError(f"document {sha256} cannot be decrypted with this hall's key") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise OSError(f"document {sha256} is damaged on disk")
        return data

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)
