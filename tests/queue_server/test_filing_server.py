"""Self-service filing end to end over MQTT: a real Mosquitto, the server (in process or
as a process killed with SIGKILL), real SQLite and document files."""

from __future__ import annotations

import base64
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from queue_server.client import RequestClient
from tests.queue_server.filing_support import ELDER_ID, PERSONAL, elder_values, page
from tests.support.broker import DEMO_HALL, REPO, Broker
from tests.support.server import ServerProcess, in_process, ok


def upload(kiosk: RequestClient, data: bytes) -> str:
    r = ok(kiosk.request("upload", {"data": base64.b64encode(data).decode("ascii")}))
    return str(r["document"]["sha256"])


def submit(kiosk: RequestClient, request_id: str | None = None, **extra: Any) -> dict[str, Any]:
    docs = {"id_card": [upload(kiosk, page(1)), upload(kiosk, page(2))],
            "hukou_book": [upload(kiosk, page(3))], "bank_card": [upload(kiosk, page(4))]}
    body = {"item": "gaoling-jintie", "values": elder_values(), "documents": docs, **extra}
    return ok(kiosk.request("file", body, request_id=request_id))["filing"]


def test_filing_end_to_end_and_nothing_personal_on_shared_topics(
        broker: Broker, tmp_path: Path, clients: dict[str, RequestClient]) -> None:
    server = in_process(broker, tmp_path / "data")
    watcher = broker.collector("display-1", "qms/demo/state/#", "qms/demo/event/#",
                               "qms/demo/public/#")
    try:
        kiosk, other, counter = clients["kiosk-1"], clients["kiosk-2"], clients["counter-1"]
        index = ok(kiosk.request("guide"))["catalogue"]
        assert len(index["items"]) >= 12
        assert ok(clients["portal"].request("guide", {"item": "canji-zheng"}))["guide"][
            "name"] == "残疾人证申领"
        f = submit(kiosk, consent=True)
        number = f["number"]
        assert f["status"] == "submitted" and f["applicant"] == "王*英"
        assert ok(kiosk.request("filing_status", {"number": number}))["filing"]["id_number"] \
            == "110105**********2X"
        assert other.request("filing_status", {"number": number})["error"]["code"] \
            == "UNKNOWN_FILING"
        progress = ok(clients["portal"].request("filing_status", {"code": f["code"]}))
        assert "applicant" not in progress["filing"]
        ticket = ok(kiosk.request("filing_ticket", {"number": number}))["ticket"]
        assert ticket["number"] == "A001" and ticket["priority"]

        ok(counter.request("open"))
        called = ok(counter.request("call_next"))
        assert called["counter"]["ticket"]["filing"] == number
        watcher.wait_for("qms/demo/state/counter/1",
                         lambda m: (m.json()["ticket"] or {}).get("filing") == number)
        read = ok(counter.request("filing"))["filing"]
        values = {x["key"]: x["value"] for x in read["fields"]}
        assert values["id_number"] == ELDER_ID and values["phone"] == "13812345678"
        sha = read["documents"][0]["pages"][0]["sha256"]
        doc = ok(counter.request("filing_document", {"number": number, "sha256": sha}))
        assert base64.b64decode(doc["document"]["data"]) == page(1)
        assert counter.request("filing_more", {"missing": []})["error"]["code"] == \
            "MISSING_REQUIRED"
        more = ok(counter.request("filing_more", {"missing": ["户口簿本人页（原件）"]}))
        assert more["filing"]["status"] == "needs_more"
        assert ok(kiosk.request("filing_status", {"number": number}))["filing"]["missing"] == [
            "户口簿本人页（原件）"]
        extra = upload(kiosk, page(12))  # the resident photographs the page asked for
        again = ok(kiosk.request("filing_supplement", {
            "number": number, "documents": {"hukou_book": [extra]}}))
        assert again["filing"]["status"] == "submitted" and again["filing"]["documents"] == 5
        ok(counter.request("filing_accept", {"number": number}))
        done = ok(counter.request("filing_done", {"note": "已录入民政系统"}))
        assert done["filing"]["status"] == "done"
        assert ok(kiosk.request("report_guide_error", {
            "item": "gaoling-jintie", "choices": ["所需材料有误"], "text": "还要村委会证明"}))
        ok(counter.request("finish"))
    finally:
        server.stop()
    shared = [m.payload.decode("utf-8") for m in watcher.received()]
    assert shared  # boards did see the ticket move
    for secret in PERSONAL:
        assert not any(secret in text for text in shared), secret
    db = sqlite3.connect(tmp_path / "data" / "hall.db")
    log = json.dumps(db.execute("SELECT * FROM events").fetchall(), ensure_ascii=False)
    kinds = [k for (k,) in db.execute("SELECT kind FROM events")]
    for kind in ("document_stored", "filed", "filing_linked", "filing_read",
                 "filing_needs_more", "filing_supplemented", "filing_accepted", "filing_done",
                 "guide_reported"):
        assert kind in kinds
    rows = json.dumps(db.execute("SELECT * FROM filings").fetchall(), ensure_ascii=False)
    cache = json.dumps(db.execute("SELECT * FROM requests").fetchall(), ensure_ascii=False)
    for secret in PERSONAL:
        assert secret not in log and secret not in rows and secret not in cache, secret
    assert db.execute("SELECT choices, text FROM guide_reports").fetchall() == [
        ('["所需材料有误"]', "还要村委会证明")]


def test_bad_images_get_a_clear_refusal_over_mqtt(
        broker: Broker, tmp_path: Path, clients: dict[str, RequestClient]) -> None:
    server = in_process(broker, tmp_path / "data")
    try:
        kiosk = clients["kiosk-1"]
        rng = np.random.default_rng(1)
        noise = Image.fromarray(rng.integers(0, 255, (1500, 1500, 3), dtype=np.uint8))
        out = io.BytesIO()
        noise.save(out, "JPEG", quality=95)
        assert 1536 * 1024 < len(out.getvalue()) < 3 * 1024 * 1024
        big = kiosk.request("upload", {"data": base64.b64encode(out.getvalue()).decode()})
        assert big["error"]["code"] == "DOCUMENT_TOO_LARGE" and big["error"]["limit_kb"] == 1536
        assert "太大" in big["error"]["message"]
        cut = kiosk.request("upload", {"data": base64.b64encode(page(1)[:3000]).decode()})
        assert cut["error"]["code"] == "DOCUMENT_CORRUPT" and "损坏" in cut["error"]["message"]
        junk = kiosk.request("upload", {"data": "not base64!"})
        assert junk["error"]["code"] == "BAD_REQUEST"
        assert clients["counter-1"].request("upload", {"data": "AAAA"})["error"]["code"] == \
            "FORBIDDEN"
        assert not list((tmp_path / "data" / "documents").glob("*/*"))
    finally:
        server.stop()


def test_restart_mid_filing_loses_nothing_acknowledged(
        broker: Broker, tmp_path: Path, clients: dict[str, RequestClient]) -> None:
    proc = ServerProcess(broker, tmp_path / "data").start()
    try:
        kiosk = clients["kiosk-1"]
        f = submit(kiosk, request_id="filing-once", consent=True)
        spare = upload(kiosk, page(11))  # a page of the next form, acknowledged
        proc.kill()
        proc.start()
        again = submit(kiosk, request_id="filing-once", consent=True)  # retried after restart
        assert again["number"] == f["number"]  # the same filing, not a second one
        status = ok(kiosk.request("filing_status", {"number": f["number"]}))["filing"]
        assert status["status"] == "submitted" and status["documents"] == 4
        # the next form uses the page uploaded before the crash
        docs = {"id_card": [spare], "hukou_book": [upload(kiosk, page(3))],
                "bank_card": [upload(kiosk, page(4))]}
        p = ok(clients["kiosk-2"].request("prefill", {"item": "cxjm-yanglao",
                                                       "id_number": ELDER_ID}))["prefill"]
        assert p["from"] == f["number"] and {x["key"] for x in p["fields"]} >= {"phone"}
        values = {k: v for k, v in elder_values(pay_grade="300").items()
                  if k not in ("phone", "bank_account", "bank_name")}
        second = ok(kiosk.request("file", {
            "item": "cxjm-yanglao", "values": values, "documents": docs,
            "reuse_from": f["number"], "reuse_fields": ["phone", "bank_account", "bank_name"]}))
        counter = clients["counter-3"]
        ok(counter.request("open"))
        read = ok(counter.request("filing", {"number": second["filing"]["number"]}))["filing"]
        assert {x["key"]: x["value"] for x in read["fields"]}["bank_account"] == \
            "6230910012345678"
        first = ok(counter.request("filing", {"number": f["number"]}))["filing"]
        sha = first["documents"][0]["pages"][1]["sha256"]
        doc = ok(counter.request("filing_document", {"number": f["number"], "sha256": sha}))
        assert base64.b64decode(doc["document"]["data"]) == page(2)
    finally:
        proc.close()


def test_bad_catalogue_stops_the_server_naming_file_and_field(tmp_path: Path) -> None:
    import shutil

    from queue_server.catalogue import DEFAULT_DIR

    cat = tmp_path / "catalogue"
    shutil.copytree(DEFAULT_DIR, cat)
    item = cat / "items" / "canji-zheng.toml"
    item.write_text(item.read_text("utf-8").replace("visits = 1", "visits = -1"), "utf-8")
    hall = tmp_path / "hall.toml"
    hall.write_text(DEMO_HALL.read_text("utf-8") + f'\n[filing]\ncatalogue = "{cat}"\n', "utf-8")
    run = subprocess.run([sys.executable, "-m", "queue_server", "--config", str(hall),
                          "--data", str(tmp_path / "data"), "--credentials",
                          str(tmp_path / "none.json")], cwd=REPO, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 2
    assert f"{item}: visits: must be a whole number from 0 to 5" in run.stderr
