"""The prompt shapes the model expects, and the repetition guard."""

from __future__ import annotations

import pytest

from paperlens.core.engine.guard import RepetitionGuard
from paperlens.core.prompts import (
    PAGE_PREFIX,
    PROMPT_VERSION,
    THINK_OFF,
    ask_document_task,
    ask_task,
    build_prompt,
    parse_task,
)


def test_parse_prompt_is_chatml_with_thinking_off():
    parts = build_prompt(parse_task())
    assert parts.before == "<|im_start|>user\n"
    assert parts.after.endswith("<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert "Markdown" in parts.after and "LaTeX" in parts.after


def test_every_page_task_shares_the_prefix_before_the_image():
    # The page state saved after the image is reused by any later task about that page.
    assert build_prompt(parse_task()).before == PAGE_PREFIX
    assert build_prompt(ask_task("What is the total?")).before == PAGE_PREFIX


def test_ask_with_history_keeps_turns_in_order():
    parts = build_prompt(ask_task("And the date?", history=(("Who signed?", "Ann"),)))
    text = parts.after
    assert text.index("Who signed?") < text.index("Ann") < text.index("And the date?")
    assert text.count(THINK_OFF) == 2
    assert text.endswith(THINK_OFF)


def test_document_question_has_no_image_and_carries_the_pages():
    parts = build_prompt(ask_document_task("Total?", "[Page 1]\nSum: 5\n"))
    assert not parts.image
    assert "[Page 1]" in parts.before and "Total?" in parts.before


def test_empty_question_is_refused():
    with pytest.raises(ValueError):
        build_prompt(ask_task("   "))


def test_cache_name_carries_the_prompt_version():
    assert parse_task().cache_name == f"parse-v{PROMPT_VERSION}"


def test_guard_stops_a_loop_and_keeps_one_copy():
    guard = RepetitionGuard(min_span=40, min_repeats=4)
    head = list(range(100, 130))
    unit = [1, 2, 3, 4, 5]
    tokens = head + unit * 10
    cut = guard.loop_start(tokens)
    assert cut is not None
    assert tokens[:cut] == head + unit


def test_guard_leaves_ordinary_text_alone():
    guard = RepetitionGuard()
    # a Markdown table separator and short repeated rows are far below the span of a real loop
    row = [7, 8, 9, 8]
    tokens = list(range(300)) + row * 6
    assert guard.loop_start(tokens) is None
    assert guard.loop_start(list(range(1000))) is None


def test_only_iso_shaped_pages_are_trimmed_and_only_by_a_margin():
    from PIL import Image

    from paperlens.core.engine.images import steady_slice_grid

    letter = Image.new("RGB", (1275, 1650))
    assert steady_slice_grid(letter) is letter
    square = Image.new("RGB", (3136, 3136))
    assert steady_slice_grid(square) is square
    a4 = steady_slice_grid(Image.new("RGB", (1241, 1754)))
    assert a4.height == 1754 and 1236 <= a4.width < 1241
    landscape = steady_slice_grid(Image.new("RGB", (1754, 1241)))
    assert landscape.width == 1754 and landscape.height < 1241
