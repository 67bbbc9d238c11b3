"""The whole online path in a real browser: hall broker + queue server, bridge, central
broker, portal (uvicorn), and Debian's headless Chromium loading the hall page, running
its script and showing the waiting figures change while kiosks issue tickets."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from queue_server.client import RequestClient
from tests.portal.cdp import Browser
from tests.portal.online import online_hall
from tests.support.broker import Broker

CHROMIUM = shutil.which("chromium")
DOCS = Path(__file__).resolve().parents[2] / "docs"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                "(./qms setup installs it as root: apt-get install chromium)")


@pytest.fixture
def online(tmp_path: Path) -> Iterator[tuple[Broker, str]]:
    with online_hall(tmp_path) as (hall, url):
        yield hall, url


def chromium(tmp: Path, *args: str) -> subprocess.Popen[bytes]:
    profile = tempfile.mkdtemp(dir=tmp)
    return subprocess.Popen([CHROMIUM or "chromium", *FLAGS, f"--user-data-dir={profile}",
                             *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def waiting_in_dom(html: str, service: str) -> int:
    row = html.split(f'data-service="{service}"')[1]
    return int(row.split('class="waiting">')[1].split("<")[0])


def test_chromium_runs_the_page_script_and_shows_live_numbers(online: Any,
                                                              tmp_path: Path) -> None:
    hall, base = online
    cell = "document.querySelector('tr[data-service=\"B\"] .waiting').textContent"
    browser = Browser(f"{base}/h/demo", tmp_path)
    try:
        browser.wait_for("document.readyState === 'complete'")
        shown = int(browser.wait_for(cell))
        time.sleep(1)  # the page's event stream is open
        with RequestClient("demo", "kiosk-1", hall.password("kiosk-1"),
                           hall.broker_address) as kiosk:
            for _ in range(2):
                assert kiosk.request("issue", {"service": "B", "source": "walk_in"})["ok"]
        # No reload: the page's script took the new figure from the event stream.
        browser.wait_for(f"{cell} === '{shown + 2}'")
        if os.environ.get("QMS_DOCS_SHOTS"):  # the changed row still highlighted
            browser.screenshot(DOCS / "portal-hall-live.png")
        assert browser.eval("performance.getEntriesByType('navigation').length") == 1
    finally:
        browser.close()


def test_live_stream_and_pages_in_chromium(online: Any, tmp_path: Path) -> None:
    hall, base = online
    with RequestClient("demo", "kiosk-1", hall.password("kiosk-1"),
                       hall.broker_address) as kiosk:
        before = next(s["waiting"] for s in httpx.get(f"{base}/api/v1/halls/demo").json()
                      ["services"] if s["service"] == "B")
        # The page's event stream carries the new figures as kiosks issue tickets.
        with httpx.stream("GET", f"{base}/events?halls=demo", timeout=20) as r:
            lines = r.iter_lines()
            for _ in range(3):
                assert kiosk.request("issue", {"service": "B", "source": "walk_in"})["ok"]
            seen = before
            deadline = time.monotonic() + 15
            while seen < before + 3 and time.monotonic() < deadline:
                line = next(lines)
                if line.startswith("data: "):
                    h = json.loads(line[6:])
                    seen = next(s["waiting"] for s in h["services"] if s["service"] == "B")
            assert seen == before + 3
        t = kiosk.request("issue", {"service": "A", "source": "walk_in"})["ticket"]
    # A filing lookup crosses to the real server and back (an unknown receipt code).
    r = httpx.get(f"{base}/api/v1/halls/demo/filings/nosuchcode0000", timeout=20)
    assert r.status_code == 404 and r.json()["code"].startswith("UNKNOWN"), r.text
    dom, _ = chromium(tmp_path, "--dump-dom", f"{base}/h/demo").communicate(timeout=60)
    assert waiting_in_dom(dom.decode(), "B") == before + 3
    # Screenshots go to docs/ only when asked (QMS_DOCS_SHOTS=1), after a look at them.
    shots = DOCS if os.environ.get("QMS_DOCS_SHOTS") else tmp_path
    for name, path in (("portal-hall.png", "/h/demo"),
                       ("portal-ticket.png", f"/t/demo/{t['code']}"),
                       ("portal-index.png", "/"),
                       ("portal-book.png", "/book?hall=demo&service=C")):
        browser = chromium(tmp_path, "--timeout=3000", "--window-size=412,915",
                           f"--screenshot={shots / name}", f"{base}{path}")
        browser.communicate(timeout=60)
        assert (shots / name).stat().st_size > 5_000


def test_book_in_chromium_and_check_in_at_the_kiosk(online: Any, tmp_path: Path) -> None:
    hall, base = online
    browser = Browser(f"{base}/book?hall=demo&service=C", tmp_path)
    try:
        browser.wait_for("document.querySelector('input[name=slot]') !== null")
        browser.eval("document.querySelector('input[name=slot]').checked = true;"
                     "document.querySelector('input[name=slot]').form.submit()")
        browser.wait_for("document.querySelector('.booked svg') !== null")
        code = browser.eval("document.querySelector('.code strong').textContent")
        if os.environ.get("QMS_DOCS_SHOTS"):
            browser.screenshot(DOCS / "portal-booked.png")
    finally:
        browser.close()
    # The demo hall books the same day; check-in opens 30 minutes before the slot.
    with RequestClient("demo", "kiosk-1", hall.password("kiosk-1"),
                       hall.broker_address) as kiosk:
        reply = kiosk.request("checkin", {"code": code})
    assert reply["ok"], reply
    assert reply["ticket"]["priority"] and reply["ticket"]["service"] == "C"
