"""Image files in: opened safely, decoded to upright plain RGB, and a photographed page found and flattened.

Split from `documents` (which turns files into numbered pages) because decoding pixels is a job of its own: the limits
that keep a crafted file from taking gigabytes, the colour models a scanner or a phone writes, EXIF orientation, and
when a photo is cut down to its page.
"""

from __future__ import annotations

import math
import struct
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from paperlens.core.errors import DocumentError, ImageTooLarge, reason
from paperlens.core.page import Flattened

__all__ = [
    "AUTO_FLATTEN_CONFIDENCE",
    "MAX_IMAGE_PIXELS",
    "MAX_WORKING_PIXELS",
    "auto_flatten",
    "decode_frame",
    "image_to_rgb",
    "load_image",
    "open_image",
]

# -- images -----------------------------------------------------------------------------------------------------------
# Refuse past this many pixels: bigger than any phone photo (a 200 MP sensor bins to 50 MP) or an A3 scan at 600 dpi
# (70 MP), and small enough that a crafted file cannot make us allocate gigabytes (a "decompression bomb").
MAX_IMAGE_PIXELS = 150_000_000
# Decode no bigger than this: a page never needs more, and JPEG can be decoded at 1/2, 1/4, 1/8 scale for free.
MAX_WORKING_PIXELS = 24_000_000
AUTO_FLATTEN_CONFIDENCE = 0.7  # a photo's page is cut out and flattened only when found at least this surely
AUTO_FLATTEN_MAX_AREA = 0.92  # a "page" filling the whole picture is a scan already: leave it alone
AUTO_FLATTEN_MIN_SURROUND = (
    6.0  # Lab units between paper and what it lies on (a receipt on a cream table: 12)
)
AUTO_FLATTEN_MIN_AREA = (
    0.07  # a "page" smaller than this share of the picture is a detail of it, not the subject
)
AUTO_FLATTEN_MAX_MARKS = 8  # marks of print on paper outside the outline: more means content would be cut off
AUTO_FLATTEN_MIN_NOISE = (
    0.3  # a surround this flat was rendered (screenshot, exported page), not photographed
)


def open_image(path: Path) -> Image.Image:
    """Open (header only) with our pixel limit checked before any pixel is decoded."""
    name = path.name
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(
            f"{name} is too large to open safely (more than {MAX_IMAGE_PIXELS // 1_000_000} megapixels).",
            hint="Scale it down first.",
        ) from exc
    except OSError as exc:
        raise DocumentError(f"{name} could not be opened as an image: {reason(exc)}.") from exc
    w, h = im.size
    if w <= 0 or h <= 0:
        im.close()
        raise DocumentError(f"{name} has no pixels ({w}x{h}).")
    if w * h > MAX_IMAGE_PIXELS:
        im.close()
        raise ImageTooLarge(
            f"{name} is {w}x{h} pixels ({w * h / 1e6:.0f} megapixels), more than the "
            f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels PaperLens opens.",
            hint="Scale it down first.",
        )
    return im


def load_image(path: str | Path) -> Image.Image:
    """One image file (its first frame) as upright, plain RGB, scaled to a safe working size. Raises DocumentError."""
    p = Path(path)
    im = open_image(p)
    try:
        rgb, _ = decode_frame(im, p.name, 0, 1)
        return rgb
    finally:
        im.close()


def decode_frame(im: Image.Image, name: str, index: int, count: int) -> tuple[Image.Image, dict[str, Any]]:
    """Decode the current frame: draft-scaled when huge, EXIF-upright, RGB, at most MAX_WORKING_PIXELS."""
    where = f"Page {index + 1} of {name}" if count > 1 else name  # a file name keeps its own spelling
    meta: dict[str, Any] = {"original_size": im.size}
    w, h = im.size
    if w * h > MAX_WORKING_PIXELS and im.format == "JPEG":
        # JPEG decodes at 1/2, 1/4 or 1/8 scale directly: a 100 MP photo never exists in memory at full size.
        scale = math.sqrt(MAX_WORKING_PIXELS / (w * h))
        im.draft("RGB", (max(1, int(w * scale)), max(1, int(h * scale))))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im.load()
    except OSError as exc:
        # Pillow's own switch for cut-off files (ImageFile.LOAD_TRUNCATED_IMAGES) is global and stays off: a
        # truncated file is reported, not silently padded with grey.
        text = str(exc).lower()
        if "truncated" in text or "broken data stream" in text or "premature end" in text:
            raise DocumentError(f"{where} is cut short (the file is truncated or damaged).") from exc
        raise DocumentError(f"{where} could not be decoded: {reason(exc)}.") from exc
    except (ValueError, SyntaxError, struct.error) as exc:
        raise DocumentError(f"{where} could not be decoded: {reason(exc)}.") from exc
    upright = im
    try:
        orientation = im.getexif().get(0x0112, 1)  # EXIF Orientation: 1 is upright already
        if orientation not in (None, 1):
            upright = ImageOps.exif_transpose(im) or im
            meta["exif_orientation"] = orientation
    except Exception:  # noqa: BLE001 - a broken EXIF block is no reason to lose the picture
        upright = im
    rgb = image_to_rgb(upright)
    if rgb is im:
        rgb = (
            im.copy()
        )  # the page must outlive the open file (a multi-page TIFF stays open for the next frame)
    if rgb.width * rgb.height > MAX_WORKING_PIXELS:
        scale = math.sqrt(MAX_WORKING_PIXELS / (rgb.width * rgb.height))
        rgb = rgb.resize(
            (max(1, int(rgb.width * scale)), max(1, int(rgb.height * scale))), Image.Resampling.LANCZOS
        )
    if rgb.size != meta["original_size"]:
        meta["scaled_to"] = rgb.size
    return rgb, meta


def image_to_rgb(im: Image.Image) -> Image.Image:
    """Plain 8-bit RGB from any Pillow mode, done the way a person would expect to see it.

    Transparency is laid on white (a transparent PNG of black text on nothing must not turn into black on black);
    16-bit and 32-bit grey are scaled, not clipped (clipping turns a 16-bit scan white); CMYK goes through its
    embedded ICC profile when there is one; palettes and bilevel fax images are expanded.
    """
    mode = im.mode
    if mode == "RGB":
        return im
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        mode = im.mode
        if mode == "RGB":
            return im
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if mode == "CMYK":
        profile = im.info.get("icc_profile")
        if profile:
            try:
                import io

                from PIL import ImageCms

                src = ImageCms.ImageCmsProfile(io.BytesIO(profile))
                dst = ImageCms.createProfile("sRGB")
                return ImageCms.profileToProfile(im, src, dst, outputMode="RGB")
            except Exception:  # noqa: BLE001 - a broken profile: fall back to the plain formula
                pass
        return im.convert("RGB")
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(im).astype(np.float64)
        if arr.size == 0:
            return Image.new("RGB", im.size, "white")
        top = float(arr.max())
        if mode == "F":
            arr = arr * 255.0 if top <= 1.0 else arr
        elif mode.startswith("I;16") or top > 255:
            # Full 16-bit range when the data uses it; otherwise (12-bit scanners) stretch what is there.
            arr = arr / (257.0 if top > 4095 else max(top, 1.0) / 255.0)
        gray = np.clip(arr, 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    return im.convert("RGB")


def auto_flatten(rgb: Image.Image, meta: dict[str, Any]) -> tuple[Image.Image, Flattened | None]:
    """Cut out and straighten a photographed page; leave scans, screenshots and anything else whole.

    Flattening throws away everything outside the outline, so it is done only when the outline is surely a sheet of
    paper photographed on something else (see docs/inputs.md): found surely, a fair part of the picture but not all
    of it, a clear step in colour all round, a camera picture (a rendered image has exactly flat colours), and no
    print on paper outside it. `meta["flatten_skipped"]` says which test kept a found outline from being used.
    """
    from paperlens.core.pagefind import find_page, flatten, outside_marks, outside_noise, surround_contrast

    quad = find_page(rgb, thorough=True)
    if quad is None:
        return rgb, None
    area = quad.area / float(rgb.width * rgb.height)
    meta["corners"] = [list(c) for c in quad.to_json()["corners"]]
    meta["confidence"] = round(quad.confidence, 3)
    reason = None
    if quad.confidence < AUTO_FLATTEN_CONFIDENCE:
        reason = "not found surely"
    elif area > AUTO_FLATTEN_MAX_AREA:
        reason = "fills the picture"
    elif area < AUTO_FLATTEN_MIN_AREA:
        reason = "a small part of the picture"
    # A table or picture printed on a scanned page has paper on both sides of its outline; a photographed page
    # lies on something else. Only the second is cut out.
    elif surround_contrast(rgb, quad) < AUTO_FLATTEN_MIN_SURROUND:
        reason = "same paper on both sides"
    elif outside_noise(rgb, quad) < AUTO_FLATTEN_MIN_NOISE:
        reason = "a rendered image, not a photo"
    elif outside_marks(rgb, quad) > AUTO_FLATTEN_MAX_MARKS:
        reason = "print outside the outline"
    if reason is not None:
        meta["flatten_skipped"] = reason
        return rgb, None
    w, h = meta["original_size"]
    sx, sy = w / rgb.width, h / rgb.height
    if meta.get("exif_orientation") in (5, 6, 7, 8):  # original_size is the file's; the picture is turned
        sx, sy = h / rgb.width, w / rgb.height
        w, h = h, w
    record = Flattened(
        corners=tuple((x * sx, y * sy) for x, y in quad.corners),
        confidence=quad.confidence,
        original_size=(w, h),
    )
    meta["flattened"] = True
    return flatten(rgb, quad), record
