"""What one model run produced: text, how it ended, and what it cost."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum


class Finish(str, Enum):
    STOP = "stop"  # the model ended its answer
    LENGTH = "length"  # hit max_tokens
    CANCELLED = "cancelled"  # the user cancelled; text is what was produced until then
    REPETITION = "repetition"  # the repetition guard stopped a loop


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
        """The model's final output for these settings (a guarded loop included: greedy decoding would loop again)."""
        return self.finish in (Finish.STOP, Finish.LENGTH, Finish.REPETITION)

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
    skipped: str | None = (
        None  # why the page was not read ("blank"): a page with nothing to read, not a failure
    )

    @classmethod
    def skip(cls, page: int, reason: str) -> PageResult:
        """A page that was not read, and why. Its Markdown is a comment saying so, so every export that writes the
        page's text (Markdown, HTML, text, DOCX) shows the page as skipped rather than silently empty."""
        note = f"Page {page} was skipped ({reason})."
        return cls(page=page, markdown=f"<!-- {note} -->", skipped=reason)

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
        if self.error:
            d["error"] = self.error
        if self.skipped:
            d["skipped"] = self.skipped
        return d


@dataclass
class DocumentResult:
    """All page results of one document, in page order."""

    source: str
    pages: list[PageResult] = field(default_factory=list)
    title: str = ""

    def to_dict(self) -> dict:
        return {"source": self.source, "title": self.title, "pages": [p.to_dict() for p in self.pages]}
