"""`paperlens ask --json` gives where on the page the answer came from, in the page image's pixels (known lines of
a synthetic page, answered by the engine that knows them)."""

from __future__ import annotations

import json

import pytest

from paperlens.cli import main
from paperlens.commands import ask as ask_command
from tests.engines import TruthEngine, synthetic_page

LINES = ["Invoice 2026-11", "Total due: 42.00 EUR", "Pay by 30 June"]


@pytest.fixture
def page(tmp_path, monkeypatch):
    image, known = synthetic_page(LINES)
    path = tmp_path / "invoice.png"
    image.save(path)
    made: list[TruthEngine] = []

    def build(_args):
        engine = TruthEngine(
            lambda key: "\n".join(LINES),
            lines_for=lambda key: known,
            answer_for=lambda key, q: "The total is Total due: 42.00 EUR",
        )
        made.append(engine)
        return engine

    monkeypatch.setattr(ask_command, "build_engine", build)
    return path, known, made


def test_ask_json_gives_the_boxes_in_page_pixels(page, capsys):
    path, known, made = page
    assert main(["ask", str(path), "What is the total?", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["text"] == "The total is Total due: 42.00 EUR"
    assert out["page_pixels"] == {"width": 1240, "height": 1754}
    (box,) = out["boxes"]
    assert box["label"] == "Total due: 42.00 EUR" and box["page"] == 1
    got = (box["x0"], box["y0"], box["x1"], box["y1"])
    assert all(abs(a - b) <= 3 for a, b in zip(got, known[1].pixels, strict=True)), (got, known[1].pixels)
    assert made[-1].tasks == ["ask", "locate"]


def test_no_boxes_skips_the_question(page, capsys):
    path, _known, made = page
    assert main(["ask", str(path), "What is the total?", "--json", "--no-boxes"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "boxes" not in out and made[-1].tasks == ["ask"]


def test_plain_output_keeps_the_answer_and_says_where_on_stderr(page, capsys):
    path, _known, _made = page
    assert main(["ask", str(path), "What is the total?"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "The total is Total due: 42.00 EUR\n"
    assert "found on page 1 at" in captured.err


def test_a_server_is_not_asked_for_boxes_unless_told(page):
    path, _known, _made = page
    parser_args = type("A", (), {"boxes": None, "engine": ["http://127.0.0.1:9/v1"]})()
    assert not ask_command._wants_boxes(parser_args)
    parser_args.boxes = True
    assert ask_command._wants_boxes(parser_args)
    parser_args.boxes, parser_args.engine = None, None
    assert ask_command._wants_boxes(parser_args)
