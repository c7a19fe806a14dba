"""What one model run produced: text, how it ended, and what it cost."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from PIL import Image


class Finish(str, Enum):
    STOP = "stop"  # the model ended its answer
    LENGTH = "length"  # hit max_tokens
    CANCELLED = "cancelled"  # the user cancelled; text is what was produced until then
    REPETITION = "repetition"  # the repetition guard stopped a loop

    @property
    def complete(self) -> bool:
        """The model's final output for these settings (a guarded loop included: greedy decoding would loop again).

        Complete results are cached and served again; a cancelled one is kept to show, never served as final.
        """
        return self in COMPLETE_FINISHES

    @property
    def note(self) -> str:
        """The short label the window shows beside a page or an answer ("" when the model simply finished)."""
        return _NOTES.get(self, "")

    @property
    def reason(self) -> str:
        """Why the text may be incomplete, for a sentence "... stopped early because {reason}" ("" for STOP)."""
        return _REASONS.get(self, "")


COMPLETE_FINISHES = frozenset({Finish.STOP, Finish.LENGTH, Finish.REPETITION})
_NOTES = {
    Finish.CANCELLED: "stopped: partial text",
    Finish.LENGTH: "cut at the length limit",
    Finish.REPETITION: "a repeating loop was cut",
}
_REASONS = {
    Finish.CANCELLED: "it was cancelled",
    Finish.LENGTH: "the model reached its token limit",
    Finish.REPETITION: "the model started repeating itself",
}


@dataclass
class RunStats:
    """The figures every run reports (the CLI's JSON `stats` uses exactly these keys, plus the extras below)."""

    mode: str = ""  # "4x" or "16x" ("" for a text-only run)
    image_tokens: int = 0
    prompt_tokens: int = 0  # everything the model read: text + image tokens
    generated_tokens: int = 0
    ttft_s: float = 0.0  # time to first token, from the call to the first streamed token
    decode_tokens_per_s: float = 0.0
    wall_s: float = 0.0
    peak_rss_mb: float = 0.0
    # extras
    encode_s: float = 0.0  # image encoding + prefill of the image tokens (0 when the page state was reused)
    image_reused: bool = False  # the page's encoded state was restored instead of encoding the image again
    slices: int = 0  # image chunks llama.cpp made (overview + slices)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunStats:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass
class RunResult:
    text: str
    finish: Finish = Finish.STOP
    stats: RunStats = field(default_factory=RunStats)

    @property
    def cancelled(self) -> bool:
        return self.finish == Finish.CANCELLED

    @property
    def complete(self) -> bool:
        """See `Finish.complete`."""
        return self.finish.complete

    def to_dict(self) -> dict:
        return {"text": self.text, "finish": self.finish.value, "stats": self.stats.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> RunResult:
        return cls(
            text=data["text"], finish=Finish(data["finish"]), stats=RunStats.from_dict(data.get("stats", {}))
        )


@dataclass
class PageResult:
    """A page's outcome in a document run: the text (Markdown for parse), how it ended and its stats."""

    page: int  # 1-based page number
    markdown: str = ""
    finish: Finish = Finish.STOP
    stats: RunStats = field(default_factory=RunStats)
    cached: bool = False  # served from the library without running the model
    error: str | None = None  # the user-facing sentence when this page failed
    edited: bool = False  # `markdown` is the user's hand edit (the model's own text stays in the library)
    skipped: str | None = None  # why the page was not read ("blank"): nothing to read, not a failure

    @classmethod
    def skip(cls, page: int, reason: str) -> PageResult:
        """A page that was not read, and why. Exports say so where the page's text would be."""
        return cls(page=page, skipped=reason)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        """The CLI's JSON shape for a page."""
        d = {
            "page": self.page,
            "markdown": self.markdown,
            "finish": self.finish.value,
            "stats": self.stats.to_dict(),
        }
        d["cached"] = self.cached
        if self.edited:
            d["edited"] = True
        if self.error:
            d["error"] = self.error
        if self.skipped:
            d["skipped"] = self.skipped
        return d


@dataclass
class DocumentResult:
    """All page results of one document, in page order.

    `page_count` is the whole document's number of pages when this result is meant to stand for all of it (the
    window's export): pages up to it that have no result are missing, and every export says so. None when the pages
    were chosen on purpose (the CLI's `--pages 1-3`) or the total is unknown: then nothing is reported missing.
    """

    source: str
    pages: list[PageResult] = field(default_factory=list)
    title: str = ""
    page_count: int | None = None

    def missing_pages(self) -> list[int]:
        """The document's pages that have no result here (never parsed, or failed and left out), in order."""
        if self.page_count is None:
            return []
        have = {p.page for p in self.pages}
        return [n for n in range(1, self.page_count + 1) if n not in have]

    # page number -> the image the model read, for exports that draw the page (searchable PDF) when `source` is not
    # a file they can open again (a camera capture); never saved
    page_images: Mapping[int, Image.Image] | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        return {"source": self.source, "title": self.title, "pages": [p.to_dict() for p in self.pages]}


def page_ranges(numbers: list[int]) -> str:
    """Page numbers as ranges for a sentence: [3, 5, 6, 7, 9] -> "3, 5-7, 9"."""
    spans: list[list[int]] = []
    for n in sorted(set(numbers)):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def missing_pages_note(doc: DocumentResult) -> str | None:
    """ "Pages 24-40 were not parsed yet." for an export of a partly parsed document, or None when none is missing."""
    missing = doc.missing_pages()
    if not missing:
        return None
    if len(missing) == 1:
        return f"Page {missing[0]} was not parsed yet."
    return f"Pages {page_ranges(missing)} were not parsed yet."
