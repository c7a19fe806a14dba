"""Where on the page an answer came from: MiniCPM-V's grounding output, read defensively.

MiniCPM-V answers a grounding question with `<ref>label</ref><box>x1 y1 x2 y2</box>`: the corners of a rectangle in
0-1000 page coordinates (0,0 top left, 1000,1000 bottom right), whatever the page's pixel size. Forms seen in the
model's documentation and its training data, all accepted here:

    <ref>Total</ref><box>120 830 480 860</box>        one box for a label
    <ref>Total</ref><box>...</box><box>...</box>     several boxes for one label
    <box>120 830 480 860</box>                       a box without a label
    <box>(120,830),(480,860)</box>                   corner pairs;  <box>[120, 830, 480, 860]</box> a list

The model is a small one and the page is anyone's, so its output is checked rather than trusted, and the rule is:
show nothing rather than a wrong box. Corners given in the wrong order are swapped; a value slightly past the page's
edge (up to 1010) is clamped to it; anything further out, a box of no area, a box covering most of the page (it says
nothing about where), a number that is not one, an unclosed tag or a count of numbers that is not four are dropped.
At most `MAX_BOXES` boxes are kept, in the order the model wrote them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

SCALE = 1000.0  # the model's coordinates run 0..SCALE on each axis
SLACK = 10.0  # how far past the edge a value may be and still be clamped (beyond: the box is dropped)
MAX_BOXES = 8
MAX_AREA = 0.9  # a box covering more than this share of the page points at nothing in particular
MIN_SIDE = 1.0  # a side shorter than this (in 0-1000 units) is no region at all
MAX_LABEL = 200  # characters of a label kept

_BOX = re.compile(r"<box>(.*?)</box>", re.IGNORECASE | re.DOTALL)
_REF = re.compile(r"<ref>(.*?)</ref>", re.IGNORECASE | re.DOTALL)
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)")
# what may lie between the numbers of a box: spaces, commas, brackets; anything else makes the box junk
_SEPARATORS = re.compile(r"[\s,;()\[\]{}]+")
_MARKUP = re.compile(r"</?(?:ref|box|quad|point)>", re.IGNORECASE)


@dataclass(frozen=True)
class Box:
    """A region of a page in the model's 0-1000 coordinates, x0 < x1 and y0 < y1, all within 0..1000."""

    x0: float
    y0: float
    x1: float
    y1: float
    label: str = ""

    def in_pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) in the pixels of a page image `width` x `height`; never outside the image."""
        x0 = math.floor(self.x0 / SCALE * width)
        y0 = math.floor(self.y0 / SCALE * height)
        x1 = math.ceil(self.x1 / SCALE * width)
        y1 = math.ceil(self.y1 / SCALE * height)
        return (max(0, x0), max(0, y0), min(width, x1), min(height, y1))

    def to_dict(self) -> dict:
        return {"label": self.label, "x0": self.x0, "y0": self.y0, "x1": self.x1, "y1": self.y1}

    @classmethod
    def from_dict(cls, data: dict) -> Box | None:
        """A box kept earlier (the library's JSON), checked again like the model's output; None when it is not one."""
        try:
            values = [float(data[k]) for k in ("x0", "y0", "x1", "y1")]
        except (KeyError, TypeError, ValueError):
            return None
        return _checked(values, str(data.get("label", "") or ""))


def parse_boxes(text: str, max_boxes: int = MAX_BOXES) -> list[Box]:
    """Every sound box in the model's output, labelled by the `<ref>` before it. Never raises."""
    if not isinstance(text, str) or "<box>" not in text.lower():
        return []
    boxes: list[Box] = []
    label = ""
    pos = 0
    for match in _BOX.finditer(text):
        # the label is the last <ref> between the previous box and this one (several boxes may share one ref)
        refs = _REF.findall(text, pos, match.start())
        if refs:
            label = _clean_label(refs[-1])
        elif _MARKUP.sub("", text[pos : match.start()]).strip():
            label = ""  # other words came in between: this box is not the earlier label's
        pos = match.end()
        for values in _box_values(match.group(1)):
            box = _checked(values, label)
            if box is not None and box not in boxes:
                boxes.append(box)
                if len(boxes) >= max_boxes:
                    return boxes
    return boxes


def strip_grounding(text: str) -> str:
    """The text with grounding markup taken out, for showing: `<ref>Total</ref><box>1 2 3 4</box>` reads "Total".

    Only closed `<box>…</box>` pairs that hold nothing but numbers and separators are removed (with the tags around
    labels); anything else the model wrote stays as it is.
    """
    if not isinstance(text, str) or "<" not in text:
        return text
    out = _BOX.sub(lambda m: "" if _numeric(m.group(1)) else m.group(0), text)
    return re.sub(r"</?ref>", "", out, flags=re.IGNORECASE)


def _numbers(inner: str) -> list[float] | None:
    """The numbers of a box's content, or None when it holds anything but numbers between separators."""
    tokens = [t for t in _SEPARATORS.split(inner) if t]
    if not tokens or not all(_NUMBER.fullmatch(t) for t in tokens):
        return None
    return [float(t) for t in tokens]


def _numeric(inner: str) -> bool:
    return _numbers(inner) is not None


def _box_values(inner: str) -> list[list[float]]:
    """The boxes in one tag's content: groups of four numbers, or none when anything else is in there."""
    numbers = _numbers(inner)
    if not numbers or len(numbers) % 4:
        return []
    return [numbers[i : i + 4] for i in range(0, len(numbers), 4)]


def _clamp(v: float) -> float | None:
    if not math.isfinite(v) or v < -SLACK or v > SCALE + SLACK:
        return None
    return min(SCALE, max(0.0, v))


def _checked(values: list[float], label: str) -> Box | None:
    clamped = [_clamp(v) for v in values]
    if any(v is None for v in clamped):
        return None
    a, b, c, d = (v for v in clamped if v is not None)
    x0, x1 = min(a, c), max(a, c)
    y0, y1 = min(b, d), max(b, d)
    if x1 - x0 < MIN_SIDE or y1 - y0 < MIN_SIDE:
        return None
    if (x1 - x0) * (y1 - y0) > MAX_AREA * SCALE * SCALE:
        return None
    return Box(x0, y0, x1, y1, label)


def _clean_label(raw: str) -> str:
    return " ".join(_MARKUP.sub("", raw).split())[:MAX_LABEL]


def boxes_to_json(boxes: list[Box]) -> list[dict]:
    return [b.to_dict() for b in boxes]


def boxes_from_json(data: object) -> list[Box]:
    """Boxes read back from JSON; whatever is not a sound box is left out."""
    if not isinstance(data, list):
        return []
    out = []
    for item in data[:MAX_BOXES]:
        box = Box.from_dict(item) if isinstance(item, dict) else None
        if box is not None:
            out.append(box)
    return out
