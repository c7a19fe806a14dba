"""Where an answer came from, through the real pipeline with the engine that knows the page (`tests/engines.py`)."""

from __future__ import annotations

import threading

from paperlens.core.page import Page
from paperlens.core.pipeline import ask_page, locate_answer
from paperlens.core.prompts import LOCATE_MAX_TOKENS, TaskKind, build_prompt, locate_task
from tests.engines import TruthEngine, synthetic_page

LINES = ["Invoice 2026-11", "Paper 2 x 10.00", "Total due: 42.00 EUR", "Pay by 30 June"]


def truth_page():
    image, known = synthetic_page(LINES)
    page = Page(image=image, number=1, label="Page 1", source="synthetic")
    by_key = {page.image_hash: known}

    def answer_for(_key, question):
        return "The total due is Total due: 42.00 EUR." if "total" in question.lower() else "Pay by 30 June"

    engine = TruthEngine(
        lambda key: "\n".join(LINES), lines_for=lambda key: by_key.get(key or "", []), answer_for=answer_for
    )
    engine.load()
    return engine, page, known


def test_the_boxes_of_an_answer_are_the_true_lines_in_page_pixels():
    engine, page, known = truth_page()
    answer = ask_page(engine, page, "What is the total?")
    located = locate_answer(engine, page, "What is the total?", answer.text)
    assert engine.tasks == [TaskKind.ASK, TaskKind.LOCATE]
    (box,) = located.boxes
    assert box.label == "Total due: 42.00 EUR"
    truth = known[2].pixels
    got = box.in_pixels(*page.image.size)
    assert all(abs(a - b) <= 3 for a, b in zip(got, truth, strict=True)), (got, truth)


def test_an_answer_that_carries_its_own_boxes_is_not_asked_about_again():
    engine, page, _known = truth_page()
    located = locate_answer(engine, page, "Where?", "Here: <ref>x</ref><box>10 10 200 40</box>")
    assert engine.tasks == [] and len(located.boxes) == 1


def test_an_empty_answer_or_a_cancelled_run_gives_no_boxes():
    engine, page, _known = truth_page()
    assert locate_answer(engine, page, "Q?", "   ").boxes == []
    cancel = threading.Event()
    cancel.set()
    located = locate_answer(engine, page, "What is the total?", "Total due: 42.00 EUR", cancel=cancel)
    assert located.boxes == [] and located.result.cancelled


def test_the_locate_prompt_continues_the_page_chat_after_the_image():
    task = locate_task("What is the total?", "42.00", history=(("Who?", "ACME"),))
    parts = build_prompt(task)
    assert task.max_tokens == LOCATE_MAX_TOKENS and parts.image
    # the same text before the image as every page task (so the kept page state serves it), then the whole chat
    assert parts.before == build_prompt(locate_task("x", "y")).before
    assert parts.after.index("Who?") < parts.after.index("ACME") < parts.after.index("What is the total?")
    assert parts.after.rstrip().endswith("</think>")
