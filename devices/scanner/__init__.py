"""Code scanners: serial/USB-CDC (pyserial), USB HID keyboard-mode (evdev), camera (QR).

All of them yield `Scan(data, source)`; the kiosk runs one `watch()` per scanner on
a background thread and calls `stop()` to end it.
"""

from .protocol import LineDecoder, Scan, decode_code
from .serialscanner import SerialScanner

__all__ = ["LineDecoder", "Scan", "SerialScanner", "decode_code"]
