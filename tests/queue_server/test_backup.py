"""Online backups of a serving hall, retention, and `python -m queue_server restore`."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from queue_server.backup import (
    BackupError,
    BackupFile,
    BackupSettings,
    DatabaseBusy,
    ServerLock,
    check_backup,
    list_backups,
    make_backup,
    restore,
    to_delete,
)
from queue_server.client import RequestClient
from queue_server.config import ConfigError, load_hall, parse_hall
from tests.support.broker import DEMO_HALL, REPO, Broker
from tests.support.server import ServerProcess, in_process, ok


def dump(db: Path) -> dict[str, list[tuple]]:  # type: ignore[type-arg]
    """Every row of every table: what a restore must bring back, whatever tables exist."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
                for t in sorted(tables)}
    finally:
        conn.close()


@pytest.fixture
def kiosk(broker: Broker) -> Iterator[RequestClient]:
    rc = RequestClient("demo", "kiosk-1", broker.password("kiosk-1"), broker.broker_address)
    yield rc.start()
    rc.close()


@pytest.fixture
def counter(broker: Broker) -> Iterator[RequestClient]:
    rc = RequestClient("demo", "counter-1", broker.password("counter-1"), broker.broker_address)
    yield rc.start()
    rc.close()


@pytest.fixture
def pad(broker: Broker) -> Iterator[RequestClient]:
    rc = RequestClient("demo", "pad-1", broker.password("pad-1"), broker.broker_address)
    yield rc.start()
    rc.close()


# --------------------------------------------------------------------------- retention


def _b(at: str) -> BackupFile:
    when = datetime.fromisoformat(at)
    return BackupFile(Path(f"/b/hall-{when:%Y%m%d-%H%M%S}.db"), when)


def test_retention_keeps_newest_and_one_per_day() -> None:
    backups = [_b(f"2026-11-{d:02d}T{h:02d}:00") for d in range(1, 11) for h in (9, 13, 17)]
    gone = {b.path for b in to_delete(backups, keep_last=4, keep_daily=5)}
    kept = [b for b in backups if b.path not in gone]
    newest4 = backups[-4:]
    last_of_days_6_to_10 = [b for b in backups if b.at.hour == 17 and b.at.day >= 6]
    assert set(kept) == set(newest4) | set(last_of_days_6_to_10)
    # never the newest, even when told to keep nothing
    assert to_delete(backups[:3], keep_last=1, keep_daily=0) == backups[:2]


def test_backup_settings_from_config(tmp_path: Path) -> None:
    hall = load_hall(DEMO_HALL)
    s = BackupSettings.from_hall(hall, tmp_path)
    assert s.dir == tmp_path / "backups" and s.interval_s == 3600 and s.enabled
    raw = _demo_dict()
    raw["backup"] = {"interval_minutes": 15, "keep_last": 3, "keep_daily": 7, "dir": "bk"}
    s = BackupSettings.from_hall(parse_hall(raw, tmp_path / "hall.toml"), tmp_path / "data")
    assert (s.interval_s, s.keep_last, s.keep_daily, s.dir) == (900, 3, 7, tmp_path / "bk")
    raw["backup"] = {"interval_minutes": 0}
    with pytest.raises(ConfigError, match=r"hall.toml: backup.interval_minutes: must be"):
        BackupSettings.from_hall(parse_hall(raw, tmp_path / "hall.toml"), tmp_path)
    raw["backup"] = {"keep": 3}
    with pytest.raises(ConfigError, match=r"backup.keep: unknown key"):
        BackupSettings.from_hall(parse_hall(raw, tmp_path / "hall.toml"), tmp_path)


def _demo_dict() -> dict:  # type: ignore[type-arg]
    import tomllib

    return tomllib.loads(DEMO_HALL.read_text("utf-8"))


# --------------------------------------------------------------------------- backup + restore


def test_online_backup_while_serving_then_restore_finds_every_ticket(
    broker: Broker, tmp_path: Path, kiosk: RequestClient, counter: RequestClient,
    pad: RequestClient,
) -> None:
    data = tmp_path / "data"
    server = in_process(broker, data)
    try:
        numbers = [ok(kiosk.request("issue", {"service": s, "source": "walk_in"}))["ticket"]
                   ["number"] for s in "AABE"]
        ok(counter.request("open"))
        served = ok(counter.request("call_next"))["ticket"]["number"]
        ok(counter.request("finish"))
        ok(pad.request("rate", {"number": served, "level": 2, "reason": "等候时间太长"}))

        # Tickets keep being issued while the backup runs: the server never pauses.
        stop = threading.Event()
        during: list[str] = []

        def issue_more() -> None:
            while not stop.is_set():
                during.append(ok(kiosk.request("issue", {"service": "C",
                                                         "source": "walk_in"}))["ticket"]["number"])

        t = threading.Thread(target=issue_more)
        t.start()
        try:
            b = make_backup(data / "hall.db", tmp_path / "backups", datetime.now())
        finally:
            stop.set()
            t.join(10)
        assert during, "no request was served while the backup ran"
        snapshot = dump(b.path)
        after = ok(kiosk.request("issue", {"service": "D", "source": "walk_in"}))["ticket"]
    finally:
        server.stop()
    assert check_backup(b.path).tickets >= len(numbers)
    assert oct(b.path.stat().st_mode & 0o777) == "0o600"  # it holds the ID hash secret
    assert not Path(f"{b.path}-wal").exists()

    restored = tmp_path / "restored"
    restored.mkdir()
    cli = subprocess.run(
        [sys.executable, "-m", "queue_server", "restore", str(b.path), "--data", str(restored)],
        cwd=REPO, capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    assert "restored" in cli.stdout and "systemctl start qms-server" in cli.stdout
    assert dump(restored / "hall.db") == snapshot  # every ticket, event, rating, … row

    # A server started on the restored data finds every ticket issued before the backup.
    server = in_process(broker, restored)
    try:
        for n in [*numbers, *[x for x in during if x in {r[5] for r in snapshot["tickets"]}]]:
            found = ok(kiosk.request("lookup", {"number": n}))["ticket"]
            assert found["number"] == n
        assert ok(kiosk.request("lookup", {"number": served}))["ticket"]["status"] == "done"
        # the ticket issued after the backup is gone, and numbering carries on from the backup
        assert not kiosk.request("lookup", {"number": after["number"]})["ok"]
    finally:
        server.stop()


def test_restore_keeps_the_replaced_database_aside(tmp_path: Path) -> None:
    hall = load_hall(DEMO_HALL)
    a, b = tmp_path / "a", tmp_path / "b"
    for d, n in ((a, 1), (b, 3)):
        from queue_server.store import Store

        st = Store(d, hall)
        with st.transaction():
            for i in range(n):
                st.db.execute("INSERT INTO tickets (day, seq, origin, number, code, status)"
                              " VALUES ('2026-11-23', ?, 'A', ?, ?, 'waiting')",
                              [i + 1, f"A{i + 1:03d}", f"code{d.name}{i}"])
        # left with un-checkpointed WAL content, as after a crash
        st.db.conn.close()
    backup = make_backup(a / "hall.db", tmp_path / "bk", datetime(2026, 11, 23, 12))
    before = dump(b / "hall.db")
    done = restore(backup.path, b, now=datetime(2026, 11, 23, 13))
    assert done.summary.tickets == 1
    assert done.kept == b / "hall.db.replaced-20261123-130000"
    assert dump(done.kept) == before  # the WAL's rows went along into the kept copy
    assert dump(b / "hall.db") == dump(backup.path)
    assert not (b / "hall.db-wal").exists() or (b / "hall.db-wal").stat().st_size == 0


def test_restore_refuses_what_is_not_a_hall_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    from queue_server.store import Store

    Store(data, load_hall(DEMO_HALL)).close()
    before = (data / "hall.db").read_bytes()
    text = tmp_path / "notes.txt"
    text.write_text("not a database")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE x (a)").connection.commit()
    newer = tmp_path / "newer.db"
    make_backup(data / "hall.db", tmp_path / "bk", datetime(2026, 1, 1))
    (tmp_path / "bk" / "hall-20260101-000000.db").rename(newer)
    conn = sqlite3.connect(newer)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    damaged = tmp_path / "damaged.db"
    raw = bytearray(before)
    raw[100:4000] = b"\xff" * 3900
    damaged.write_bytes(bytes(raw))
    cases = {text: "not an SQLite database", other: "not a hall database (no table",
             newer: "schema '99'", damaged: "", tmp_path / "missing.db": "does not exist"}
    for path, why in cases.items():
        with pytest.raises(BackupError, match=re.escape(why) if why else "damaged|cannot be read"):
            restore(path, data)
        assert (data / "hall.db").read_bytes() == before, path
        assert not list(data.glob("hall.db.replaced-*"))
    cli = subprocess.run([sys.executable, "-m", "queue_server", "restore", str(other), "--data",
                          str(data)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert cli.returncode == 2
    assert "not a hall database" in cli.stderr and "nothing was changed" in cli.stderr
    assert "Traceback" not in cli.stderr


def test_restore_refuses_while_a_server_runs(broker: Broker, tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = ServerProcess(broker, data).start()
    try:
        proc.wait_log("backup written", 15)  # the schedule's first backup, at start
        backups = list_backups(data / "backups")
        assert len(backups) == 1
        cli = subprocess.run(
            [sys.executable, "-m", "queue_server", "restore", str(backups[0].path), "--data",
             str(data)], cwd=REPO, capture_output=True, text=True, timeout=60)
        assert cli.returncode == 2
        assert f"queue server pid {proc.proc.pid}" in cli.stderr  # type: ignore[union-attr]
        assert "systemctl stop qms-server" in cli.stderr
        # a second server on the same data is refused the same way
        second = subprocess.run(
            [sys.executable, "-m", "queue_server", "--config", str(DEMO_HALL), "--data",
             str(data), "--broker", broker.address, "--credentials",
             str(broker.credentials_file)], cwd=REPO, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2 and "in use by queue server pid" in second.stderr
    finally:
        proc.close()
    # stopped: now it goes through
    assert restore(backups[0].path, data).summary.tickets == 0


def test_restore_refuses_while_another_process_has_the_database_open(tmp_path: Path) -> None:
    data = tmp_path / "data"
    from queue_server.store import Store

    Store(data, load_hall(DEMO_HALL)).close()
    backup = make_backup(data / "hall.db", tmp_path / "bk", datetime(2026, 1, 1))
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sqlite3,sys,time; c=sqlite3.connect(sys.argv[1]);"
                               "c.execute('select 1 from meta').fetchall(); print('open',"
                               " flush=True); time.sleep(30)", str(data / "hall.db")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(DatabaseBusy, match=f"open in process {holder.pid}"):
            restore(backup.path, data)
    finally:
        holder.kill()
        holder.wait()
    with ServerLock(data).acquire(), pytest.raises(DatabaseBusy, match="pid"):
        restore(backup.path, data)


def test_scheduler_backs_up_on_start_and_prunes(tmp_path: Path) -> None:
    from queue_server.backup import BackupScheduler
    from queue_server.store import Store

    Store(tmp_path / "data", load_hall(DEMO_HALL)).close()
    clock = [datetime(2026, 11, 23, 8, 0)]
    s = BackupSettings(tmp_path / "bk", interval_s=3600, keep_last=2, keep_daily=0)
    sched = BackupScheduler(tmp_path / "data" / "hall.db", s, lambda: clock[0])
    assert sched._first_wait() == 0
    for _ in range(4):
        assert sched.run_once() is not None
        clock[0] += timedelta(hours=1)
    assert [b.at.hour for b in list_backups(s.dir)] == [10, 11]
    # just restarted 20 minutes after the last backup: the next one is 40 minutes away
    clock[0] = datetime(2026, 11, 23, 11, 20)
    assert sched._first_wait() == pytest.approx(40 * 60)



def _store_with_a_filing(data: Path, seed: int = 1) -> tuple[str, bytes, str]:
    """A hall database with one filing and its page, stored as the filing code does."""
    import hashlib

    from queue_server.store import Store
    from tests.queue_server.filing_support import page

    st = Store(data, load_hall(DEMO_HALL))
    image = page(seed)
    sha = hashlib.sha256(image).hexdigest()
    st.filing.documents.put(sha, image)
    sealed = st.filing.fernet.encrypt('{"name": "王秀英"}'.encode()).decode("ascii")
    with st.transaction():
        st.db.execute("INSERT INTO documents (sha256, bytes, width, height, format, stored_at,"
                      " devices) VALUES (?,?,?,?,?,?,?)",
                      [sha, len(image), 900, 1200, "JPEG", "2026-11-23T09:00:00", '["kiosk-1"]'])
        st.db.execute("INSERT INTO filings (number, code, day, seq, target, kind, items, service,"
                      " device, submitted_at, status, id_hash, sealed, documents, consent,"
                      " history) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      [f"F{seed:03d}", f"code{seed}", "2026-11-23", seed, "counter", "item",
                       "[]", "A", "kiosk-1", "2026-11-23T09:00:00", "submitted", "h", sealed,
                       json.dumps([sha]), 1, "[]"])
    st.close()
    return sha, image, sealed


def test_filing_pages_and_key_come_back_after_a_lost_disk(tmp_path: Path) -> None:
    import shutil

    from cryptography.fernet import Fernet

    from queue_server.store import Store

    data = tmp_path / "data"
    sha, image, sealed = _store_with_a_filing(data)
    key = (data / "filing.key").read_bytes()
    b = make_backup(data / "hall.db", tmp_path / "bk", datetime(2026, 11, 23, 12))
    assert (tmp_path / "bk" / "filing.key").read_bytes() == key
    assert (tmp_path / "bk" / "documents" / sha[:2] / sha).exists()

    shutil.rmtree(data)  # the server's disk died
    new = tmp_path / "new"
    Store(new, load_hall(DEMO_HALL)).close()  # started once on the new disk ...
    (new / "filing.key").write_bytes(Fernet.generate_key() + b"\n")  # ... with a new key
    done = restore(b.path, new)
    assert (done.documents, done.documents_missing) == (1, 0)
    assert (new / "filing.key").read_bytes() == key
    assert list(new.glob("filing.key.replaced-*"))  # the stray new key is kept, not lost
    st = Store(new, load_hall(DEMO_HALL))
    try:
        assert st.filing.documents.get(sha) == image
        assert st.filing.fernet.decrypt(sealed.encode()).decode() == '{"name": "王秀英"}'
    finally:
        st.close()

    # A backup whose key is gone cannot be restored over a hall with another key.
    (tmp_path / "bk" / "filing.key").unlink()
    other = tmp_path / "other"
    Store(other, load_hall(DEMO_HALL)).close()
    (other / "filing.key").write_bytes(Fernet.generate_key() + b"\n")
    before = (other / "hall.db").read_bytes()
    with pytest.raises(BackupError, match=r"filings in .* cannot be opened"):
        restore(b.path, other)
    assert (other / "hall.db").read_bytes() == before


def test_pruning_drops_pages_no_kept_backup_names(tmp_path: Path) -> None:
    data = tmp_path / "data"
    sha, _, _ = _store_with_a_filing(data)
    make_backup(data / "hall.db", tmp_path / "bk", datetime(2026, 11, 23, 8))
    conn = sqlite3.connect(data / "hall.db")
    conn.execute("DELETE FROM filings")
    conn.execute("DELETE FROM documents")
    conn.commit()
    conn.close()
    make_backup(data / "hall.db", tmp_path / "bk", datetime(2026, 11, 23, 9))
    page_file = tmp_path / "bk" / "documents" / sha[:2] / sha
    assert page_file.exists()
    from queue_server.backup import prune

    assert len(prune(tmp_path / "bk", keep_last=1, keep_daily=0)) == 1
    assert not page_file.exists()
