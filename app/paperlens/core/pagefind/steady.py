"""Live capture: says when the page outline in the camera frames has held still long enough to capture."""

from __future__ import annotations

import time

import numpy as np

from paperlens.core.pagefind.geometry import Quad


class SteadyTracker:
    """Says when the page outline has held still for `hold_s` seconds: the moment to capture without a button.

    Feed it the quad of every frame (None when no page was found) with the frame's time. Still means every corner
    stayed within `tolerance` of where it was when the stillness began, as a share of the page's diagonal, so the
    same setting works for a page far away or close up. `smoothed` is a steadier outline for drawing an overlay.
    """

    def __init__(self, hold_s: float = 1.0, *, tolerance: float = 0.02, min_confidence: float = 0.5) -> None:
        self.hold_s = hold_s
        self.tolerance = tolerance
        self.min_confidence = min_confidence
        self.reset()

    def reset(self) -> None:
        self._anchor: np.ndarray | None = None
        self._since: float | None = None
        self._last_t: float | None = None
        self.smoothed: Quad | None = None
        self.steady = False

    def update(self, quad: Quad | None, t: float | None = None) -> bool:
        """Record one frame; True while the page has been still for at least `hold_s`."""
        now = time.monotonic() if t is None else float(t)
        self._last_t = now
        if quad is None or quad.confidence < self.min_confidence:
            self.reset()
            self._last_t = now
            return False
        pts = quad.as_array().astype(np.float64)
        diag = max(float(np.linalg.norm(pts[2] - pts[0])), float(np.linalg.norm(pts[3] - pts[1])), 1.0)
        limit = max(2.0, self.tolerance * diag)
        if self._anchor is None or np.abs(pts - self._anchor).max() > limit:
            self._anchor = pts
            self._since = now
            self.smoothed = quad
        else:
            prev = self.smoothed.as_array() if self.smoothed is not None else pts
            mixed = 0.6 * prev + 0.4 * pts
            self.smoothed = Quad.from_points(mixed, quad.confidence)
        self.steady = self._since is not None and now - self._since >= self.hold_s
        return self.steady

    @property
    def progress(self) -> float:
        """0..1: how far through the hold the page is (for a filling ring in the window)."""
        if self._since is None or self._last_t is None or self.hold_s <= 0:
            return 1.0 if self.steady else 0.0
        return max(0.0, min(1.0, (self._last_t - self._since) / self.hold_s))
