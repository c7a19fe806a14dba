"""The command line on the real llama.cpp with the tiny twin: output shapes, the cache, and every error path."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paperlens.cli import main
from tests.conftest import a4_page

pytestmark = pytest.mark.integration

STATS_KEYS = {
    "mode",
    "image_tokens",
    "prompt_tokens",
    "generated_tokens",
    "ttft_s",
    "decode_tokens_per_s",
    "wall_s",
    "peak_rss_mb",
}


@pytest.fixture
def page_png(tmp_path) -> Path:
    path = tmp_path / "page.png"
    a4_page().save(path)
    return path


def make_pdf(path: Path, pages: int) -> Path:
    import pymupdf as fitz

    doc = fitz.open()
    for n in range(pages):
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 100), f"Page {n + 1}: quarterly figures", fontsize=14)
        for i in range(12):
            page.insert_text((72, 140 + 18 * i), f"Row {i}: {100 + 7 * i + n} EUR", fontsize=11)
    doc.save(path)
    return path


def cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "paperlens", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_parse_json_prints_stats_for_every_page(tiny_model_dir, page_png, capsys):
    rc = main(
        [
            "parse",
            str(page_png),
            "--model-dir",
            str(tiny_model_dir),
            "--format",
            "json",
            "--max-tokens",
            "8",
            "--mode",
            "4x",
            "-q",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    (page,) = out["pages"]
    assert page["page"] == 1 and isinstance(page["markdown"], str)
    assert set(page["stats"]) >= STATS_KEYS
    assert page["stats"]["mode"] == "4x" and page["stats"]["image_tokens"] == 2223


def test_second_parse_comes_from_the_cache_and_no_cache_runs_again(tiny_model_dir, page_png, capsys):
    args = ["parse", str(page_png), "--model-dir", str(tiny_model_dir), "--mode", "16x", "--max-tokens", "8"]
    assert main(args) == 0
    first = capsys.readouterr()
    assert main(args) == 0
    second = capsys.readouterr()
    assert "from the cache" in second.err and "from the cache" not in first.err
    assert first.out == second.out
    assert main([*args, "--no-cache"]) == 0
    assert "from the cache" not in capsys.readouterr().err


def test_parse_pdf_pages_to_a_markdown_file(tiny_model_dir, tmp_path, capsys):
    pdf = make_pdf(tmp_path / "three.pdf", 3)
    out = tmp_path / "out.md"
    rc = main(
        [
            "parse",
            str(pdf),
            "--pages",
            "2-3",
            "--mode",
            "16x",
            "--max-tokens",
            "6",
            "-o",
            str(out),
            "--model-dir",
            str(tiny_model_dir),
        ]
    )
    assert rc == 0
    text = out.read_text()
    assert "<!-- Page 2 -->" in text and "<!-- Page 3 -->" in text and "<!-- Page 1 -->" not in text


def test_a_page_range_past_the_end_parses_the_pages_that_exist_and_says_which_are_missing(
    tiny_model_dir, tmp_path, capsys
):
    pdf = make_pdf(tmp_path / "three.pdf", 3)
    out = tmp_path / "out.md"
    args = ["parse", str(pdf), "--pages", "2-5", "--mode", "16x", "--max-tokens", "4", "-q", "-o", str(out)]
    rc = main([*args, "--model-dir", str(tiny_model_dir)])
    err = capsys.readouterr().err
    assert rc == 0 and "page(s) 4-5 are past the end (the document has 3)" in err
    text = out.read_text()
    assert "<!-- Page 2 -->" in text and "<!-- Page 3 -->" in text and "<!-- Page 1 -->" not in text


def test_missing_model_exits_3_with_the_sentence_and_writes_nothing(tmp_path, page_png, capsys):
    out = tmp_path / "out.md"
    rc = main(["parse", str(page_png), "--model-dir", str(tmp_path / "empty"), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 3
    assert "huggingface.co/openbmb/MiniCPM-V-4.6-gguf" in err and "Traceback" not in err
    assert not out.exists()


def test_file_that_is_no_document_exits_2_and_writes_nothing(tiny_model_dir, tmp_path, capsys):
    bad = tmp_path / "notes.pdf"
    bad.write_bytes(b"%PDF-1.7\n this is not really a pdf \x00\x01")
    out = tmp_path / "out.md"
    rc = main(["parse", str(bad), "--model-dir", str(tiny_model_dir), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "notes.pdf" in err and "Traceback" not in err
    assert not out.exists()


def test_prompt_that_overflows_the_context_exits_4_and_writes_nothing(
    tiny_model_dir, page_png, tmp_path, capsys
):
    out = tmp_path / "out.json"
    rc = main(
        [
            "parse",
            str(page_png),
            "--model-dir",
            str(tiny_model_dir),
            "--mode",
            "4x",
            "--ctx",
            "1024",
            "-o",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 4 and "context" in err and "16x" in err
    assert not out.exists()


def test_ask_streams_an_answer(tiny_model_dir, page_png, capsys):
    rc = main(
        [
            "ask",
            str(page_png),
            "What is the total?",
            "--model-dir",
            str(tiny_model_dir),
            "--mode",
            "16x",
            "--max-tokens",
            "8",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["question"] == "What is the total?" and out["stats"]["image_tokens"] == 574


def test_models_and_doctor_report_the_folder(tiny_model_dir, capsys):
    assert main(["models", "--model-dir", str(tiny_model_dir), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["complete"] and found["text"] and "16x" in found["projectors"]
    assert main(["doctor", "--model-dir", str(tiny_model_dir)]) == 0
    out = capsys.readouterr().out
    assert "llama-cpp-python 0.3.36" in out and "yes: encoded a test image" in out and "ready" in out


def _wait_for(proc: subprocess.Popen, needle: str, timeout: float = 120) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        seen += line
        if needle in line:
            return seen
    raise AssertionError(f"never saw {needle!r}; stderr so far:\n{seen}")


def _long_parse_args(pdf: Path, out: Path, model_dir: Path) -> list[str]:
    return [
        "parse",
        str(pdf),
        "--mode",
        "16x",
        "--max-tokens",
        "3000",
        "-o",
        str(out),
        "--model-dir",
        str(model_dir),
    ]


def _start_parse(pdf: Path, out: Path, model_dir: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "paperlens", *_long_parse_args(pdf, out, model_dir)],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def test_ctrl_c_cancels_keeps_finished_pages_and_writes_nothing(tiny_model_dir, tmp_path):
    pdf = make_pdf(tmp_path / "doc.pdf", 3)
    out = tmp_path / "doc.md"
    env = {"PAPERLENS_LIBRARY": str(tmp_path / "lib.sqlite3")}
    proc = _start_parse(pdf, out, tiny_model_dir, env)
    _wait_for(proc, "page 1:")  # the first page finished
    _wait_for(proc, "Reading page 2")
    proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=120)[1]
    assert proc.returncode == 130, rest
    assert "cancelled" in rest and "no file was written" in rest
    assert not out.exists()
    rerun = cli(
        "parse", str(pdf), "--mode", "16x", "--max-tokens", "5", "--model-dir", str(tiny_model_dir), env=env
    )
    assert "page 1: from the cache" in rerun.stderr


def test_kill_9_mid_run_then_rerun_takes_finished_pages_from_the_cache(tiny_model_dir, tmp_path):
    pdf = make_pdf(tmp_path / "doc.pdf", 3)
    out = tmp_path / "doc.md"
    env = {"PAPERLENS_LIBRARY": str(tmp_path / "lib.sqlite3")}
    proc = _start_parse(pdf, out, tiny_model_dir, env)
    _wait_for(proc, "page 2:")  # two pages finished
    proc.kill()
    proc.wait(timeout=30)
    assert not out.exists()
    rerun = cli(*_long_parse_args(pdf, out, tiny_model_dir), env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert "page 1: from the cache" in rerun.stderr and "page 2: from the cache" in rerun.stderr
    assert "page 3: from the cache" not in rerun.stderr
    assert out.read_text().count("<!-- Page") >= 3


def test_a_blank_page_is_reported_even_when_quiet_and_the_others_come_through(
    tiny_model_dir, tmp_path, capsys
):
    import pymupdf

    pdf = pymupdf.open()
    pdf.new_page().insert_text((72, 100), "Page one has text on it", fontsize=14)
    pdf.new_page()  # nothing on it
    pdf.new_page().insert_text((72, 100), "Page three has text too", fontsize=14)
    path = tmp_path / "gap.pdf"
    pdf.save(path)
    out = tmp_path / "gap.md"
    rc = main(
        [
            "parse",
            str(path),
            "-q",
            "--mode",
            "16x",
            "--max-tokens",
            "4",
            "-o",
            str(out),
            "--model-dir",
            str(tiny_model_dir),
        ]
    )
    err = capsys.readouterr().err
    # a blank page is skipped, not failed: said even with -q, written as skipped, and the exit status is 0
    assert rc == 0 and "page 2: skipped (blank)" in err
    text = out.read_text()
    assert "<!-- Page 1 -->" in text and "<!-- Page 3 -->" in text and "Page 2 was skipped (blank)" in text


def test_a_document_whose_only_page_is_blank_is_skipped_and_exits_0(tiny_model_dir, tmp_path, capsys):
    # GIVEN a PDF of one empty page
    import pymupdf

    pdf = pymupdf.open()
    pdf.new_page()
    path = tmp_path / "empty.pdf"
    pdf.save(path)
    # WHEN it is parsed to JSON
    rc = main(["parse", str(path), "--format", "json", "--mode", "16x", "--model-dir", str(tiny_model_dir)])
    captured = capsys.readouterr()
    # THEN the page is reported as skipped, nothing failed, and the JSON says so
    assert rc == 0, captured.err
    assert "page 1: skipped (blank)" in captured.err
    data = json.loads(captured.out)
    (page,) = data["pages"]
    assert page["skipped"] == "blank" and "error" not in page
    assert data["stats"]["pages_failed"] == 0


def test_a_flattened_photo_is_said_and_no_flatten_keeps_it_whole(tiny_model_dir, tmp_path, capsys):
    # GIVEN a phone photo of a page
    from PIL import Image

    from tests.unit.scenes import photo

    frame, _ = photo(frame_wh=(1600, 1200), bg="wood", tilt_x=20, tilt_y=-12, roll=4)
    path = tmp_path / "phone.jpg"
    Image.fromarray(frame[:, :, ::-1]).save(path, quality=92)
    args = [
        "parse",
        str(path),
        "-q",
        "--mode",
        "16x",
        "--max-tokens",
        "4",
        "--model-dir",
        str(tiny_model_dir),
    ]
    # WHEN it is parsed THEN stderr says the page was cut out, where, and how to keep the original
    assert main([*args, "--no-cache"]) == 0
    err = capsys.readouterr().err
    assert "page 1: photo flattened (page found at (" in err and "of 1600x1200); --no-flatten keeps" in err
    # AND with --no-flatten nothing is said and the photo is read whole
    assert main([*args, "--no-cache", "--no-flatten"]) == 0
    assert "flattened" not in capsys.readouterr().err


def test_ask_about_a_whole_document_uses_the_text_layer_and_parses_the_pages_without_text(
    tiny_model_dir, tmp_path, capsys
):
    # GIVEN a PDF whose pages 1-3 have a text layer and page 4 is a picture only
    import pymupdf as fitz

    pdf = make_pdf(tmp_path / "doc.pdf", 3)
    doc = fitz.open(pdf)
    png = tmp_path / "p.png"
    a4_page().save(png)
    page = doc.new_page(width=595, height=842)
    page.insert_image(page.rect, filename=str(png))
    doc.saveIncr()
    doc.close()
    args = ["ask", str(pdf), "What is in row 3?", "--document", "--model-dir", str(tiny_model_dir)]
    args += ["--mode", "16x", "--max-tokens", "6", "--ctx", "4096"]
    # WHEN a whole-document question is asked
    rc = main([*args, "--json"])
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    # THEN page 4 was parsed first, and the answer says which pages it came from
    assert rc == 0 and "Parsing 1 page(s)" in captured.err
    assert (
        out["pages_used"] == [1, 2, 3, 4] and out["incomplete"] is False and out["stats"]["image_tokens"] == 0
    )
    # AND a second question needs no parse: page 4 is in the cache now
    rc = main(args)
    captured = capsys.readouterr()
    assert rc == 0 and "Parsing" not in captured.err and "answered from page(s) 1, 2, 3, 4" in captured.err


def _undecodable_file(folder: Path, name: bytes, data: bytes) -> str:
    """A real file whose name is not valid UTF-8 (as disks from other systems have), as Python spells it."""
    raw = os.fsencode(folder) + b"/" + name
    fd = os.open(raw, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return os.fsdecode(raw)


@pytest.mark.parametrize("fmt", ["json", "html", "md"])
def test_a_file_name_that_is_not_utf8_parses_and_exports(tiny_model_dir, tmp_path, fmt):
    # GIVEN a page image whose file name has a byte that is not UTF-8
    import io

    buf = io.BytesIO()
    a4_page().save(buf, "PNG")
    path = _undecodable_file(tmp_path, b"scan\xff.png", buf.getvalue())
    out = tmp_path / f"out.{fmt}"
    env = {"PAPERLENS_LIBRARY": str(tmp_path / "lib.sqlite3"), "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": ""}
    # WHEN it is parsed on the command line, to a file and to stdout
    args = ("--model-dir", str(tiny_model_dir), "--max-tokens", "4", "--format", fmt)
    to_file = cli("parse", path, *args, "-o", str(out), env=env)
    to_stdout = cli("parse", path, *args, "-q", env=env)
    # THEN both work, and what is written is valid UTF-8 with the odd byte shown as a replacement character
    assert to_file.returncode == 0 and "Traceback" not in to_file.stderr, to_file.stderr
    assert to_stdout.returncode == 0 and "Traceback" not in to_stdout.stderr, to_stdout.stderr
    text = out.read_bytes().decode("utf-8")
    if fmt != "md":
        assert "scan\ufffd" in text
    if fmt == "json":
        json.loads(to_stdout.stdout)
