"""Cleaning up a flat page: uneven light and shadows divided out, contrast stretched, or black and white."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from paperlens.core.pagefind.images import as_bgr, paper_background, to_pil

ENHANCE_MODES = ("color", "gray", "scan", "none")


def enhance(image: Image.Image | np.ndarray, mode: str = "color") -> Image.Image:
    """A cleaner page: uneven lighting and shadows divided out, contrast stretched.

    - "color": keeps colour (graphics, stamps, highlighter), paper made white;
    - "gray": the same in grey;
    - "scan": black and white, the look of a photocopier; best for plain text, harsh on photos;
    - "none": unchanged.
    """
    if mode not in ENHANCE_MODES:
        raise ValueError(f"enhance mode must be one of {', '.join(ENHANCE_MODES)}, not {mode!r}")
    pil = to_pil(image)
    if mode == "none":
        return pil.convert("RGB")
    bgr = as_bgr(pil)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    bg = np.maximum(paper_background(gray).astype(np.float32), 1.0)
    if mode == "color":
        out = np.empty_like(bgr)
        for c in range(3):
            ch = bgr[:, :, c].astype(np.float32)
            out[:, :, c] = np.clip(ch / bg * 235.0, 0, 255).astype(np.uint8)
        out = _stretch(out)
        return Image.fromarray(cv2.cvtColor(out, cv2.COLOR_BGR2RGB))
    flat = np.clip(gray.astype(np.float32) / bg * 235.0, 0, 255).astype(np.uint8)
    if mode == "gray":
        return Image.fromarray(_stretch(flat)).convert("RGB")
    # scan: after flattening the light, a global threshold separates ink from paper far better than on the raw photo;
    # Otsu picks it, clamped so a nearly empty page does not turn its paper texture into ink.
    otsu, _ = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    level = min(max(otsu, 120.0), 200.0)
    bw = np.where(flat > level, 255, 0).astype(np.uint8)
    return Image.fromarray(bw).convert("RGB")


def _stretch(arr: np.ndarray) -> np.ndarray:
    """Contrast stretch between the 1st and 99th percentile (ink to paper), the same for all channels."""
    lo, hi = np.percentile(arr, (1, 99))
    if hi - lo < 10:
        return arr
    return np.clip((arr.astype(np.float32) - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)
