"""A page: the unit everything in PaperLens works on."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from functools import cached_property

from PIL import Image


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
