"""The repetition guard: greedy decoding of a random or confused model can loop forever; this spots the loop."""

from __future__ import annotations


class RepetitionGuard:
    """Spots a generation stuck in a loop: the same run of tokens repeated back to back.

    A loop is a period p (1..max_period tokens) repeated at least `min_repeats` times that covers at least
    `min_span` tokens at the end of the output. Ordinary repetition in documents (a table's separator row, a list of
    similar items) is far shorter than `min_span` tokens of exact back-to-back copies.
    """

    def __init__(self, min_span: int = 160, min_repeats: int = 4, max_period: int = 120) -> None:
        self.min_span = min_span
        self.min_repeats = min_repeats
        self.max_period = max_period

    def loop_start(self, tokens: list[int]) -> int | None:
        """Index where the repetition starts (after one kept copy), or None when there is no loop."""
        n = len(tokens)
        if n < self.min_span:
            return None
        for p in range(1, min(self.max_period, n // self.min_repeats) + 1):
            unit = tokens[n - p :]
            repeats = 1
            i = n - 2 * p
            while i >= 0 and tokens[i : i + p] == unit:
                repeats += 1
                i -= p
            if repeats >= self.min_repeats and repeats * p >= self.min_span:
                first = i + p  # start of the first copy
                return first + p  # keep one copy
        return None
