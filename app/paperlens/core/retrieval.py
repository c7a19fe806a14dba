"""Whole-document questions over any length: choose the pages that matter, measured in the model's own tokens.

A 40-page document's text does not fit an 8k context, and a 300-page one never will. So the question's words are
looked up with SQLite's built-in full-text index (FTS5, BM25 ranking) over the pages' text, built in memory for the
question (milliseconds for hundreds of pages, nothing kept on disk), and the best pages are put in the prompt, in page
order, until the token budget is spent. When every page fits, every page goes in and nothing is ranked. The answer
says which pages it was given, and whether pages were left out.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

_WORD = re.compile(r"\w{2,}", re.UNICODE)


@dataclass
class DocumentContext:
    text: str  # `[Page N]`-marked page texts, in page order
    pages_used: list[int] = field(default_factory=list)
    pages_with_text: int = 0
    tokens: int = 0

    @property
    def incomplete(self) -> bool:
        """Some pages with text were left out (or cut): the answer may miss what they say."""
        return len(self.pages_used) < self.pages_with_text


def _block(number: int, text: str) -> str:
    return f"[Page {number}]\n{text}\n"


def rank_pages(pages: Sequence[tuple[int, str]], question: str) -> list[int]:
    """Page numbers by relevance to the question (BM25 over the pages' words); pages without a match follow in
    page order, so nothing is ever dropped from the ranking itself."""
    words = sorted({w.lower() for w in _WORD.findall(question)})
    numbers = [n for n, _ in pages]
    if not words:
        return numbers
    query = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("CREATE VIRTUAL TABLE p USING fts5(text, number UNINDEXED, tokenize='unicode61')")
        conn.executemany("INSERT INTO p (text, number) VALUES (?, ?)", [(t, n) for n, t in pages])
        ranked = [
            int(r[0]) for r in conn.execute("SELECT number FROM p WHERE p MATCH ? ORDER BY rank", (query,))
        ]
    except sqlite3.OperationalError:  # an FTS5-less SQLite build: fall back to page order
        ranked = []
    finally:
        conn.close()
    seen = set(ranked)
    return ranked + [n for n in numbers if n not in seen]


def select_context(
    pages: Sequence[tuple[int, str]],
    question: str,
    count_tokens: Callable[[str], int],
    budget_tokens: int,
) -> DocumentContext:
    """The pages to answer from, within `budget_tokens` as the engine counts them."""
    texts = {n: t.strip() for n, t in pages if t and t.strip()}
    ctx = DocumentContext(text="", pages_with_text=len(texts))
    if not texts:
        return ctx
    cost = {n: count_tokens(_block(n, t)) for n, t in texts.items()}
    if sum(cost.values()) <= budget_tokens:
        chosen = sorted(texts)
    else:
        chosen, left = [], budget_tokens
        for n in rank_pages(list(texts.items()), question):
            if cost[n] <= left:
                chosen.append(n)
                left -= cost[n]
        if not chosen:  # the best page alone is too long: give as much of it as fits
            best = rank_pages(list(texts.items()), question)[0]
            keep = max(1, int(len(texts[best]) * budget_tokens / max(cost[best], 1)))
            texts[best], cost[best] = texts[best][:keep], budget_tokens
            chosen = [best]
            ctx.pages_with_text += 1  # a cut page counts as partly left out
        chosen.sort()
    ctx.text = "\n".join(_block(n, texts[n]) for n in chosen)
    ctx.pages_used = chosen
    ctx.tokens = sum(cost[n] for n in chosen)
    return ctx
