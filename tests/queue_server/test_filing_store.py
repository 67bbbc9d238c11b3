"""The filing part's tables through store.Store: reload gives back every filing, uploads
no filing took are deleted (a half-filled form is not kept), replies are cached lean."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from queue_server.engine import Engine
from queue_server.filing import commands as fc
from queue_server.filing.state import book
from queue_server.store import Store
from tests.queue_server.filing_support import page as _page
from tests.queue_server.test_filing_rules import FilingDesk


def play(d: FilingDesk, store: Store, cmd: Any, rid: str, op: str = "op") -> dict[str, Any]:
    out = d.run(cmd)
    with store.transaction():
        store.record(device="kiosk-1", request_id=rid, op=op, at=d.now, events=out.events,
                     state=d.engine.state, reply=out.reply)
    return out.reply


def test_reload_and_orphan_uploads(tmp_path: Path) -> None:
    d = FilingDesk()
    store = Store(tmp_path, d.hall)
    docs = {}
    for i, key in enumerate(("id_card", "hukou_book", "bank_card")):
        docs[key] = [play(d, store, fc.Upload("kiosk-1", _page(i)), f"u{i}")["document"][
            "sha256"]]
    orphan = play(d, store, fc.Upload("kiosk-1", _page(9)), "u9")["document"]["sha256"]
    f = play(d, store, d.file(docs=docs, consent=True), "f1")["filing"]
    d.open("1")
    play(d, store, fc.TicketFor("kiosk-1", number=f["number"]), "t1")
    play(d, store, fc.Move("1", op="filing_more", number=f["number"], missing=("户口簿",)),
         "m1")
    store.close()

    again = Store(tmp_path, d.hall)
    s = again.load(d.now.date())
    e2 = Engine(d.hall, s)
    b1, b2 = book(d.engine.state), book(s)
    assert b2.filings.keys() == b1.filings.keys() and b2.seq == b1.seq
    g1, g2 = b1.filings[f["number"]], b2.filings[f["number"]]
    assert (g2.values, g2.documents, g2.status, g2.missing, g2.ticket, g2.history) == (
        g1.values, g1.documents, g1.status, g1.missing, g1.ticket, g1.history)
    assert b2.by_ticket == b1.by_ticket and b2.latest == b1.latest
    assert set(b2.documents) == set(b1.documents)
    assert b2.reader is not None and b2.reader(orphan) == _page(9)

    # two days on, the upload no filing took is gone; the filed ones stay
    later = d.now.date() + timedelta(days=2)
    again.prune_requests(later)
    assert not again.filing.documents.path(orphan).exists()
    assert again.db.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 3
    assert all(again.filing.documents.path(v[0]).exists() for v in docs.values())
    assert e2.counter_view("1", d.now)["status"] == "open"
    again.close()


def test_document_bytes_are_not_kept_in_the_reply_cache(tmp_path: Path) -> None:
    d = FilingDesk()
    store = Store(tmp_path, d.hall)
    reply = {"ok": True, "document": {"sha256": "a" * 64, "data": "QUJD"}}
    with store.transaction():
        store.record(device="counter-1", request_id="r1", op="filing_document", at=d.now,
                     events=[], state=d.engine.state, reply=reply)
    cached = store.cached_reply("counter-1", "r1")
    assert cached is not None
    assert cached["document"] == {"sha256": "a" * 64, "data": None, "data_omitted": True}
    view = {"ok": True, "filing": {"applicant": "王秀英", "fields": [{"value": "13812345678"}]}}
    with store.transaction():
        store.record(device="counter-1", request_id="r2", op="filing", at=d.now,
                     events=[], state=d.engine.state, reply=view)
        store.record(device="kiosk-1", request_id="r3", op="issue", at=d.now,
                     events=[], state=d.engine.state, reply={"ok": True, "ticket": "A001"})
    assert store.cached_reply("counter-1", "r2") == view  # sent again as it was
    raw = " ".join(r for (r,) in store.db.execute("SELECT reply FROM requests"))
    assert "王秀英" not in raw and "13812345678" not in raw and "A001" in raw
    store.close()


def test_guide_reports_cli_lists_and_handles(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from queue_server.__main__ import main

    d = FilingDesk()
    store = Store(tmp_path, d.hall)
    play(d, store, fc.ReportGuide("kiosk-1", "huji-zhengming", ("办理时限有误",), "应为即办"),
         "g1")
    store.close()
    args = ["--config", d.hall.path, "--data", str(tmp_path)]
    assert main(["guide-reports", *args]) == 0
    out = capsys.readouterr().out
    assert "户籍证明开具 v1.0: 办理时限有误 / 应为即办" in out and "1 report(s) open" in out
    assert main(["guide-reports", *args, "--handle", "1", "--note", "已改为即办"]) == 0
    assert main(["guide-reports", *args, "--handle", "1", "--note", "again"]) == 1
    capsys.readouterr()
    assert main(["guide-reports", *args]) == 0
    assert "0 report(s) open" in capsys.readouterr().out

