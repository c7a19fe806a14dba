"""Auto mode on the real llama.cpp with the tiny twin: a sparse page read with the 16x projector, a dense one with the
4x projector, each stored under its mode and found again by an engine fixed to that mode; the CLI's --mode auto."""

from __future__ import annotations

import json

import pytest

from paperlens.cli import main
from paperlens.core.engine import EngineConfig, LlamaEngine
from paperlens.core.library import Library
from paperlens.core.models import scan_model_dir
from paperlens.core.page import Page
from paperlens.core.pipeline import PageSource, ask_page, parse_pages, result_key
from paperlens.core.prompts import parse_task
from tests import density_pages as pages

pytestmark = pytest.mark.integration


def engine_for(folder, mode: str) -> LlamaEngine:
    cfg = EngineConfig(mode=mode, device="cpu", n_ctx=4096, max_tokens=4, suppress_eos=True)
    return LlamaEngine(scan_model_dir(folder), cfg)


def test_auto_mode_reads_a_sparse_page_in_16x_and_a_dense_one_in_4x_and_stores_each_under_its_mode(
    tiny_model_dir, tmp_path
):
    library = Library(tmp_path / "library.sqlite")
    letter = Page(pages.letter_page(), number=1)
    dense = Page(pages.dense_text_page(), number=2)
    engine = engine_for(tiny_model_dir, "auto")
    engine.preflight()
    assert engine.mode == "auto" and engine.modes == ("4x", "16x")
    try:
        doc = parse_pages(
            [PageSource(1, letter), PageSource(2, dense)], 2, engine, library=library, source_name="mixed.pdf"
        )
        first, second = doc.pages
        assert first.ok and second.ok
        assert (first.stats.mode, second.stats.mode) == ("16x", "4x")
        # the projectors really differ: the same A4 size gives 4 times the image tokens in 4x
        assert second.stats.image_tokens == pytest.approx(4 * first.stats.image_tokens, rel=0.05)
        assert engine.info.projector == engine.models.projectors["4x"].path.name  # the last page's projector

        # a question about the letter reuses its 16x state (no second encode, no projector switch)
        answer = ask_page(engine, letter, "Who wrote it?")
        assert answer.stats.mode == "16x" and answer.stats.image_reused
    finally:
        engine.close()

    task = parse_task()
    fixed = {m: engine_for(tiny_model_dir, m) for m in ("4x", "16x")}
    stored_letter = library.get(result_key(letter, fixed["16x"], task))
    stored_dense = library.get(result_key(dense, fixed["4x"], task))
    assert stored_letter is not None and stored_letter.stats.mode == "16x"
    assert stored_dense is not None and stored_dense.stats.mode == "4x"
    assert library.get(result_key(letter, fixed["4x"], task)) is None

    # reopened in 16x: the letter comes from the cache without loading the model
    again = parse_pages([PageSource(1, letter)], 1, fixed["16x"], library=library)
    assert again.pages[0].cached and not fixed["16x"].loaded


def test_cli_parse_mode_auto_says_the_mode_of_each_page(tiny_model_dir, tmp_path, capsys):
    import pymupdf

    pdf = pymupdf.open()
    dense = pdf.new_page(width=595, height=842)
    for i in range(60):
        dense.insert_text(
            (50, 50 + 12.5 * i), f"{i:02d} " + "quarterly revenue and costs per region " * 3, fontsize=9
        )
    title = pdf.new_page(width=595, height=842)
    title.insert_text((80, 300), "Annual Report", fontsize=36)
    path = tmp_path / "mixed.pdf"
    pdf.save(path)
    rc = main(
        ["parse", str(path), "--model-dir", str(tiny_model_dir), "--mode", "auto", "--format", "json"]
        + ["--max-tokens", "4", "--no-cache"]
    )
    captured = capsys.readouterr()
    assert rc == 0
    out = json.loads(captured.out)
    assert [p["stats"]["mode"] for p in out["pages"]] == ["4x", "16x"]
    assert out["stats"]["modes"] == {"4x": 1, "16x": 1}
    assert "page 1: " in captured.err and "(4x, " in captured.err and "(16x, " in captured.err
