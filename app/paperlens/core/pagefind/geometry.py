"""A page outline (`Quad`) and the plane geometry on it: corner order, overlap, lines through points."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

Point = tuple[float, float]
Corners = tuple[Point, Point, Point, Point]


@dataclass(frozen=True)
class Quad:
    """A page outline: corners top-left, top-right, bottom-right, bottom-left in source pixels, and how sure we are.

    `confidence` is 0..1: mostly the share of the outline that runs along a real edge of the picture, so a page
    covered by a hand or lying on a same-coloured table scores lower than one on a dark desk.
    """

    corners: Corners
    confidence: float = 1.0

    @classmethod
    def from_points(cls, points: Sequence[Sequence[float]] | np.ndarray, confidence: float = 1.0) -> Quad:
        pts = order_corners(np.asarray(points, dtype=np.float64).reshape(4, 2))
        return cls(_four((float(x), float(y)) for x, y in pts), float(confidence))

    def as_array(self) -> np.ndarray:
        return np.array(self.corners, dtype=np.float32)

    def scaled(self, factor: float) -> Quad:
        return Quad(_four((x * factor, y * factor) for x, y in self.corners), self.confidence)

    @property
    def area(self) -> float:
        return float(abs(cv2.contourArea(self.as_array())))

    def to_json(self) -> dict:
        return {
            "corners": [[round(x, 1), round(y, 1)] for x, y in self.corners],
            "confidence": round(self.confidence, 3),
        }


def _four(points: Iterable[Point]) -> Corners:
    """Exactly four points as the corners' tuple type (raises if there are more or fewer)."""
    tl, tr, br, bl = points
    return tl, tr, br, bl


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Clockwise from the corner nearest the top-left: stable for any rotation up to about 45 degrees either way."""
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]  # y points down, so increasing angle is clockwise on screen
    start = int(np.argmin(pts[:, 0] + pts[:, 1]))
    return np.roll(pts, -start, axis=0)


def quad_iou(a: Quad | np.ndarray, b: Quad | np.ndarray) -> float:
    """Overlap of two outlines (intersection over union of their areas): how the page finder is measured."""
    pa = a.as_array() if isinstance(a, Quad) else np.asarray(a, dtype=np.float32)
    pb = b.as_array() if isinstance(b, Quad) else np.asarray(b, dtype=np.float32)
    pa = order_corners(pa.astype(np.float64)).astype(np.float32)
    pb = order_corners(pb.astype(np.float64)).astype(np.float32)
    inter, _ = cv2.intersectConvexConvex(pa, pb)
    union = abs(cv2.contourArea(pa)) + abs(cv2.contourArea(pb)) - inter
    return float(inter / union) if union > 0 else 0.0


def line_through(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The line (a, b, c), a x + b y + c = 0, through two points."""
    d = q - p
    return np.array([d[1], -d[0], d[0] * p[1] - d[1] * p[0]], dtype=np.float64)


def intersect(l1: np.ndarray, l2: np.ndarray) -> np.ndarray | None:
    pt = np.cross(l1, l2)
    if abs(pt[2]) < 1e-9:
        return None
    return pt[:2] / pt[2]
