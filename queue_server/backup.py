"""Online backups of the hall database, and putting one back.

While it serves, the queue server copies `DATA/hall.db` with SQLite's online backup
API (`sqlite3.Connection.backup`): the copy is one consistent snapshot taken inside
a read transaction, so requests keep being committed while it runs, and nothing
half-written (a file copy of a WAL database mid-commit) can end up in it. The
schedule and retention come from the hall config:

    [backup]
    dir = "/var/lib/qms/backups"  # default: DATA/backups (better: another disk)
    interval_minutes = 60         # a backup this often while the server runs
    keep_last = 48                # the newest N backups are kept ...
    keep_daily = 30               # ... and the last one of each of the last N days
    enabled = true

Backups hold the per-hall secret the ID hashes are keyed with, so they are written
mode 0600 like the database itself.

Self-service filings keep their uploaded pages outside the database, encrypted, in
DATA/documents/ under DATA/filing.key (queue_server/filing). Each backup copies the
key and every page it does not have yet into BACKUP_DIR/filing.key and
BACKUP_DIR/documents/ (pages are named by their hash and never change, so they are
shared by all backups); restore puts back the key and the pages the database names.

    python -m queue_server restore FILE --data DIR    # put one back (server stopped)
    python -m queue_server restore --list --config HALL.toml --data DIR
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import logging
import os
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .config import ConfigError, Hall, load_hall
from .durable import fsync_dir
from .store import SCHEMA_VERSION

log = logging.getLogger(__name__)

DB_NAME = "hall.db"
LOCK_NAME = "server.lock"
KEY_NAME = "filing.key"  # queue_server.filing.documents.load_key
DOCUMENTS_NAME = "documents"  # DIR/documents/<sha[:2]>/<sha>, DocumentStore
BACKUP_RE = re.compile(r"^hall-(\d{8}-\d{6})\.db$")
STAMP = "%Y%m%d-%H%M%S"
# Tables a hall database of this schema has (store.Store._create); later parts may add more.
REQUIRED_TABLES = frozenset({"meta", "tickets", "counters", "appointments", "ratings", "events",
                             "requests"})


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; str() is one line for the operator."""


class DatabaseBusy(BackupError):
    """A queue server (or another program) has the database open."""


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class BackupSettings:
    dir: Path
    interval_s: float = 3600.0
    keep_last: int = 48
    keep_daily: int = 30
    enabled: bool = True

    @classmethod
    def from_hall(cls, hall: Hall, data_dir: str | Path) -> BackupSettings:
        """The [backup] table of the hall config; ConfigError names file and key."""
        r = hall.reader()
        t = r.table(hall.section("backup"), "backup")
        r.no_extra(t, "backup", {"dir", "interval_minutes", "keep_last", "keep_daily", "enabled"})
        enabled = t.get("enabled", True)
        if not isinstance(enabled, bool):
            raise r.fail("backup.enabled", f"must be true or false, got {enabled!r}")
        where = Path(r.string(t["dir"], "backup.dir")) if "dir" in t else Path(data_dir) / "backups"
        if not where.is_absolute():
            # Relative to the config file, like every other path a hall config names.
            where = Path(hall.path).resolve().parent / where
        return cls(
            dir=where,
            interval_s=60.0 * r.number(t.get("interval_minutes", 60), "backup.interval_minutes",
                                       1, 7 * 24 * 60),
            keep_last=r.integer(t.get("keep_last", 48), "backup.keep_last", 1, 10_000),
            keep_daily=r.integer(t.get("keep_daily", 30), "backup.keep_daily", 0, 3650),
            enabled=enabled,
        )


# --------------------------------------------------------------------------- the files


@dataclass(frozen=True)
class BackupFile:
    path: Path
    at: datetime  # hall local time the snapshot was taken, from the name

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def backup_name(at: datetime) -> str:
    return f"hall-{at.strftime(STAMP)}.db"


def list_backups(backup_dir: str | Path) -> list[BackupFile]:
    """Backups in `backup_dir`, oldest first; other files are left alone."""
    d = Path(backup_dir)
    found: list[BackupFile] = []
    with contextlib.suppress(FileNotFoundError):
        for p in d.iterdir():
            m = BACKUP_RE.match(p.name)
            if m and p.is_file():
                found.append(BackupFile(p, datetime.strptime(m.group(1), STAMP)))
    return sorted(found, key=lambda b: b.at)


def to_delete(backups: Sequence[BackupFile], keep_last: int, keep_daily: int) -> list[BackupFile]:
    """Retention: the newest `keep_last`, plus the newest of each of the `keep_daily` most
    recent days that have a backup. Never the newest one."""
    ordered = sorted(backups, key=lambda b: b.at)
    keep = {b.path for b in ordered[-keep_last:]} if keep_last else set()
    last_of_day: dict[object, BackupFile] = {}
    for b in ordered:
        last_of_day[b.at.date()] = b
    days = sorted(last_of_day)[-keep_daily:] if keep_daily else []
    keep |= {last_of_day[d].path for d in days}
    if ordered:
        keep.add(ordered[-1].path)
    return [b for b in ordered if b.path not in keep]


def _copy_database(src: sqlite3.Connection, dest: Path, journal_mode: str) -> None:
    """SQLite backup API from `src` into a new file `dest` (mode 0600), fsynced."""
    dest.unlink(missing_ok=True)
    fd = os.open(dest, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    out = sqlite3.connect(dest, isolation_level=None)
    try:
        # pages=-1 (the default): the whole database in one step, inside one read
        # transaction of `src`: a consistent snapshot even while the server commits.
        src.backup(out)
        # The copy inherits WAL mode from the live database; a backup is one
        # self-contained file, without -wal/-shm beside it.
        out.execute(f"PRAGMA journal_mode={journal_mode}")
        ok = out.execute("PRAGMA quick_check").fetchone()[0]
        if ok != "ok":
            raise BackupError(f"the copy in {dest} fails SQLite's check: {ok}")
    finally:
        out.close()
    with open(dest, "rb+") as f:
        os.fsync(f.fileno())


def make_backup(db_path: str | Path, backup_dir: str | Path, at: datetime) -> BackupFile:
    """One online backup of `db_path` into `backup_dir`, named after `at` (hall local time)."""
    db_path, backup_dir = Path(db_path), Path(backup_dir)
    try:
        backup_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as e:
        raise BackupError(f"cannot create backup directory {backup_dir}: {e.strerror}") from None
    final = backup_dir / backup_name(at)
    partial = backup_dir / f".{final.name}.partial"
    src = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None)
    try:
        src.execute("PRAGMA busy_timeout=5000")
        _copy_database(src, partial, "DELETE")
        os.replace(partial, final)
        fsync_dir(backup_dir)
    except sqlite3.Error as e:
        raise BackupError(f"backup of {db_path} failed: {e}") from None
    except OSError as e:
        raise BackupError(f"backup into {backup_dir} failed: {e.strerror or e}") from None
    finally:
        src.close()
        partial.unlink(missing_ok=True)
    # After the snapshot: every page it names was on disk before the commit that named it.
    try:
        copy_filing_files(db_path.parent, backup_dir, document_names(final))
    except OSError as e:
        raise BackupError(f"copying filing documents into {backup_dir} failed: "
                          f"{e.strerror or e}") from None
    return BackupFile(final, at.replace(tzinfo=None, microsecond=0))


def document_names(db: Path) -> set[str]:
    """sha256 of every filing document a hall database knows (none before filings existed)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {r[0] for r in conn.execute("SELECT sha256 FROM documents")}
    except sqlite3.OperationalError:  # no documents table
        return set()
    finally:
        conn.close()


def _copy_file(src: Path, dest: Path) -> None:
    """Copy to a temporary name, fsync, rename: a half-copied file never has the real name."""
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = dest.with_name(f".{dest.name}.partial")
    with open(src, "rb") as fi, open(tmp, "wb") as fo:
        os.fchmod(fo.fileno(), 0o600)
        while chunk := fi.read(1 << 20):
            fo.write(chunk)
        fo.flush()
        os.fsync(fo.fileno())
    os.replace(tmp, dest)


def _document_path(root: Path, sha: str) -> Path:
    return root / DOCUMENTS_NAME / sha[:2] / sha


def copy_filing_files(src_dir: Path, dest_dir: Path, names: Iterable[str], *,
                      with_key: bool = True) -> tuple[int, int]:
    """The filing key and the named documents from src_dir into dest_dir, where missing
    (a different key already there is kept aside, never overwritten).
    Returns (documents copied, documents missing in src_dir)."""
    key = src_dir / KEY_NAME
    if with_key and key.exists():
        have = dest_dir / KEY_NAME
        if have.exists() and have.read_bytes().strip() != key.read_bytes().strip():
            os.replace(have, dest_dir / f"{KEY_NAME}.replaced-{datetime.now():{STAMP}}")
        if not have.exists():
            _copy_file(key, have)
    copied = missing = 0
    for sha in sorted(names):
        dest = _document_path(dest_dir, sha)
        if dest.exists():
            continue
        src = _document_path(src_dir, sha)
        if not src.exists():
            missing += 1
            continue
        _copy_file(src, dest)
        copied += 1
    return copied, missing


def prune(backup_dir: str | Path, keep_last: int, keep_daily: int) -> list[BackupFile]:
    backups = list_backups(backup_dir)
    gone = to_delete(backups, keep_last, keep_daily)
    for b in gone:
        b.path.unlink(missing_ok=True)
    if gone:
        kept = [b for b in backups if b not in gone]
        named: set[str] = set().union(*(document_names(b.path) for b in kept))
        docs = Path(backup_dir) / DOCUMENTS_NAME
        if docs.is_dir():
            for f in docs.glob("*/*"):
                if f.name not in named and not f.name.startswith("."):
                    f.unlink(missing_ok=True)
    return gone


# --------------------------------------------------------------------------- schedule


class BackupScheduler:
    """A thread that backs the database up every `interval`, then applies retention.

    The first backup is due one interval after the newest one on disk (at once when
    there is none or it is older), so restarting the server does not pile them up.
    """

    def __init__(self, db_path: str | Path, settings: BackupSettings,
                 now: Callable[[], datetime]) -> None:
        self.db_path = Path(db_path)
        self.settings = settings
        self.now = now
        self.last: BackupFile | None = None
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not self.settings.enabled:
            log.warning("backups are off ([backup] enabled = false in the hall config)")
            return
        self._thread = threading.Thread(target=self._run, name="backup", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def _first_wait(self) -> float:
        existing = list_backups(self.settings.dir)
        if not existing:
            return 0.0
        age = (self.now().replace(tzinfo=None) - existing[-1].at).total_seconds()
        return max(0.0, min(self.settings.interval_s, self.settings.interval_s - age))

    def _run(self) -> None:
        wait = self._first_wait()
        while not self._stop.wait(wait):
            self.run_once()
            wait = self.settings.interval_s

    def run_once(self) -> BackupFile | None:
        s = self.settings
        t0 = time.monotonic()
        try:
            b = make_backup(self.db_path, s.dir, self.now())
            gone = prune(s.dir, s.keep_last, s.keep_daily)
        except BackupError as e:
            self.last_error = str(e)
            log.error("backup failed error=%r next_try_min=%.0f", str(e), s.interval_s / 60)
            return None
        self.last, self.last_error = b, None
        # key=value, so the journal can be searched (journalctl -u qms-server | grep backup)
        log.info("backup written file=%s bytes=%d ms=%.0f removed=%d", b.path, b.size,
                 (time.monotonic() - t0) * 1000, len(gone))
        return b


# --------------------------------------------------------------------------- who has it open


class ServerLock:
    """An exclusive lock on DATA/server.lock held while a queue server (or a restore) runs.

    flock is released by the kernel when the process dies, so a crashed server never
    leaves a stale lock behind.
    """

    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self, what: str = "queue server") -> ServerLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise DatabaseBusy(
                f"{self.path.parent} is in use by {holder or 'another process'}; stop the "
                f"queue server first (systemctl stop qms-server)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{what} pid {os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ServerLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def processes_using(path: Path) -> list[int]:
    """Pids (other than ours) with `path` open, from /proc; best effort, what we may see."""
    target = str(path.resolve())
    pids: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) == target:
                        pids.append(int(entry.name))
                        break
    return pids


# --------------------------------------------------------------------------- restore


@dataclass(frozen=True)
class Summary:
    tickets: int
    events: int
    last_day: str | None


def check_backup(path: str | Path) -> Summary:
    """Raise BackupError unless `path` is an intact hall database of this schema."""
    p = Path(path)
    if not p.is_file():
        raise BackupError(f"{p} does not exist or is not a file")
    with open(p, "rb") as f:
        if f.read(16) != b"SQLite format 3\x00":
            raise BackupError(f"{p} is not an SQLite database (not a hall backup)")
    try:
        conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise BackupError(f"{p} cannot be opened: {e}") from None
    try:
        ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok":
            raise BackupError(f"{p} is damaged (SQLite integrity check: {ok})")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        missing = sorted(REQUIRED_TABLES - tables)
        if missing:
            raise BackupError(f"{p} is not a hall database (no table {', '.join(missing)})")
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("schema_version") != str(SCHEMA_VERSION):
            raise BackupError(
                f"{p} has hall database schema {meta.get('schema_version')!r}; this server "
                f"uses {SCHEMA_VERSION}"
            )
        if not meta.get("id_secret"):
            raise BackupError(f"{p} has no ID hash secret; it is not a complete hall database")
        tickets = conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0]
        events = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        last_day = conn.execute("SELECT MAX(day) FROM tickets").fetchone()[0]
    except sqlite3.Error as e:
        raise BackupError(f"{p} cannot be read as a hall database: {e}") from None
    finally:
        conn.close()
    return Summary(tickets, events, last_day)


@dataclass(frozen=True)
class Restored:
    db: Path
    summary: Summary
    kept: Path | None  # the database that was replaced, set aside
    documents: int = 0  # filing documents put back
    documents_missing: int = 0  # named by the database but in no backup


def check_filing_key(backup: Path, data: Path) -> Path | None:
    """The filing key that opens this backup's filings (beside it, else DATA's); None when
    it has none. BackupError when filings exist and no key at hand opens them."""
    conn = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT sealed FROM filings LIMIT 1").fetchone()
    except sqlite3.OperationalError:  # from before filings
        row = None
    finally:
        conn.close()
    candidates = [p for p in (backup.parent / KEY_NAME, data / KEY_NAME) if p.exists()]
    if row is None:
        return candidates[0] if candidates else None
    from cryptography.fernet import Fernet, InvalidToken

    for key in candidates:
        try:
            Fernet(key.read_bytes().strip()).decrypt(row[0].encode("ascii"))
            return key
        except (InvalidToken, ValueError):
            continue
    raise BackupError(
        f"the filings in {backup} cannot be opened: no {KEY_NAME} beside it, and "
        f"{data / KEY_NAME} is not theirs; put the {KEY_NAME} from that backup's directory "
        f"next to it")


def restore(backup: str | Path, data_dir: str | Path, now: datetime | None = None) -> Restored:
    """Put `backup` in place as DATA/hall.db; the old database is kept beside it.

    Refuses while a queue server holds DATA (or any process has hall.db open), and
    before touching anything unless the backup is a hall database of this schema.
    """
    data = Path(data_dir)
    summary = check_backup(backup)
    if not data.is_dir():
        raise BackupError(f"data directory {data} does not exist")
    db = data / DB_NAME
    key = check_filing_key(Path(backup), data)
    with ServerLock(data).acquire("restore"):
        users = processes_using(db) if db.exists() else []
        if users:
            raise DatabaseBusy(
                f"{db} is open in process {', '.join(map(str, users))}; stop the queue server "
                f"(systemctl stop qms-server) and anything else using it first"
            )
        stamp = (now or datetime.now()).strftime(STAMP)
        kept: Path | None = None
        try:
            if db.exists():
                kept = data / f"{DB_NAME}.replaced-{stamp}"
                old = sqlite3.connect(db, isolation_level=None)
                try:
                    # Through the backup API too: whatever is still in hall.db-wal goes along.
                    _copy_database(old, kept, "DELETE")
                finally:
                    old.close()
            incoming = data / f".{DB_NAME}.restoring"
            src = sqlite3.connect(f"file:{Path(backup).resolve()}?mode=ro", uri=True)
            try:
                _copy_database(src, incoming, "WAL")
            finally:
                src.close()
            # The old -wal/-shm must not outlive their database: SQLite would replay
            # that WAL into the restored file. Set aside first, removed once it is in.
            aside = []
            for suffix in ("-wal", "-shm"):
                side = data / f"{DB_NAME}{suffix}"
                if side.exists():
                    os.replace(side, data / f".{DB_NAME}{suffix}.replaced")
                    aside.append(data / f".{DB_NAME}{suffix}.replaced")
            os.replace(incoming, db)
            for side in aside:
                side.unlink(missing_ok=True)
            # The filing key that opens these filings, and the pages they name.
            source = Path(backup).resolve().parent
            copied, missing = copy_filing_files(
                source, data, document_names(db),
                with_key=key is not None and key.resolve().parent == source)
            # Run as root for a server that runs as its own user: give the files to
            # whoever owns the data directory, or the server cannot write them.
            st = data.stat()
            if os.geteuid() == 0:
                owned = [db, kept, data / KEY_NAME, data / DOCUMENTS_NAME]
                if (data / DOCUMENTS_NAME).is_dir():
                    owned += list((data / DOCUMENTS_NAME).rglob("*"))
                for p in owned:
                    if p is not None and p.exists():
                        os.chown(p, st.st_uid, st.st_gid)
            fsync_dir(data)
        except sqlite3.Error as e:
            raise BackupError(f"restore into {data} failed: {e}") from None
        except OSError as e:
            raise BackupError(f"restore into {data} failed: {e.strerror or e}") from None
    return Restored(db, summary, kept, copied, missing)


# --------------------------------------------------------------------------- CLI


def _describe(b: BackupFile) -> str:
    try:
        s = check_backup(b.path)
        facts = f"{s.tickets} tickets, last day {s.last_day or '-'}"
    except BackupError as e:
        facts = f"UNUSABLE: {e}"
    return f"{b.path}  {b.at:%Y-%m-%d %H:%M:%S}  {b.size / 1e6:.1f} MB  {facts}"


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m queue_server restore",
        description="Put an online backup of the hall database back in place. Stop the queue "
        "server first (systemctl stop qms-server); the database it replaces is kept as "
        "DATA/hall.db.replaced-<time>.")
    ap.add_argument("file", nargs="?", help="backup file, e.g. /var/lib/qms/server/backups/"
                    "hall-20261123-120000.db")
    ap.add_argument("--data", required=True, metavar="DIR",
                    help="the queue server's data directory (its --data)")
    ap.add_argument("--list", action="store_true",
                    help="list the backups (needs --config for where they are) and exit")
    ap.add_argument("--config", metavar="HALL.toml", help="hall config, for --list")
    args = ap.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        if args.list:
            if args.config:
                where = BackupSettings.from_hall(load_hall(args.config), args.data).dir
            else:
                where = Path(args.data) / "backups"
            found = list_backups(where)
            if not found:
                print(f"no backups in {where}", file=sys.stderr)
                return 1
            for b in reversed(found):
                print(_describe(b))
            return 0
        if not args.file:
            ap.error("give the backup FILE to restore (or --list)")
        done = restore(args.file, args.data)
    except (BackupError, ConfigError) as e:
        print(f"queue_server restore: error: {e}", file=sys.stderr)
        print("queue_server restore: nothing was changed", file=sys.stderr)
        return 2
    s = done.summary
    print(f"restored {args.file} into {done.db}: {s.tickets} tickets (last day "
          f"{s.last_day or '-'}), {s.events} events")
    if done.documents:
        print(f"{done.documents} filing documents put back into {Path(args.data) / 'documents'}")
    if done.documents_missing:
        print(f"warning: {done.documents_missing} filing documents the database names are in "
              f"no backup (their filings show without those pages)", file=sys.stderr)
    if done.kept:
        print(f"the database it replaced is kept as {done.kept}")
    print("start the queue server again: systemctl start qms-server")
    return 0
