"""The grounding parser (`core/results/boxes.py`): what MiniCPM-V writes for "where on the page", read defensively.

The rule under test: a sound box comes out in 0-1000 page coordinates inside the page; output that makes no sense
gives no box at all, never a wrong one, and never an exception.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperlens.core.results.boxes import (
    MAX_BOXES,
    Box,
    boxes_from_json,
    boxes_to_json,
    parse_boxes,
    strip_grounding,
)

FAST = settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


def corners(boxes: list[Box]) -> list[tuple[float, float, float, float]]:
    return [(b.x0, b.y0, b.x1, b.y1) for b in boxes]


# -- the forms the model writes -----------------------------------------------------------------------------------------
def test_a_labelled_box():
    (box,) = parse_boxes("<ref>Total due</ref><box>120 830 480 860</box>")
    assert (box.label, box.x0, box.y0, box.x1, box.y1) == ("Total due", 120, 830, 480, 860)


def test_a_box_without_a_label():
    assert corners(parse_boxes("It is here: <box>10 20 300 40</box>.")) == [(10, 20, 300, 40)]
    assert parse_boxes("<box>10 20 300 40</box>")[0].label == ""


def test_corner_pairs_and_lists():
    assert corners(parse_boxes("<box>(120,830),(480,860)</box>")) == [(120, 830, 480, 860)]
    assert corners(parse_boxes("<box>[120, 830, 480, 860]</box>")) == [(120, 830, 480, 860)]


def test_several_boxes_for_one_label_and_several_labels():
    text = (
        "<ref>Total</ref><box>100 800 400 820</box><box>100 830 400 850</box>\n"
        "<ref>Date</ref><box>600 50 900 80</box>"
    )
    boxes = parse_boxes(text)
    assert [b.label for b in boxes] == ["Total", "Total", "Date"]
    assert corners(boxes)[2] == (600, 50, 900, 80)


def test_eight_numbers_in_one_tag_are_two_boxes():
    assert corners(parse_boxes("<box>1 2 100 50 200 300 400 350</box>")) == [
        (1, 2, 100, 50),
        (200, 300, 400, 350),
    ]


def test_words_between_a_ref_and_a_later_box_drop_the_label():
    boxes = parse_boxes("<ref>Total</ref><box>100 800 400 820</box> and also <box>10 10 50 50</box>")
    assert [b.label for b in boxes] == ["Total", ""]


# -- what is repaired ---------------------------------------------------------------------------------------------------
def test_reversed_corners_are_swapped():
    assert corners(parse_boxes("<box>480 860 120 830</box>")) == [(120, 830, 480, 860)]
    assert corners(parse_boxes("<box>480 830 120 860</box>")) == [(120, 830, 480, 860)]


def test_values_slightly_out_of_range_are_clamped():
    assert corners(parse_boxes("<box>-5 990 300 1008</box>")) == [(0, 990, 300, 1000)]


# -- what is dropped ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "<box>100 200 300 1400</box>",  # far out of range
        "<box>-200 10 300 40</box>",
        "<box>100 200 100 400</box>",  # no width
        "<box>100 200 300 200</box>",  # no height
        "<box>0 0 1000 1000</box>",  # the whole page says nothing about where
        "<box>10 10 990 980</box>",
        "<box>nan 10 300 40</box>",  # not numbers
        "<box>1e999 10 300 40</box>",
        "<box>inf 10 300 40</box>",
        "<box>ten 20 300 40</box>",
        "<box>10 20 300</box>",  # three numbers
        "<box>10 20 300 40 50</box>",  # five
        "<box></box>",
        "<box>10 20 300 40",  # unclosed
        "<box>10 20 <box>30 40 300 400</box>",  # nested junk
        "<box>1.2.3 4 5 6</box>",
        "10 20 300 40",  # no tags at all
        "<ref>Total</ref>",
        "",
    ],
)
def test_output_that_makes_no_sense_gives_no_box(text):
    assert parse_boxes(text) == []


def test_the_sound_boxes_of_a_mixed_answer_survive_the_junk():
    text = "<ref>a</ref><box>0 0 1000 1000</box><ref>b</ref><box>10 10 200 40</box><box>x y z w</box>"
    assert [(b.label, b.x0) for b in parse_boxes(text)] == [("b", 10)]


def test_at_most_max_boxes_and_no_duplicates():
    one = "<box>10 10 200 40</box>"
    assert len(parse_boxes(one * 3)) == 1
    many = "".join(f"<box>10 {10 + 20 * i} 200 {25 + 20 * i}</box>" for i in range(30))
    assert len(parse_boxes(many)) == MAX_BOXES


def test_not_text_gives_nothing():
    assert parse_boxes(None) == []  # type: ignore[arg-type]


# -- pixels, JSON and the shown answer ------------------------------------------------------------------------------------
def test_page_pixels_scale_with_the_image():
    box = Box(100, 250, 500, 300)
    assert box.in_pixels(1240, 1754) == (124, 438, 620, 527)
    assert Box(0, 0, 1000, 900).in_pixels(10, 10) == (0, 0, 10, 9)


def test_json_round_trip_checks_again():
    boxes = parse_boxes("<ref>Total</ref><box>100 800 400 820</box>")
    assert boxes_from_json(boxes_to_json(boxes)) == boxes
    assert boxes_from_json([{"x0": 0, "y0": 0, "x1": 1000, "y1": 1000}, "junk", {"x0": "a"}]) == []
    assert boxes_from_json("not a list") == []


def test_strip_grounding_keeps_the_words_and_drops_the_coordinates():
    assert strip_grounding("The <ref>total</ref><box>1 2 300 400</box> is 42.") == "The total is 42."
    # markup that is not grounding is left to the sanitiser, untouched here
    assert (
        strip_grounding("<box>not numbers</box> and <b>bold</b>") == "<box>not numbers</box> and <b>bold</b>"
    )


# -- properties -----------------------------------------------------------------------------------------------------------
numbers = st.one_of(
    st.integers(-2000, 3000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "1e999", "-0", "007", ".5", "1.", "--3", "x"]),
)
separators = st.sampled_from([" ", ",", ", ", "(", ")", "),(", "[", "]", "\n", " ; "])
box_inner = st.lists(st.tuples(numbers, separators), max_size=10).map(lambda p: "".join(a + b for a, b in p))
pieces = st.one_of(
    box_inner.map(lambda s: f"<box>{s}</box>"),
    box_inner.map(lambda s: f"<box>{s}"),
    st.text(max_size=12).map(lambda s: f"<ref>{s}</ref>"),
    st.sampled_from(["<box>", "</box>", "<ref>", "</ref>", "<BOX>", "</Box>", " ", "\n", "total"]),
    st.text(max_size=8),
)
outputs = st.lists(pieces, max_size=20).map("".join)


@FAST
@given(outputs)
def test_any_output_gives_boxes_inside_the_page_or_none(text):
    boxes = parse_boxes(text)
    assert len(boxes) <= MAX_BOXES
    for b in boxes:
        assert 0 <= b.x0 < b.x1 <= 1000 and 0 <= b.y0 < b.y1 <= 1000
        assert (b.x1 - b.x0) * (b.y1 - b.y0) <= 0.9 * 1000 * 1000
        assert "<" not in b.label or "ref>" not in b.label.lower()


@FAST
@given(outputs, st.integers(1, 5000), st.integers(1, 5000))
def test_pixels_are_always_inside_the_image(text, width, height):
    for b in parse_boxes(text):
        x0, y0, x1, y1 = b.in_pixels(width, height)
        assert 0 <= x0 <= x1 <= width and 0 <= y0 <= y1 <= height


@FAST
@given(outputs)
def test_strip_grounding_never_raises_and_leaves_no_numeric_box(text):
    shown = strip_grounding(text)
    assert parse_boxes(shown) == [] or "<box>" in shown.lower()
    assert "<ref>" not in shown.lower()
