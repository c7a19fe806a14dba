"""The library: one SQLite database that remembers documents, their pages, model results and Q&A history.

Why a database and not files: a page's result must be found by what the page *is* (the hash of its pixels, the model
file, the 4x/16x mode, the task and its prompt version), whichever document or path it came from, and a batch killed
halfway must keep every page it finished. SQLite gives both in one file, with atomic commits.

- WAL journal with synchronous=NORMAL: readers never wait for the writer, each `put` commits on its own, and a
  committed page survives the process being killed (only a power cut may lose the last commits, never corrupt).
- One connection, shared by every thread behind a lock: the GUI thread (recent documents, history) and the model's
  worker thread (get/put) both use it, and each operation is a few milliseconds at most.
- A damaged database never stops the app: it is moved aside as `library.sqlite3.corrupt-<timestamp>` and a fresh
  library is started; `notice` says so in a sentence the window or CLI shows. When the file cannot be opened at all
  (read-only home, a newer PaperLens's format), the library runs in memory for the session, and `notice` says that.

Kept whole although over 600 lines: one connection and one lock serve every table (results, documents, pages,
edits, Q&A), and splitting the class would split that guarantee.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from paperlens.core.errors import LibraryError
from paperlens.core.names import from_stored, printable, stored
from paperlens.core.runs import COMPLETE_FINISHES, Finish, RunResult, RunStats

SCHEMA_VERSION = 2  # 2: the edits table
DB_NAME = "library.sqlite3"
ENV_PATH = "PAPERLENS_LIBRARY"  # a database file to use instead of the default (tests, portable setups)

_COMPLETE = tuple(f.value for f in COMPLETE_FINISHES)  # see Finish.complete

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL DEFAULT '',
    page_count INTEGER NOT NULL DEFAULT 0,
    file_size INTEGER,
    file_mtime_ns INTEGER,
    added_at REAL NOT NULL,
    opened_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_by_opened ON documents(opened_at DESC);
CREATE TABLE IF NOT EXISTS pages (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    image_hash TEXT NOT NULL,
    PRIMARY KEY (document_id, number)
);
CREATE TABLE IF NOT EXISTS results (
    image_hash TEXT NOT NULL,
    model_id TEXT NOT NULL,
    mode TEXT NOT NULL,
    task TEXT NOT NULL,
    text TEXT NOT NULL,
    finish TEXT NOT NULL,
    stats TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    PRIMARY KEY (image_hash, model_id, mode, task)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS qa (
    id INTEGER PRIMARY KEY,
    document_id INTEGER REFERENCES documents(id) ON DELETE CASCADE,
    page INTEGER,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    pages_used TEXT NOT NULL DEFAULT '[]',
    model_id TEXT NOT NULL DEFAULT '',
    mode TEXT NOT NULL DEFAULT '',
    stats TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS qa_by_document ON qa(document_id, created_at);
CREATE TABLE IF NOT EXISTS edits (
    image_hash TEXT NOT NULL,
    task TEXT NOT NULL,
    text TEXT NOT NULL,
    base_model_id TEXT NOT NULL DEFAULT '',
    base_mode TEXT NOT NULL DEFAULT '',
    updated_at REAL NOT NULL,
    PRIMARY KEY (image_hash, task)
) WITHOUT ROWID;
"""


def default_path() -> Path:
    """`$PAPERLENS_LIBRARY`, else `<user data dir>/PaperLens/library.sqlite3` (platformdirs)."""
    env = os.environ.get(ENV_PATH)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("PaperLens", appauthor=False)) / DB_NAME


@dataclass(frozen=True)
class ResultKey:
    """What makes two runs the same: the page's pixels, the model file, the mode and the task with its prompt version.

    `model_id` must change when the model file does (the pipeline uses the model registry's identity); `task` is
    `Task.cache_name` ("parse-v1"), so a new prompt wording never serves answers to the old one.
    """

    image_hash: str
    model_id: str
    mode: str
    task: str


@dataclass(frozen=True)
class Edit:
    """A user's own text for a page, kept apart from the model's result (which stays in `results`, untouched).

    Keyed by the page image and the task only, not the model or mode: the user's correction of a page is true
    whichever model read it, so it survives a mode switch and a model update. `base_*` say which result it was made on.
    """

    text: str
    base_model_id: str = ""
    base_mode: str = ""
    updated_at: float = 0.0


@dataclass(frozen=True)
class StoredResult:
    """A stored result with the model and mode that made it (`page_results_any_mode`)."""

    result: RunResult
    model_id: str
    mode: str


@dataclass
class DocumentRecord:
    id: int
    path: str
    title: str
    page_count: int
    added_at: float
    opened_at: float

    @property
    def exists(self) -> bool:
        """Whether the file is still where it was (the recent list greys out the ones that are not)."""
        return Path(self.path).exists()

    @property
    def name(self) -> str:
        return self.title or Path(self.path).name


@dataclass
class QARecord:
    id: int
    source: str
    page: int | None  # None: a question about the whole document
    question: str
    answer: str
    pages_used: list[int] = field(default_factory=list)
    model_id: str = ""
    mode: str = ""
    stats: dict = field(default_factory=dict)
    created_at: float = 0.0
    boxes: list[dict] = field(
        default_factory=list
    )  # where on the page the answer came from (results.boxes JSON)


def _json_list(raw: str | None) -> list:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    """SQLITE_CORRUPT or SQLITE_NOTADB: the file's content is bad (as opposed to locked, read-only or missing)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return True
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text or "corrupt" in text


def _source_key(source: str | os.PathLike) -> str:
    """A document's identity in the library: the absolute path of a file, or the label of a non-file source.

    A name that is not valid UTF-8 keeps its lone surrogates here; `names.stored` turns it into a BLOB for SQLite.
    """
    if not str(source).strip():
        return ""
    p = Path(source).expanduser()
    try:
        if p.exists():
            return str(p.resolve())
    except (OSError, ValueError):
        pass
    return str(source)


class Library:
    """The results database. See the module docstring for the guarantees; every method may raise LibraryError."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.notice: str | None = None  # a sentence for the user when the library is not what it should be
        self.persistent = True  # False when running in memory (the file could not be used)
        self.moved_to: Path | None = None  # where a damaged database was moved
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = self._open()

    # -- opening ----------------------------------------------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return self._in_memory(
                f"PaperLens could not create its library folder {self.path.parent} ({exc.strerror or exc})."
            )
        conn = None
        try:
            conn = self._connect(self.path)
            self._prepare(conn)
            return conn
        except _TooNew:
            _close_quietly(conn)
            return self._in_memory(
                f"The library {self.path} was written by a newer PaperLens; it was left untouched."
            )
        except sqlite3.DatabaseError as exc:
            _close_quietly(conn)
            if not _is_corruption(exc):
                return self._in_memory(f"PaperLens could not open its library {self.path} ({exc}).")
        # the file is damaged: keep it for the curious, start afresh
        try:
            self.moved_to = self._move_aside()
            conn = self._connect(self.path)
            self._prepare(conn)
        except (OSError, sqlite3.DatabaseError) as exc:
            _close_quietly(conn)
            return self._in_memory(f"The library {self.path} is damaged and could not be replaced ({exc}).")
        self.notice = (
            f"The library was damaged, so PaperLens moved it aside to {self.moved_to} and started a new, empty one. "
            "Pages will be read again when you open them."
        )
        return conn

    def _in_memory(self, why: str) -> sqlite3.Connection:
        self.persistent = False
        self.notice = f"{why} Results will not be kept after PaperLens closes."
        conn = self._connect(":memory:")
        self._prepare(conn)
        return conn

    @staticmethod
    def _connect(path: Path | str) -> sqlite3.Connection:
        # isolation_level=None: autocommit, so every statement outside `_tx` is its own transaction and each `put`
        # is on disk (in the WAL) when it returns.
        conn = sqlite3.connect(str(path), timeout=10.0, check_same_thread=False, isolation_level=None)
        conn.row_factory = sqlite3.Row
        return conn

    @staticmethod
    def _prepare(conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # raises on a file that is not a database
        if version > SCHEMA_VERSION:
            raise _TooNew()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        problems = [r[0] for r in conn.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError(f"database disk image is malformed: {'; '.join(problems[:3])}")
        conn.executescript(_SCHEMA)
        # Where an answer came from (added after schema 2): a column with a default, so an older PaperLens still
        # reads and writes the file as before; added here, not with a new schema version, for that reason.
        if "boxes" not in {r[1] for r in conn.execute("PRAGMA table_info(qa)")}:
            conn.execute("ALTER TABLE qa ADD COLUMN boxes TEXT NOT NULL DEFAULT '[]'")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _move_aside(self) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        os.replace(self.path, target)
        # The WAL and shared-memory files belong to the damaged file; left here, SQLite would replay them into the
        # new database.
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                os.replace(side, target.with_name(target.name + suffix))
        return target

    # -- plumbing ---------------------------------------------------------------------------------------------------
    @contextmanager
    def _db(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """The connection under the lock; a transaction when `write`; sqlite errors as LibraryError."""
        with self._lock:
            if self._conn is None:
                raise LibraryError("The library is closed.")
            conn = self._conn
            try:
                if write:
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        yield conn
                        conn.execute("COMMIT")
                    except BaseException:
                        # A failed COMMIT (busy, I/O error) leaves the transaction open, and every later BEGIN would
                        # fail; SQLite may also have rolled back already (disk full), when a ROLLBACK of ours would
                        # fail and hide the real error. So: roll back only what is still open, and keep the error.
                        if conn.in_transaction:
                            with suppress(sqlite3.Error):
                                conn.execute("ROLLBACK")
                        raise
                else:
                    yield conn
            except sqlite3.DatabaseError as exc:
                if _is_corruption(exc):
                    raise LibraryError(
                        f"The library {self.path} is damaged ({exc}).",
                        hint="Restart PaperLens: it will move the damaged file aside and start a new library.",
                    ) from exc
                raise LibraryError(f"The library {self.path} could not be used ({exc}).") from exc

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with suppress(sqlite3.Error):
                    self._conn.execute("PRAGMA optimize")
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- results ----------------------------------------------------------------------------------------------------
    def get(self, key: ResultKey, *, include_partial: bool = False) -> RunResult | None:
        """The stored result for `key`: only a complete one (stop/length) unless `include_partial`."""
        with self._db() as conn:
            row = conn.execute(
                "SELECT text, finish, stats FROM results WHERE image_hash=? AND model_id=? AND mode=? AND task=?",
                (key.image_hash, key.model_id, key.mode, key.task),
            ).fetchone()
        if row is None or (row["finish"] not in _COMPLETE and not include_partial):
            return None
        return _result(row)

    def put(self, key: ResultKey, result: RunResult) -> None:
        """Stores a result, committed before this returns (a kill right after keeps it).

        A complete result replaces whatever was there. A partial one (cancelled, repetition) is kept only where no
        complete result exists: it is shown again on reopening, but `get` never serves it as final.
        """
        complete = result.finish.value in _COMPLETE
        sql = (
            "INSERT INTO results (image_hash, model_id, mode, task, text, finish, stats, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (image_hash, model_id, mode, task) DO UPDATE SET "
            "text=excluded.text, finish=excluded.finish, stats=excluded.stats, created_at=excluded.created_at"
        )
        if not complete:
            sql += f" WHERE results.finish NOT IN ({', '.join(repr(f) for f in _COMPLETE)})"
        values = (
            key.image_hash,
            key.model_id,
            key.mode,
            key.task,
            result.text,
            result.finish.value,
            json.dumps(result.stats.to_dict()),
            time.time(),
        )
        with self._db() as conn:
            conn.execute(sql, values)

    def forget_results(self, image_hash: str | None = None) -> int:
        """Removes stored results (of one page image, or all); returns how many."""
        with self._db() as conn:
            if image_hash is None:
                return conn.execute("DELETE FROM results").rowcount
            return conn.execute("DELETE FROM results WHERE image_hash=?", (image_hash,)).rowcount

    # -- the user's edits -------------------------------------------------------------------------------------------
    def put_edit(self, image_hash: str, task: str, text: str, *, base: ResultKey | None = None) -> None:
        """Saves a hand edit of a page's text, committed before this returns (a crash right after keeps it)."""
        with self._db() as conn:
            conn.execute(
                "INSERT INTO edits (image_hash, task, text, base_model_id, base_mode, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (image_hash, task) DO UPDATE SET text=excluded.text, "
                "base_model_id=excluded.base_model_id, base_mode=excluded.base_mode, updated_at=excluded.updated_at",
                (
                    image_hash,
                    task,
                    text,
                    base.model_id if base else "",
                    base.mode if base else "",
                    time.time(),
                ),
            )

    def get_edit(self, image_hash: str, task: str) -> Edit | None:
        with self._db() as conn:
            row = conn.execute(
                "SELECT text, base_model_id, base_mode, updated_at FROM edits WHERE image_hash=? AND task=?",
                (image_hash, task),
            ).fetchone()
        return _edit(row) if row is not None else None

    def revert_edit(self, image_hash: str, task: str) -> bool:
        """Drops the hand edit (the model's result shows again); True when there was one."""
        with self._db() as conn:
            return (
                conn.execute("DELETE FROM edits WHERE image_hash=? AND task=?", (image_hash, task)).rowcount
                > 0
            )

    def page_edits(self, source: str | os.PathLike | int, task: str) -> dict[int, Edit]:
        """A document's edited pages, by page number, without rendering a page."""
        sql = (
            "SELECT p.number, e.text, e.base_model_id, e.base_mode, e.updated_at FROM pages p "
            "JOIN edits e ON e.image_hash = p.image_hash WHERE p.document_id=? AND e.task=?"
        )
        with self._db() as conn:
            row = self._document_row(conn, source)
            if row is None:
                return {}
            rows = conn.execute(sql, (row["id"], task)).fetchall()
        return {int(r["number"]): _edit(r) for r in rows}

    # -- documents --------------------------------------------------------------------------------------------------
    def add_document(self, path: str | os.PathLike, page_count: int, *, title: str = "") -> int:
        """Records that a document was opened (now); returns its id.

        The file's size and modification time are kept: when they change, the page hashes stored for it are
        dropped, since the pages may no longer be the same.
        """
        key = _source_key(path)
        size, mtime = _file_stamp(key)
        now = time.time()
        with self._db(write=True) as conn:
            row = conn.execute(
                "SELECT id, file_size, file_mtime_ns FROM documents WHERE path=?", (stored(key),)
            ).fetchone()
            if row is None:
                cur = conn.execute(
                    "INSERT INTO documents (path, title, page_count, file_size, file_mtime_ns, added_at, opened_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (stored(key), printable(title), int(page_count), size, mtime, now, now),
                )
                return _inserted_id(cur)
            doc_id = int(row["id"])
            # A row made by set_page_hashes (a parse that started first) has no file facts yet: its hashes are fresh.
            known = row["file_size"] is not None or row["file_mtime_ns"] is not None
            if known and (row["file_size"], row["file_mtime_ns"]) != (size, mtime):
                conn.execute("DELETE FROM pages WHERE document_id=?", (doc_id,))
            conn.execute(
                "UPDATE documents SET page_count=?, file_size=?, file_mtime_ns=?, opened_at=?, "
                "title=CASE WHEN ?<>'' THEN ? ELSE title END WHERE id=?",
                (int(page_count), size, mtime, now, printable(title), printable(title), doc_id),
            )
            return doc_id

    def document(self, source: str | os.PathLike | int) -> DocumentRecord | None:
        with self._db() as conn:
            row = self._document_row(conn, source)
        return _document(row) if row is not None else None

    def recent_documents(self, limit: int = 20) -> list[DocumentRecord]:
        """The most recently opened documents first."""
        with self._db() as conn:
            rows = conn.execute(
                "SELECT * FROM documents ORDER BY opened_at DESC, id DESC LIMIT ?", (int(limit),)
            ).fetchall()
        return [_document(r) for r in rows]

    def forget_document(self, source: str | os.PathLike | int) -> None:
        """Removes a document from the recent list with its page list and Q&A history (results stay cached)."""
        with self._db(write=True) as conn:
            row = self._document_row(conn, source)
            if row is not None:
                conn.execute("DELETE FROM documents WHERE id=?", (row["id"],))

    def set_page_hashes(self, source: str | os.PathLike | int, hashes: dict[int, str]) -> None:
        """Remembers which page image each page number of a document rendered to (1-based numbers)."""
        with self._db(write=True) as conn:
            doc_id = self._document_id(conn, source, create=True)
            conn.executemany(
                "INSERT INTO pages (document_id, number, image_hash) VALUES (?, ?, ?) "
                "ON CONFLICT (document_id, number) DO UPDATE SET image_hash=excluded.image_hash",
                [(doc_id, int(n), h) for n, h in hashes.items()],
            )

    def page_hashes(self, source: str | os.PathLike | int) -> dict[int, str]:
        with self._db() as conn:
            row = self._document_row(conn, source)
            if row is None:
                return {}
            rows = conn.execute("SELECT number, image_hash FROM pages WHERE document_id=?", (row["id"],))
            return {int(r["number"]): r["image_hash"] for r in rows}

    def page_results(
        self,
        source: str | os.PathLike | int,
        model_id: str,
        mode: str,
        task: str,
        *,
        include_partial: bool = False,
    ) -> dict[int, RunResult]:
        """The stored results of a document's pages for one model/mode/task, by page number, without rendering a
        page: what the window shows the moment a document is reopened."""
        sql = (
            "SELECT p.number, r.text, r.finish, r.stats FROM pages p JOIN results r ON r.image_hash = p.image_hash "
            "WHERE p.document_id=? AND r.model_id=? AND r.mode=? AND r.task=?"
        )
        with self._db() as conn:
            row = self._document_row(conn, source)
            if row is None:
                return {}
            rows = conn.execute(sql, (row["id"], model_id, mode, task)).fetchall()
        return {int(r["number"]): _result(r) for r in rows if include_partial or r["finish"] in _COMPLETE}

    def page_results_any_mode(
        self,
        source: str | os.PathLike | int,
        task: str,
        *,
        model_prefix: str = "",
        prefer: tuple[str, str] | None = None,
        include_partial: bool = False,
    ) -> dict[int, StoredResult]:
        """The best stored result of each page of a document, whichever mode (or model whose id starts with
        `model_prefix`) made it: a complete one before a partial one, then the `prefer`red (model_id, mode), then
        the newest. What the window shows on reopening after a mode switch, with the mode named."""
        sql = (
            "SELECT p.number, r.model_id, r.mode, r.text, r.finish, r.stats, r.created_at FROM pages p "
            "JOIN results r ON r.image_hash = p.image_hash WHERE p.document_id=? AND r.task=? "
            "AND substr(r.model_id, 1, ?) = ?"
        )
        with self._db() as conn:
            row = self._document_row(conn, source)
            if row is None:
                return {}
            rows = conn.execute(sql, (row["id"], task, len(model_prefix), model_prefix)).fetchall()
        best: dict[int, tuple[tuple, StoredResult]] = {}
        for r in rows:
            complete = r["finish"] in _COMPLETE
            if not (complete or include_partial):
                continue
            rank = (complete, (r["model_id"], r["mode"]) == prefer, float(r["created_at"]))
            n = int(r["number"])
            if n not in best or rank > best[n][0]:
                best[n] = (rank, StoredResult(_result(r), r["model_id"], r["mode"]))
        return {n: stored for n, (_rank, stored) in best.items()}

    # -- questions and answers --------------------------------------------------------------------------------------
    def add_qa(
        self,
        source: str | os.PathLike | int,
        question: str,
        answer: str,
        *,
        page: int | None = None,
        pages_used: Iterable[int] = (),
        model_id: str = "",
        mode: str = "",
        stats: RunStats | dict | None = None,
    ) -> int:
        """Keeps one question and its answer; `page` None means a question about the whole document."""
        stats_dict = stats.to_dict() if isinstance(stats, RunStats) else dict(stats or {})
        with self._db(write=True) as conn:
            doc_id = self._document_id(conn, source, create=True)
            cur = conn.execute(
                "INSERT INTO qa (document_id, page, question, answer, pages_used, model_id, mode, stats, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    doc_id,
                    page,
                    question,
                    answer,
                    json.dumps([int(p) for p in pages_used]),
                    model_id,
                    mode,
                    json.dumps(stats_dict),
                    time.time(),
                ),
            )
            return _inserted_id(cur)

    def qa_history(
        self, source: str | os.PathLike | int, *, page: int | None = None, limit: int = 500
    ) -> list[QARecord]:
        """A document's questions and answers, oldest first: all of them, or those about one page."""
        with self._db() as conn:
            row = self._document_row(conn, source)
            if row is None:
                return []
            sql = "SELECT * FROM qa WHERE document_id=?"
            args: list = [row["id"]]
            if page is not None:
                sql += " AND page=?"
                args.append(int(page))
            sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
            args.append(int(limit))
            rows = conn.execute(sql, args).fetchall()
            path = from_stored(row["path"])
        return [
            QARecord(
                id=int(r["id"]),
                source=path,
                page=r["page"],
                question=r["question"],
                answer=r["answer"],
                pages_used=json.loads(r["pages_used"] or "[]"),
                model_id=r["model_id"],
                mode=r["mode"],
                stats=json.loads(r["stats"] or "{}"),
                created_at=r["created_at"],
                boxes=_json_list(r["boxes"]),
            )
            for r in reversed(rows)
        ]

    def set_qa_boxes(self, qa_id: int, boxes: list[dict]) -> None:
        """Keep where on the page answer `qa_id` came from (`Box.to_dict()` each), found after the answer."""
        with self._db(write=True) as conn:
            conn.execute("UPDATE qa SET boxes=? WHERE id=?", (json.dumps(list(boxes)), int(qa_id)))

    def clear_qa(self, source: str | os.PathLike | int) -> None:
        with self._db(write=True) as conn:
            row = self._document_row(conn, source)
            if row is not None:
                conn.execute("DELETE FROM qa WHERE document_id=?", (row["id"],))

    # -- helpers ----------------------------------------------------------------------------------------------------
    @staticmethod
    def _document_row(conn: sqlite3.Connection, source: str | os.PathLike | int) -> sqlite3.Row | None:
        if isinstance(source, int):
            return conn.execute("SELECT * FROM documents WHERE id=?", (source,)).fetchone()
        return conn.execute("SELECT * FROM documents WHERE path=?", (stored(_source_key(source)),)).fetchone()

    def _document_id(self, conn: sqlite3.Connection, source: str | os.PathLike | int, *, create: bool) -> int:
        row = self._document_row(conn, source)
        if row is not None:
            return int(row["id"])
        if isinstance(source, int) or not create:
            raise LibraryError(f"The library has no document {source}.")
        now = time.time()
        key = _source_key(source)
        # the file's stamp too: else the next add_document would take the file for changed and drop its pages
        cur = conn.execute(
            "INSERT INTO documents (path, title, page_count, file_size, file_mtime_ns, added_at, opened_at) "
            "VALUES (?, '', 0, ?, ?, ?, ?)",
            (stored(key), *_file_stamp(key), now, now),
        )
        return _inserted_id(cur)


class _TooNew(Exception):
    """The database's schema is newer than this PaperLens knows."""


def _inserted_id(cur: sqlite3.Cursor) -> int:
    if cur.lastrowid is None:  # sqlite3 sets it after every INSERT; None would be a bug of ours
        raise LibraryError("The library did not record a new row.")
    return int(cur.lastrowid)


def _file_stamp(key: str) -> tuple[int | None, int | None]:
    """(size, mtime in ns) of a document's file, or (None, None) for a source that is not a file."""
    try:
        st = Path(key).stat()
    except (OSError, ValueError):
        return None, None
    return st.st_size, st.st_mtime_ns


def _close_quietly(conn: sqlite3.Connection | None) -> None:
    if conn is not None:
        with suppress(sqlite3.Error):
            conn.close()


def _result(row: sqlite3.Row) -> RunResult:
    try:
        finish = Finish(row["finish"])
    except ValueError:
        finish = Finish.STOP
    try:
        stats = RunStats.from_dict(json.loads(row["stats"] or "{}"))
    except (ValueError, TypeError):
        stats = RunStats()
    return RunResult(text=row["text"], finish=finish, stats=stats)


def _edit(row: sqlite3.Row) -> Edit:
    return Edit(row["text"], row["base_model_id"], row["base_mode"], float(row["updated_at"]))


def _document(row: sqlite3.Row) -> DocumentRecord:
    return DocumentRecord(
        id=int(row["id"]),
        path=from_stored(row["path"]),
        title=row["title"],
        page_count=int(row["page_count"]),
        added_at=float(row["added_at"]),
        opened_at=float(row["opened_at"]),
    )
