"""Document checks (Pillow) and the content-addressed, encrypted store on disk."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from PIL import Image

from queue_server.filing.documents import DocumentStore, Limits, check_image, load_key
from queue_server.filing.errors import FilingRefusal
from tests.queue_server.filing_support import page

LIMITS = Limits(max_bytes=300 * 1024, min_pixels=480, max_pixels=6000)
AT = datetime(2026, 11, 23, 9, 0)


def refused(data: bytes) -> dict:  # type: ignore[type-arg]
    with pytest.raises(FilingRefusal) as e:
        check_image(data, LIMITS, AT, "kiosk-1")
    return e.value.as_error()


def test_good_jpeg_and_png() -> None:
    data = page(1)
    d = check_image(data, LIMITS, AT, "kiosk-1")
    assert d.format == "JPEG" and (d.width, d.height) == (900, 1200)
    assert d.sha256 == hashlib.sha256(data).hexdigest() and d.size == len(data)
    assert check_image(page(2, fmt="PNG"), LIMITS, AT, "kiosk-1").format == "PNG"


def test_bad_images_are_refused_with_a_clear_message() -> None:
    big = page(3, size=(3000, 4000), quality=98)
    assert len(big) > LIMITS.max_bytes
    e = refused(big)
    assert e["code"] == "DOCUMENT_TOO_LARGE" and e["limit_kb"] == 300
    assert "太大" in e["message"]
    assert refused(page(1)[:4000])["code"] == "DOCUMENT_CORRUPT"  # truncated
    broken = bytearray(page(1))
    broken[600:5000] = b"\x00" * 4400
    assert refused(bytes(broken))["code"] in ("DOCUMENT_CORRUPT",)
    gif = io.BytesIO()
    Image.new("RGB", (800, 800)).save(gif, "GIF")
    assert refused(gif.getvalue())["code"] == "DOCUMENT_TYPE"
    assert refused(b"%PDF-1.4 not an image")["code"] == "DOCUMENT_TYPE"
    tiny = refused(page(1, size=(300, 200)))
    assert tiny["code"] == "DOCUMENT_DIMENSIONS" and tiny["min_pixels"] == 480


def test_store_is_content_addressed_and_encrypted(tmp_path: Path) -> None:
    key = load_key(tmp_path)
    assert load_key(tmp_path) == key and (tmp_path / "filing.key").stat().st_mode & 0o077 == 0
    store = DocumentStore(tmp_path, Fernet(key))
    data = page(4)
    sha = hashlib.sha256(data).hexdigest()
    store.put(sha, data)
    store.put(sha, data)  # again: nothing changes
    on_disk = store.path(sha).read_bytes()
    # encrypted at rest: a Fernet token is base64 text, which can spell "JFIF" by chance
    # (that made this test fail about one run in a hundred) but never holds the 0xFF
    # bytes every JPEG marker starts with
    assert data not in on_disk and b"\xff" not in on_disk
    assert store.get(sha) == data
    other = DocumentStore(tmp_path, Fernet(Fernet.generate_key()))
    with pytest.raises(OSError, match="cannot be decrypted"):
        other.get(sha)
