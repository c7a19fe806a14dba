"""The remote engine against real servers on 127.0.0.1: llama-cpp-python's own OpenAI-compatible server with the tiny
twin (parse, ask, a batch with --jobs 2), and a stub of our own for what a real server will not do on demand (503s,
dropped streams, slow answers, a refused key, no vision). Also batches over folder trees, kill -9 and resume, and the
hot folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pymupdf
import pytest

from paperlens.cli import main
from paperlens.core.engine.remote import RemoteEngine
from paperlens.core.errors import EngineError, ModelNotFound, PageRunError
from paperlens.core.options import EngineOptions
from paperlens.core.prompts import parse_task
from paperlens.core.runs import Finish
from tests.conftest import a4_page, free_port
from tests.integration.test_cli import make_pdf
from tests.stub_server import StubServer

pytestmark = pytest.mark.integration

PAGE = a4_page().resize((448, 634))
REAL = ["--mode", "16x", "--max-tokens", "8"]


def engine(url: str, **kw) -> RemoteEngine:
    options = EngineOptions(engine="remote", server_urls=(url,), mode=kw.pop("mode", "16x"), **kw)
    return RemoteEngine(options, backoff_s=0.01, connect_timeout_s=2)


@pytest.fixture
def stub():
    with StubServer() as s:
        yield s


@pytest.fixture
def tree(tmp_path) -> Path:
    """A folder tree of PDFs and images, one broken PDF, one broken image, one text file."""
    root = tmp_path / "in"
    (root / "2026" / "march").mkdir(parents=True)
    make_pdf(root / "report.pdf", 2)
    make_pdf(root / "2026" / "march" / "invoices.pdf", 3)
    a4_page("Receipt 7").save(root / "2026" / "receipt.png")
    (root / "2026" / "broken.pdf").write_bytes(b"%PDF-1.7\n garbage")
    (root / "2026" / "march" / "broken.jpg").write_bytes(b"\xff\xd8\xff not really")
    (root / "notes.txt").write_text("not a document")
    return root


# --- through llama-cpp-python's real server ------------------------------------------------------------------------
def test_parse_and_ask_through_the_real_server(llama_server, tmp_path, capsys):
    page = tmp_path / "page.png"
    a4_page().save(page)
    rc = main(["parse", str(page), "--engine", llama_server, *REAL, "--format", "json", "-q"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["pages"][0]["markdown"] and out["pages"][0]["stats"]["mode"] == "16x"
    rc = main(["parse", str(page), "--engine", llama_server, *REAL, "--format", "json", "-q"])
    assert rc == 0 and json.loads(capsys.readouterr().out)["pages"][0]["cached"]  # cached per server model
    rc = main(["ask", str(page), "What is the total?", "--engine", llama_server, *REAL, "--json"])
    answer = json.loads(capsys.readouterr().out)
    assert rc == 0 and answer["text"] and answer["finish"] in ("stop", "length")


def test_identity_names_the_server_model_and_never_the_local_one(llama_server):
    with engine(llama_server) as e:
        assert e.identity.startswith("remote:") and e.identity.endswith(".gguf")
        assert e.info.text_model == e.identity


def test_a_batch_with_two_jobs_through_the_real_server(llama_server, tree, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["parse", str(tree), "-o", str(out), "--engine", llama_server, "--jobs", "2", *REAL])
    err = capsys.readouterr().err
    assert rc == 1  # two broken files
    assert (out / "report.md").is_file() and (out / "2026" / "march" / "invoices.md").is_file()
    assert (out / "2026" / "receipt.md").is_file()
    assert not (out / "2026" / "broken.md").exists()
    assert "3 done" in err and "2 failed" in err and "1 skipped" in err
    assert "broken.pdf" in err and "notes.txt: not a PDF or an image" in err
    # again: every page comes from the library
    rc = main(["parse", str(tree), "-o", str(out), "--engine", llama_server, "--jobs", "2", *REAL])
    err = capsys.readouterr().err
    assert rc == 1 and "resuming: 6 of 6 pages already done" in err and "3 done (3 from the cache)" in err


def test_cancel_through_the_real_server_keeps_what_was_streamed(llama_server):
    with engine(llama_server, max_tokens=64) as e:
        cancel = threading.Event()
        pieces: list[str] = []

        def on_chunk(piece: str) -> None:
            pieces.append(piece)
            cancel.set()

        result = e.run(parse_task(), PAGE, on_chunk=on_chunk, cancel=cancel)
        assert result.finish == Finish.CANCELLED and result.text == "".join(pieces)
        assert e.run(parse_task(max_tokens=4), PAGE).finish.complete


def test_pages_run_at_once_on_the_real_server_come_back_whole(llama_server):
    """llama-cpp-python's server (default flags) ends a streaming answer when another request waits; pages sent
    together must still come back exactly as when sent one by one, never cut short and taken for finished."""
    pages = [a4_page(f"Invoice {n} Total {n}.00").resize((448, 634)) for n in range(3)]
    with engine(llama_server, max_tokens=24, jobs=3) as e:
        alone = [e.run(parse_task(), p) for p in pages]
        together: list = [None] * len(pages)
        start = threading.Barrier(len(pages))

        def run(i: int) -> None:
            start.wait()
            together[i] = e.run(parse_task(), pages[i])

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(pages))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert [r.text for r in together] == [r.text for r in alone]
    assert all(r.finish.complete for r in together)


# --- the stub: what real servers do now and then -------------------------------------------------------------------
def test_503_and_429_are_retried_with_backoff(stub):
    stub.script = ["503", "429", "ok"]
    with engine(stub.url) as e:
        result = e.run(parse_task(), PAGE)
    assert result.finish.complete and result.text.startswith("word0") and len(stub.requests) == 3


def test_a_dropped_stream_is_retried_and_shown_text_is_not_repeated(stub):
    stub.script = ["drop", "ok"]
    pieces: list[str] = []
    with engine(stub.url) as e:
        result = e.run(parse_task(), PAGE, on_chunk=pieces.append)
    assert result.finish.complete and "".join(pieces) == result.text == "".join(f"word{i} " for i in range(6))


def test_an_answer_ended_early_is_asked_again_and_the_server_gets_one_page_at_a_time(stub, caplog):
    stub.script = ["interrupted", "ok"]
    pieces: list[str] = []
    with engine(stub.url) as e:
        result = e.run(parse_task(), PAGE, on_chunk=pieces.append)
        (server,) = e.servers
        assert server.one_at_a_time  # found once, kept for the rest of the run
    # the early [DONE] is not taken for a finished page (it used to be, and was cached as complete)
    assert result.finish.complete and "".join(pieces) == result.text == "".join(f"word{i} " for i in range(6))
    assert len(stub.requests) == 2
    assert "--interrupt_requests false" in caplog.text


def test_an_answer_always_ended_early_fails_the_page_with_the_reason(stub):
    stub.script = ["interrupted"] * 10
    with engine(stub.url, retries=2) as e, pytest.raises(PageRunError, match="interrupt_requests false"):
        e.run(parse_task(), PAGE)


def test_retries_are_bounded_and_fail_only_the_page(stub):
    stub.script = ["503"] * 10
    with engine(stub.url, retries=2) as e, pytest.raises(PageRunError, match="did not answer"):
        e.run(parse_task(), PAGE)
    assert len(stub.requests) == 3


def test_a_slow_page_times_out_with_a_sentence(stub):
    stub.script = ["hang"]
    with (
        engine(stub.url, page_timeout_s=0.5, retries=0) as e,
        pytest.raises(PageRunError, match="nothing for 0s|longer"),
    ):
        e.run(parse_task(), PAGE)


def test_cancel_closes_the_stream(stub):
    stub.delay = 0.2
    stub.words = 50
    cancel = threading.Event()
    with engine(stub.url) as e:
        t0 = time.monotonic()
        result = e.run(parse_task(), PAGE, on_chunk=lambda _p: cancel.set(), cancel=cancel)
    assert result.finish == Finish.CANCELLED and time.monotonic() - t0 < 5
    assert stub.closed_early.wait(10)  # the server noticed: it stops generating


@pytest.mark.parametrize(
    ("setup", "error", "words"),
    [
        (lambda s: setattr(s, "models_status", 401), EngineError, "refused the API key"),
        (lambda s: setattr(s, "models_status", 404), EngineError, "not an OpenAI-compatible server"),
        (lambda s: setattr(s, "script", ["401"]), EngineError, "refused the API key"),
        (lambda s: setattr(s, "script", ["novision"]), EngineError, "cannot read images"),
    ],
    ids=["key-at-connect", "wrong-url", "key-at-run", "no-vision"],
)
def test_server_errors_are_one_sentence(stub, setup, error, words):
    setup(stub)
    with pytest.raises(error, match=words), engine(stub.url) as e:
        e.run(parse_task(), PAGE)


def test_a_refused_connection_and_a_bad_address_are_one_sentence():
    with pytest.raises(EngineError, match="Nothing answers at .*connection refused"):
        engine(f"http://127.0.0.1:{free_port()}").load()
    with pytest.raises(EngineError, match="is not a server address"):
        engine("ftp://example")


def test_a_missing_model_is_named(stub):
    with pytest.raises(ModelNotFound, match="does not serve 'other'.*minicpm-v-4.6"):
        engine(stub.url, server_model="other").load()


def test_the_api_key_goes_in_the_header_and_never_in_a_repr(stub, monkeypatch):
    monkeypatch.setenv("PAPERLENS_API_KEY", "sekrit")
    e = engine(stub.url)
    assert "sekrit" not in repr(e.options)
    assert e._headers() == {"Authorization": "Bearer sekrit"}


def test_vllm_gets_the_mode_and_slices_per_request_and_ollama_refuses_4x():
    with StubServer(owned_by="vllm") as vllm:
        with engine(vllm.url, mode="4x", max_slices=36) as e:
            e.run(parse_task(), PAGE)
        body = vllm.requests[0]
        assert body["mm_processor_kwargs"] == {"downsample_mode": "4x", "max_slice_nums": 36}
        assert body["chat_template_kwargs"] == {"enable_thinking": False}
    with StubServer(owned_by="library") as ollama:
        ollama.ollama = True
        with pytest.raises(EngineError, match="16x only"):
            engine(ollama.url, mode="4x").load()
        with engine(ollama.url, mode="16x") as e:
            assert e.run(parse_task(), PAGE).finish.complete
        assert "mm_processor_kwargs" not in ollama.requests[0]


def test_pages_are_spread_over_several_servers(tmp_path, capsys):
    pdf = make_pdf(tmp_path / "six.pdf", 6)
    with StubServer(delay=0.05) as a, StubServer(delay=0.05) as b:
        rc = main(
            [
                "parse",
                str(pdf),
                "--engine",
                a.url,
                "--engine",
                b.url,
                "--mode",
                "16x",
                "--format",
                "json",
                "-q",
            ]
        )
        pages = json.loads(capsys.readouterr().out)["pages"]
        assert rc == 0 and [p["page"] for p in pages] == [1, 2, 3, 4, 5, 6]  # in page order
        assert a.requests and b.requests and len(a.requests) + len(b.requests) == 6


# --- batches: kill -9 and resume -----------------------------------------------------------------------------------
def test_a_batch_killed_with_sigkill_resumes_without_redoing_finished_pages(tmp_path):
    docs = tmp_path / "in"
    docs.mkdir()
    for n in range(4):
        make_pdf(docs / f"doc{n}.pdf", 3)
        d = pymupdf.open(docs / f"doc{n}.pdf")  # distinct pages per document: each page its own cache entry
        for page in d:
            page.insert_text((72, 400), f"document {n}", fontsize=14)
        d.saveIncr()
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(["app", os.environ.get("PYTHONPATH", "")])}
    with StubServer(delay=0.1) as stub:
        args = [
            sys.executable,
            "-m",
            "paperlens",
            "parse",
            str(docs),
            "-o",
            str(out),
            "--engine",
            stub.url,
            "--mode",
            "16x",
        ]
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while len(stub.completed) < 4 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        finished = set(stub.completed)
        assert 4 <= len(finished) < 12
        stub.requests.clear()
        rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr
        m = [line for line in rerun.stderr.splitlines() if line.startswith("resuming:")]
        assert m and int(m[0].split()[1]) >= len(finished) and m[0].endswith("of 12 pages already done")
        assert not finished & set(stub.image_hashes())  # no finished page was asked again
    assert sorted(p.name for p in out.iterdir()) == [f"doc{n}.md" for n in range(4)]


# --- the hot folder ------------------------------------------------------------------------------------------------
def test_the_hot_folder_reads_a_slowly_copied_file_only_once_it_is_complete(tmp_path, stub):
    from paperlens.core import batch
    from paperlens.core.documents import open_document
    from paperlens.core.library import Library
    from paperlens.core.results import export
    from paperlens.core.watch import HotFolder

    in_dir, out_dir = tmp_path / "in", tmp_path / "out"
    in_dir.mkdir()
    data = make_pdf(tmp_path / "scan.pdf", 2).read_bytes()
    lines: list[str] = []
    logged = threading.Condition()

    def log(line: str) -> None:
        with logged:
            lines.append(line)
            logged.notify_all()

    def write(result, item):
        target = batch.output_path(out_dir, item, ".md")
        target.parent.mkdir(parents=True, exist_ok=True)
        return export.export(result, "md", target)

    ready = threading.Event()
    stop = threading.Event()
    e = engine(stub.url)
    folder = HotFolder(
        in_dir, out_dir, e, open_document=open_document, write=write, library=Library(), log=log, settle_s=0.6
    )
    worker = threading.Thread(target=folder.run, args=(stop,), kwargs={"on_ready": ready.set})
    worker.start()
    try:
        assert ready.wait(10)
        (in_dir / "inbox").mkdir()
        target = in_dir / "inbox" / "scan.pdf"
        with open(target, "wb") as f:  # copied in slowly: a piece every 0.2 s, under the settle time
            for i in range(0, len(data), len(data) // 8 + 1):
                f.write(data[i : i + len(data) // 8 + 1])
                f.flush()
                time.sleep(0.2)
                assert not lines  # nothing read while the file grows
        with logged:
            assert logged.wait_for(lambda: lines, timeout=30)
        assert len(lines) == 1 and lines[0].startswith("inbox/scan.pdf: done, 2 pages"), lines
        assert (out_dir / "inbox" / "scan.md").is_file() and (
            in_dir / "done" / "inbox" / "scan.pdf"
        ).is_file()
        assert not target.exists()
    finally:
        stop.set()
        worker.join(timeout=30)
        e.close()
    # a restart finds nothing left to do
    lines.clear()
    again = HotFolder(
        in_dir, out_dir, engine(stub.url), open_document=open_document, write=write, library=None, log=log
    )
    stop2, ready2 = threading.Event(), threading.Event()
    t = threading.Thread(target=again.run, args=(stop2,), kwargs={"on_ready": ready2.set})
    t.start()
    assert ready2.wait(10)
    stop2.set()
    t.join(timeout=30)
    assert not lines and not again.processed


def test_auto_mode_sends_each_page_s_mode_to_vllm_and_records_16x_for_a_server_that_fixes_it():
    from paperlens.core.page import Page
    from paperlens.core.pipeline import PageSource, parse_pages
    from tests import density_pages

    letter, dense = density_pages.letter_page(), density_pages.dense_text_page()
    sources = lambda: [PageSource(1, Page(letter, number=1)), PageSource(2, Page(dense, number=2))]  # noqa: E731
    with StubServer(owned_by="vllm") as vllm:
        e = engine(vllm.url, mode="auto")
        assert e.modes == ("16x",)  # before it knows the server is vLLM, auto is what the server runs
        e.load()
        assert e.modes == ("4x", "16x")
        doc = parse_pages(sources(), 2, e)
        e.close()
        assert [p.stats.mode for p in doc.pages] == ["16x", "4x"]
        assert [r["mm_processor_kwargs"]["downsample_mode"] for r in vllm.requests] == ["16x", "4x"]
    with (
        StubServer() as llama
    ):  # a llama.cpp server: its projector decides; PaperLens records the official 16x
        with engine(llama.url, mode="auto", server_kind="llama") as e:
            assert e.modes == ("16x",)
            doc = parse_pages(sources(), 2, e)
        assert [p.stats.mode for p in doc.pages] == ["16x", "16x"]
        assert all("mm_processor_kwargs" not in r for r in llama.requests)
