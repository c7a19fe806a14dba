"""The library: cached results, documents, Q&A history, damaged databases, and a batch killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from paperlens.core.errors import LibraryError
from paperlens.core.library import ENV_PATH, SCHEMA_VERSION, Library, ResultKey, default_path
from paperlens.core.prompts import parse_task
from paperlens.core.runs import Finish, RunResult, RunStats

KEY = ResultKey(
    image_hash="a" * 64, model_id="MiniCPM-V-4.6-Q4_K_M.gguf:123", mode="4x", task=parse_task().cache_name
)


@pytest.fixture
def lib(tmp_path) -> Library:
    library = Library(tmp_path / "library.sqlite3")
    yield library
    library.close()


def test_default_location_and_override(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(ENV_PATH, raising=False)
    path = default_path()
    assert path.name == "library.sqlite3" and "PaperLens" in str(path)
    monkeypatch.setenv(ENV_PATH, str(tmp_path / "elsewhere.db"))
    assert default_path() == tmp_path / "elsewhere.db"


def test_a_fresh_library_is_wal_and_empty(lib) -> None:
    assert lib.notice is None and lib.persistent
    mode = sqlite3.connect(lib.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert lib.get(KEY) is None
    assert lib.recent_documents() == []


def test_put_then_get_round_trips_text_finish_and_stats(lib) -> None:
    result = RunResult(
        "# Page\n\n| a |\n|---|\n| 1 |", Finish.LENGTH, RunStats(mode="4x", generated_tokens=812)
    )
    lib.put(KEY, result)
    assert lib.get(KEY) == result


def test_every_key_part_matters(lib) -> None:
    lib.put(KEY, RunResult("x"))
    for other in (
        ResultKey("b" * 64, KEY.model_id, KEY.mode, KEY.task),
        ResultKey(KEY.image_hash, "another-model", KEY.mode, KEY.task),
        ResultKey(KEY.image_hash, KEY.model_id, "16x", KEY.task),
        ResultKey(KEY.image_hash, KEY.model_id, KEY.mode, "parse-v2"),
    ):
        assert lib.get(other) is None


def test_partial_results_are_never_served_as_final(lib) -> None:
    lib.put(KEY, RunResult("half a page", Finish.CANCELLED))
    assert lib.get(KEY) is None
    assert lib.get(KEY, include_partial=True).text == "half a page"
    lib.put(KEY, RunResult("the whole page", Finish.STOP))
    assert lib.get(KEY).text == "the whole page"
    # a later cancelled re-run does not throw away the complete result
    lib.put(KEY, RunResult("again, half", Finish.CANCELLED))
    assert lib.get(KEY).text == "the whole page"
    assert lib.get(KEY, include_partial=True).text == "the whole page"


def test_results_survive_reopening(tmp_path) -> None:
    with Library(tmp_path / "l.sqlite3") as first:
        first.put(KEY, RunResult("kept"))
    with Library(tmp_path / "l.sqlite3") as second:
        assert second.get(KEY).text == "kept"
        assert second.notice is None


def test_documents_recent_first(lib, tmp_path) -> None:
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    a.write_bytes(b"%PDF a")
    b.write_bytes(b"%PDF b")
    ida = lib.add_document(a, 3, title="Report A")
    lib.add_document(b, 1)
    time.sleep(0.002)
    assert lib.add_document(str(a), 3) == ida  # same file, same record; title kept
    recent = lib.recent_documents()
    assert [d.path for d in recent] == [str(a.resolve()), str(b.resolve())]
    assert recent[0].title == "Report A" and recent[0].page_count == 3 and recent[0].exists
    assert recent[1].name == "b.pdf"
    assert len(lib.recent_documents(limit=1)) == 1


def test_reopening_a_document_shows_its_results_without_rendering(lib, tmp_path) -> None:
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(b"%PDF scan")
    doc_id = lib.add_document(pdf, 3)
    lib.set_page_hashes(doc_id, {1: "h1", 2: "h2", 3: "h3"})
    for n, finish in ((1, Finish.STOP), (2, Finish.CANCELLED)):
        lib.put(ResultKey(f"h{n}", KEY.model_id, KEY.mode, KEY.task), RunResult(f"page {n}", finish))
    got = lib.page_results(pdf, KEY.model_id, KEY.mode, KEY.task)
    assert {n: r.text for n, r in got.items()} == {1: "page 1"}
    got = lib.page_results(pdf, KEY.model_id, KEY.mode, KEY.task, include_partial=True)
    assert sorted(got) == [1, 2]
    assert lib.page_results(pdf, KEY.model_id, "16x", KEY.task) == {}


def test_a_changed_file_forgets_its_page_hashes(lib, tmp_path) -> None:
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(b"%PDF one")
    lib.set_page_hashes(lib.add_document(pdf, 1), {1: "h1"})
    pdf.write_bytes(b"%PDF two, longer")
    lib.add_document(pdf, 1)
    assert lib.page_hashes(pdf) == {}


def test_qa_history(lib, tmp_path) -> None:
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(b"%PDF")
    lib.add_qa(source=str(pdf), page=2, question="Total?", answer="1,200", pages_used=[2])
    lib.add_qa(pdf, "Who signed?", "Ms Ortiz (page 3)", pages_used=[3], stats=RunStats(generated_tokens=9))
    history = lib.qa_history(pdf)
    assert [(h.question, h.page, h.pages_used) for h in history] == [
        ("Total?", 2, [2]),
        ("Who signed?", None, [3]),
    ]
    assert history[1].stats["generated_tokens"] == 9
    assert [h.question for h in lib.qa_history(pdf, page=2)] == ["Total?"]
    # a question about a source that was never opened as a document still gets kept
    lib.add_qa("Camera capture 1", "What is it?", "A receipt")
    assert lib.qa_history("Camera capture 1")[0].answer == "A receipt"
    lib.clear_qa(pdf)
    assert lib.qa_history(pdf) == []


def test_forgetting_a_document_keeps_the_cache(lib, tmp_path) -> None:
    pdf = tmp_path / "x.pdf"
    pdf.write_bytes(b"%PDF")
    lib.set_page_hashes(lib.add_document(pdf, 1), {1: KEY.image_hash})
    lib.add_qa(pdf, "q", "a")
    lib.put(KEY, RunResult("kept"))
    lib.forget_document(pdf)
    assert lib.recent_documents() == [] and lib.qa_history(pdf) == []
    assert lib.get(KEY).text == "kept"


def test_two_threads_share_it(lib) -> None:
    # the GUI thread reads the recent list while the worker thread stores pages
    errors: list[BaseException] = []

    def worker():
        try:
            for i in range(200):
                lib.put(ResultKey(f"h{i}", "m", "4x", "parse-v1"), RunResult(f"page {i}"))
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=worker)
    t.start()
    for i in range(200):
        lib.add_document(f"doc {i % 5}", 1)
        lib.recent_documents()
    t.join()
    assert errors == []
    assert lib.get(ResultKey("h199", "m", "4x", "parse-v1")).text == "page 199"


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: p.write_bytes(b"this is not a database at all" * 200), id="garbage"),
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[:100] + b"\x00" * 50_000), id="mangled-pages"),
    ],
)
def test_a_damaged_database_is_moved_aside_and_a_fresh_one_started(tmp_path, damage) -> None:
    # GIVEN a library with results, then damaged on disk
    path = tmp_path / "library.sqlite3"
    with Library(path) as first:
        for i in range(50):
            first.put(ResultKey(f"h{i}", "m", "4x", "parse-v1"), RunResult("x" * 2000))
    damage(path)
    # WHEN the app starts
    lib = Library(path)
    # THEN it works, says so, and kept the damaged file for inspection
    try:
        assert lib.persistent
        assert lib.notice and "damaged" in lib.notice and "moved it aside" in lib.notice
        assert lib.moved_to is not None and lib.moved_to.name.startswith("library.sqlite3.corrupt-")
        assert lib.moved_to.exists()
        assert str(lib.moved_to) in lib.notice
        lib.put(KEY, RunResult("fresh"))
        assert lib.get(KEY).text == "fresh"
    finally:
        lib.close()
    with Library(path) as again:
        assert again.notice is None and again.get(KEY).text == "fresh"


def test_the_fresh_library_never_inherits_the_damaged_ones_wal(tmp_path) -> None:
    path = tmp_path / "library.sqlite3"
    path.write_bytes(b"garbage" * 100)
    wal = tmp_path / "library.sqlite3-wal"
    wal.write_bytes(b"old wal")
    with Library(path) as lib:
        assert lib.moved_to is not None
        assert not wal.exists() or wal.read_bytes() != b"old wal"
        lib.put(KEY, RunResult("fresh"))
        assert lib.get(KEY).text == "fresh"


def test_an_unusable_folder_runs_in_memory_and_says_so(tmp_path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with Library(blocker / "library.sqlite3") as lib:
        assert not lib.persistent
        assert "could not create its library folder" in lib.notice
        assert "will not be kept" in lib.notice
        lib.put(KEY, RunResult("in memory"))
        assert lib.get(KEY).text == "in memory"


def test_a_newer_schema_is_left_untouched(tmp_path) -> None:
    path = tmp_path / "library.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    with Library(path) as lib:
        assert not lib.persistent and "newer PaperLens" in lib.notice
    assert path.read_bytes() == before


def test_errors_after_opening_are_library_errors(lib) -> None:
    lib.close()
    with pytest.raises(LibraryError, match="closed"):
        lib.get(KEY)


# --- kill -9 in the middle of a batch ------------------------------------------------------------------------------
DRIVER = textwrap.dedent(
    """
    # A batch as the pipeline runs it: for each page, ask the cache, else run the model and store the page at once.
    import sys, time
    from paperlens.core.library import Library, ResultKey
    from paperlens.core.runs import Finish, RunResult, RunStats

    lib = Library(sys.argv[1])
    hang_at = int(sys.argv[2])  # the fake model never finishes this page (0: never hangs)
    for n in range(1, 9):
        key = ResultKey(f"hash-of-page-{n}", "fake-model", "4x", "parse-v1")
        cached = lib.get(key)
        if cached is not None:
            print(f"cached {n}", flush=True)
            continue
        if n == hang_at:
            print(f"running {n}", flush=True)
            time.sleep(60)  # the page in flight when the process is killed
        lib.put(key, RunResult(f"# Page {n}", Finish.STOP, RunStats(generated_tokens=n)))
        print(f"ran {n}", flush=True)
    """
)


def test_kill_9_mid_batch_keeps_every_finished_page(tmp_path) -> None:
    # GIVEN a batch of 8 pages whose 4th page is in flight when the process is killed with SIGKILL
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    db = tmp_path / "library.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "app")}
    proc = subprocess.Popen(
        [sys.executable, str(driver), str(db), "4"], stdout=subprocess.PIPE, text=True, env=env
    )
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line.strip())
            if line.startswith("running 4"):
                break
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    assert lines == ["ran 1", "ran 2", "ran 3", "running 4"]
    assert proc.returncode == -signal.SIGKILL
    # WHEN the batch is run again
    rerun = subprocess.run(
        [sys.executable, str(driver), str(db), "0"], capture_output=True, text=True, env=env, timeout=30
    )
    # THEN the three finished pages come from the cache and only the rest run
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.split("\n")[:-1] == ["cached 1", "cached 2", "cached 3"] + [
        f"ran {n}" for n in range(4, 9)
    ]
    with Library(db) as lib:
        assert lib.notice is None
        assert (
            lib.get(ResultKey("hash-of-page-2", "fake-model", "4x", "parse-v1")).stats.generated_tokens == 2
        )


def test_page_hashes_stored_before_the_document_is_recorded_are_kept(tmp_path):
    # GIVEN a parse that stored page hashes before the window's library lookup recorded the document (a race seen
    # as a flaky window test: the reopened document showed no results)
    from paperlens.core.library import Library

    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(b"%PDF-1.4 not really")
    with Library(tmp_path / "lib.sqlite3") as lib:
        lib.set_page_hashes(str(pdf), {1: "hash-1"})
        # WHEN the document is recorded afterwards
        lib.add_document(str(pdf), 2)
        # THEN the hashes are still there; only a changed file drops them
        assert lib.page_hashes(str(pdf)) == {1: "hash-1"}
        pdf.write_bytes(b"%PDF-1.4 changed, longer")
        lib.add_document(str(pdf), 2)
        assert lib.page_hashes(str(pdf)) == {}


class _FlakyConnection:
    """A connection whose next matching statement fails once, as a full disk or a busy file would make it."""

    def __init__(self, conn: sqlite3.Connection, fail_on: str, *, sqlite_rolls_back: bool = False) -> None:
        self._conn = conn
        self._fail_on = fail_on
        self._sqlite_rolls_back = sqlite_rolls_back

    def execute(self, sql: str, *args):
        if self._fail_on and sql.strip().upper().startswith(self._fail_on):
            self._fail_on = ""
            if self._sqlite_rolls_back:  # what SQLite itself does on SQLITE_FULL
                self._conn.execute("ROLLBACK")
            raise sqlite3.OperationalError("database or disk is full")
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self._conn, name)


def test_a_failed_commit_leaves_no_transaction_open(lib, tmp_path) -> None:
    # GIVEN a library whose next COMMIT fails
    real = lib._conn
    lib._conn = _FlakyConnection(real, "COMMIT")
    # WHEN a write fails at its commit
    with pytest.raises(LibraryError, match="disk is full"):
        lib.add_document(tmp_path / "a.pdf", 1)
    # THEN the transaction was rolled back: nothing half-written, and the next write works
    assert not real.in_transaction
    assert lib.document(tmp_path / "a.pdf") is None
    lib.add_document(tmp_path / "b.pdf", 2)
    assert lib.document(tmp_path / "b.pdf").page_count == 2


def test_the_real_error_is_kept_when_sqlite_rolled_back_itself(lib, tmp_path) -> None:
    # GIVEN a write whose statement fails and SQLite has already rolled the transaction back (disk full)
    lib._conn = _FlakyConnection(lib._conn, "INSERT", sqlite_rolls_back=True)
    # WHEN it is made
    # THEN the error says the disk is full, not "cannot rollback - no transaction is active"
    with pytest.raises(LibraryError, match="disk is full"):
        lib.add_document(tmp_path / "a.pdf", 1)
    lib.add_document(tmp_path / "a.pdf", 1)
    assert lib.document(tmp_path / "a.pdf") is not None


def test_a_file_name_that_is_not_utf8_is_kept_exactly(lib, tmp_path) -> None:
    # GIVEN a real file whose name has a byte that is not UTF-8, and a clean one spelled with U+FFFD
    raw = os.fsencode(tmp_path) + b"/scan\xff.pdf"
    fd = os.open(raw, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"%PDF odd")
    os.close(fd)
    odd = os.fsdecode(raw)
    clean = tmp_path / "scan\ufffd.pdf"
    clean.write_bytes(b"%PDF clean")
    # WHEN both are recorded, with hashes and a question, under the odd name's own title
    doc_id = lib.add_document(odd, 2, title=Path(odd).stem)
    lib.set_page_hashes(odd, {1: "h1", 2: "h2"})
    lib.add_qa(source=odd, page=1, question="Total?", answer="12", pages_used=[1])
    clean_id = lib.add_document(clean, 1)
    # THEN the odd name comes back as a path that opens the same file, never confused with the clean one
    assert clean_id != doc_id
    record = lib.document(odd)
    assert record.id == doc_id and record.path == odd and record.exists
    assert os.fsencode(record.path) == raw
    assert record.title == "scan\ufffd"  # shown with a replacement character
    assert lib.page_hashes(odd) == {1: "h1", 2: "h2"} and lib.page_hashes(clean) == {}
    assert [q.source for q in lib.qa_history(odd)] == [odd]
    assert {d.path for d in lib.recent_documents()} == {odd, str(clean)}
    assert lib.add_document(odd, 2) == doc_id  # the same file is the same record


def test_page_results_any_mode_prefers_complete_then_the_current_mode_then_the_newest(lib) -> None:
    # GIVEN a document whose pages were parsed in 4x, then some in 16x, one cancelled, one by another model
    task = KEY.task
    lib.add_document("doc.pdf", 4)
    lib.set_page_hashes("doc.pdf", {1: "h1", 2: "h2", 3: "h3", 4: "h4"})
    for h in ("h1", "h2", "h3"):
        lib.put(ResultKey(h, "m:4x", "4x", task), RunResult(f"{h} in 4x"))
    lib.put(ResultKey("h2", "m:16x", "16x", task), RunResult("h2 in 16x"))
    lib.put(ResultKey("h3", "m:16x", "16x", task), RunResult("h3 half", Finish.CANCELLED))
    lib.put(ResultKey("h4", "other:4x", "4x", task), RunResult("h4 other model"))
    # WHEN asked in 16x for this model's results in any mode
    got = lib.page_results_any_mode("doc.pdf", task, model_prefix="m:", prefer=("m:16x", "16x"))
    # THEN each page has its best result, named with its mode; another model's result is not mixed in
    assert {n: (r.result.text, r.mode) for n, r in got.items()} == {
        1: ("h1 in 4x", "4x"),
        2: ("h2 in 16x", "16x"),
        3: ("h3 in 4x", "4x"),  # a complete result in another mode beats a cancelled one in this mode
    }
    assert lib.page_results_any_mode("doc.pdf", task)[4].result.text == "h4 other model"
    assert lib.page_results_any_mode("nowhere.pdf", task) == {}
    # only partial: shown when asked for
    lib.put(ResultKey("h4", "m:16x", "16x", task), RunResult("h4 half", Finish.CANCELLED))
    assert 4 not in lib.page_results_any_mode("doc.pdf", task, model_prefix="m:")
    partial = lib.page_results_any_mode("doc.pdf", task, model_prefix="m:", include_partial=True)[4]
    assert partial.result.finish == Finish.CANCELLED and partial.mode == "16x"


def test_a_document_row_made_by_a_parse_records_the_file_stamp(lib, tmp_path) -> None:
    # GIVEN a parse that stored page hashes before the window recorded the document (they race on opening)
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(b"%PDF-1.7 a document")
    lib.set_page_hashes(pdf, {1: "h1"})
    # WHEN the document is recorded as opened, its file unchanged
    lib.add_document(pdf, 1)
    # THEN the hashes stay (only a changed file drops them)
    assert lib.page_hashes(pdf) == {1: "h1"}
    pdf.write_bytes(b"%PDF-1.7 another document, longer")
    lib.add_document(pdf, 1)
    assert lib.page_hashes(pdf) == {}
