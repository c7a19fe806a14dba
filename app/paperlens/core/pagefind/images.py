"""Converting between PIL's and OpenCV's image layouts, and the paper's own brightness under the print."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image


def as_bgr(image: Image.Image | np.ndarray) -> np.ndarray:
    """OpenCV's layout (BGR, uint8) from a PIL image or an array; arrays are taken to be BGR already, as cv2 reads."""
    if isinstance(image, Image.Image):
        rgb = np.asarray(image.convert("RGB"))
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2BGR)
    if arr.shape[2] == 4:
        return cv2.cvtColor(arr, cv2.COLOR_BGRA2BGR)
    return arr


def to_pil(image: Image.Image | np.ndarray) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB") if image.mode not in ("RGB", "L") else image
    return Image.fromarray(cv2.cvtColor(as_bgr(image), cv2.COLOR_BGR2RGB))


def paper_background(gray: np.ndarray) -> np.ndarray:
    """The paper's own brightness at each point (text removed): what shadows and uneven light look like."""
    h, w = gray.shape
    factor = max(1, int(max(h, w) / 400))
    small = cv2.resize(gray, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)
    k = max(3, (max(small.shape) // 40) | 1)
    # Dilation spreads the paper's white over the (darker, thinner) strokes; the median smooths what is left.
    bg = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    bg = cv2.medianBlur(bg, min(255, (k * 2) | 1) if k * 2 < 255 else 255)
    return cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)
