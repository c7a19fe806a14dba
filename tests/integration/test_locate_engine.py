"""The boxes question on the real llama.cpp (tiny twin): it reuses the kept page state, and the twin's gibberish
gives no box rather than a wrong one."""

from __future__ import annotations

import pytest

from paperlens.core.engine import EngineConfig, LlamaEngine
from paperlens.core.models import scan_model_dir
from paperlens.core.page import Page
from paperlens.core.pipeline import ask_page, locate_answer
from paperlens.core.prompts import LOCATE_MAX_TOKENS
from paperlens.core.results.boxes import parse_boxes
from tests.conftest import a4_page

pytestmark = pytest.mark.integration


def test_the_boxes_question_reuses_the_page_and_gibberish_gives_no_box(tiny_model_dir):
    cfg = EngineConfig(
        mode="16x", device="cpu", n_ctx=4096, max_tokens=24, temperature=0.8, suppress_eos=True
    )
    page = Page(image=a4_page("where from"), number=1, label="Page 1", source="test")
    with LlamaEngine(scan_model_dir(tiny_model_dir), cfg) as engine:
        answer = ask_page(engine, page, "What is the total?")
        located = locate_answer(engine, page, "What is the total?", answer.text)
    run = located.result
    assert not answer.stats.image_reused and answer.stats.encode_s > 0
    assert run.stats.image_reused and run.stats.encode_s == 0  # no second image encode
    assert run.stats.image_tokens == answer.stats.image_tokens
    assert 0 < run.stats.generated_tokens <= LOCATE_MAX_TOKENS
    # random weights write no grounding: nothing is shown rather than a box made up from noise
    assert "<box>" not in run.text.lower() and located.boxes == [] == parse_boxes(run.text)


def test_cli_ask_json_asks_for_boxes_on_the_kept_page(tiny_model_dir, tmp_path, capsys):
    import json

    from paperlens.cli import main

    path = tmp_path / "page.png"
    a4_page().save(path)
    args = ["ask", str(path), "What is the total?", "--model-dir", str(tiny_model_dir), "--mode", "16x"]
    assert main([*args, "--max-tokens", "8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["boxes_stats"]["image_reused"] and out["boxes_stats"]["encode_s"] == 0
    assert out["boxes"] == [] or all(0 <= b["x0"] < b["x1"] <= 1240 for b in out["boxes"])
    assert out["page_pixels"] == {"width": 1240, "height": 1754}
