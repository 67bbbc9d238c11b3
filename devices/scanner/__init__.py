"""Code scanners: serial/USB-CDC (pyserial), USB HID keyboard-mode (evdev), camera (QR).

All of them yield `Scan(data, source)`; the kiosk runs one `watch()` per scanner on
a background thread and calls `stop()` to end it.
"""

from .hid import HidScanner, KeyDecoder
from .protocol import LineDecoder, Scan, decode_code
from .serialscanner import SerialScanner

# The camera parts (devices.scanner.camera) import OpenCV, so they are not loaded here.
__all__ = ["HidScanner", "KeyDecoder", "LineDecoder", "Scan", "SerialScanner", "decode_code"]
