"""A page: the unit everything in PaperLens works on."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from functools import cached_property

from PIL import Image


@dataclass(frozen=True)
class Flattened:
    """What was done to a photo whose page was found, cut out and straightened: enough to show the outline on the
    original and to undo it (open the same file with `flatten=False`, or `ImageDocument.original(index)`)."""

    corners: tuple[
        tuple[float, float], ...
    ]  # tl, tr, br, bl in the upright original's pixels (full resolution)
    confidence: float
    original_size: tuple[int, int]  # (width, height) those corners refer to

    def describe(self) -> str:
        """ "page found at (x, y), (x, y), (x, y), (x, y) of 4000x3000" for a notice."""
        pts = ", ".join(f"({round(x)}, {round(y)})" for x, y in self.corners)
        w, h = self.original_size
        return f"page found at {pts} of {w}x{h}"

    def to_dict(self) -> dict:
        return {
            "corners": [[round(x, 1), round(y, 1)] for x, y in self.corners],
            "confidence": round(self.confidence, 3),
            "original_size": list(self.original_size),
        }


@dataclass(eq=False)
class Page:
    """One page image ready for the model, plus what we know about where it came from.

    `image` is always RGB. `text` is the PDF's embedded text layer when there is one (an instant preview, and context
    for whole-document questions); None for images and scans without one.
    """

    image: Image.Image
    number: int = 1  # 1-based page number within its document
    source: str = ""  # file path or camera description
    text: str | None = None
    label: str = ""  # what to call it in the UI ("Page 3", "Capture 2")
    meta: dict = field(default_factory=dict)
    flattened: Flattened | None = None  # set when this image is a photo's page cut out and straightened

    def __post_init__(self) -> None:
        if self.image.mode != "RGB":
            self.image = self.image.convert("RGB")
        if not self.label:
            self.label = f"Page {self.number}"

    @cached_property
    def image_hash(self) -> str:
        """SHA-256 of the pixels and size: the identity of a page for caching results (not of the file)."""
        h = hashlib.sha256()
        h.update(f"{self.image.width}x{self.image.height}:".encode())
        h.update(self.image.tobytes())
        return h.hexdigest()

    def png_bytes(self) -> bytes:
        buf = io.BytesIO()
        self.image.save(buf, format="PNG")
        return buf.getvalue()
