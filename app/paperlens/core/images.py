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
    "IMAGE_FORMATS",
    "MAX_DECODE_BYTES",
    "MAX_IMAGE_PIXELS",
    "MAX_WORKING_PIXELS",
    "allowed_formats",
    "auto_flatten",
    "check_frame",
    "decode_bytes",
    "decode_frame",
    "image_to_rgb",
    "load_image",
    "open_image",
    "postscript_problem",
    "seek_frame",
]

# -- images -----------------------------------------------------------------------------------------------------------
# Refuse past this many pixels: bigger than any phone photo (a 200 MP sensor bins to 50 MP) or an A3 scan at 600 dpi
# (70 MP), and small enough that a crafted file cannot make us allocate gigabytes (a "decompression bomb").
MAX_IMAGE_PIXELS = 150_000_000
# Decode no bigger than this: a page never needs more, and JPEG can be decoded at 1/2, 1/4, 1/8 scale for free.
MAX_WORKING_PIXELS = 24_000_000
# What decoding one frame may take at once, the decoded pixels and every conversion's copies together (decode_bytes):
# a 150 MP RGB scan fits (0.7 GB), as do RGBA (1.45 GB) and 16-bit (1.15 GB) ones; grey with alpha at that size
# does not. (Before counting bytes, a 150 MP RGBA or 16-bit scan took about 3 GB in copies.)
MAX_DECODE_BYTES = 1_500_000_000
# The only formats decoded: those PaperLens offers (session.IMAGE_SUFFIXES). Pillow knows many more, some of which
# run a program (EPS runs Ghostscript) or are rarely-fuzzed parsers; a file is never opened as any of them.
IMAGE_FORMATS = ("PNG", "JPEG", "MPO", "TIFF", "BMP", "WEBP", "GIF", "PPM")
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


def allowed_formats() -> list[str]:
    """IMAGE_FORMATS as Pillow's `Image.open(formats=...)` takes them: its plugins registered first (importing a plugin
    runs nothing), and a format this Pillow build lacks (WebP without libwebp) left out."""
    Image.init()
    return [f for f in IMAGE_FORMATS if f in Image.OPEN]


def postscript_problem(head: bytes, name: str) -> DocumentError | None:
    """The refusal for a PostScript/EPS file (whatever its name), or None. Decoding one would run Ghostscript."""
    if head.startswith((b"%!PS", b"\xc5\xd0\xd3\xc6")):  # text EPS, and the DOS binary EPS header
        return DocumentError(
            f"{name} is a PostScript (EPS) file, which PaperLens does not open: it would have to run a program to "
            "draw it.",
            hint="Save it as PDF, PNG or JPEG first.",
        )
    return None


def open_image(path: Path) -> Image.Image:
    """Open (header only) an image of an allowed format, its size and memory checked before any pixel is decoded.

    The caller closes it: `ImageDocument` opens the file for each render and closes it straight after.
    """
    name = path.name
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise DocumentError(f"{name} could not be read: {exc.strerror or exc}.") from exc
    problem = postscript_problem(head, name)
    if problem is not None:
        raise problem
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path, formats=allowed_formats())
    except Image.DecompressionBombError as exc:
        raise _too_large(name) from exc
    except OSError as exc:  # UnidentifiedImageError included: a format outside IMAGE_FORMATS
        raise DocumentError(f"{name} could not be opened as an image: {reason(exc)}.") from exc
    try:
        check_frame(im, name)
    except BaseException:
        im.close()
        raise
    return im


def _too_large(where: str) -> ImageTooLarge:
    return ImageTooLarge(
        f"{where} is too large to open safely (more than {MAX_IMAGE_PIXELS // 1_000_000} megapixels).",
        hint="Scale it down first.",
    )


# Bytes per pixel as Pillow holds a decoded image (RGB takes 4), and the most that `image_to_rgb` adds at once for
# that mode: alpha laid on white makes a white RGB image and an alpha band (after a convert to RGBA for LA and PA),
# 16-bit and float grey a grey image and its RGB convert, CMYK and palettes one RGB(A) image.
_HELD = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2, "LA": 4, "PA": 4, "La": 4}
_EXTRA = {"RGB": 0, "RGBA": 5, "RGBa": 5, "LA": 9, "PA": 9, "La": 9, "P": 9, "CMYK": 4, "I": 5, "F": 5}


def decode_bytes(mode: str, size: tuple[int, int]) -> int:
    """About the most memory decoding one frame of this mode and size and making it plain RGB takes at once."""
    w, h = size
    pixels = w * h
    extra = _EXTRA.get(mode, 5 if mode.startswith("I;16") else 4)
    scaled = min(pixels, MAX_WORKING_PIXELS) * 4  # the working-size copy
    return pixels * (_HELD.get(mode, 4) + extra) + scaled


def check_frame(im: Image.Image, where: str) -> None:
    """Refuse the current frame before it is decoded: no pixels, too many, or more memory than MAX_DECODE_BYTES.

    Called again after each `seek`: a multi-page TIFF's later frames can be far bigger than its first.
    """
    w, h = im.size
    if w <= 0 or h <= 0:
        raise DocumentError(f"{where} has no pixels ({w}x{h}).")
    if w * h > MAX_IMAGE_PIXELS:
        raise ImageTooLarge(
            f"{where} is {w}x{h} pixels ({w * h / 1e6:.0f} megapixels), more than the "
            f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels PaperLens opens.",
            hint="Scale it down first.",
        )
    need = decode_bytes(im.mode, im.size)
    if im.format == "JPEG" and w * h > MAX_WORKING_PIXELS:
        need = decode_bytes(im.mode, (w // 2, h // 2))  # drafted: decoded at half size or less
    if need > MAX_DECODE_BYTES:
        raise ImageTooLarge(
            f"{where} is {w}x{h} pixels in {im.mode} mode, which would take {need / 1e9:.1f} GB of memory to "
            f"decode, more than the {MAX_DECODE_BYTES / 1e9:.1f} GB PaperLens allows itself.",
            hint="Scale it down or save it as 8-bit RGB first.",
        )


def load_image(path: str | Path) -> Image.Image:
    """One image file (its first frame) as upright, plain RGB, scaled to a safe working size. Raises DocumentError."""
    p = Path(path)
    im = open_image(p)
    try:
        rgb, _ = decode_frame(im, p.name, 0, 1)
        return rgb
    finally:
        im.close()


def seek_frame(im: Image.Image, index: int, where: str) -> None:
    """Go to frame `index` of a multi-page file and check its size before anything of it is decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im.seek(index)
    except Image.DecompressionBombError as exc:
        raise _too_large(where) from exc
    check_frame(im, where)


def decode_frame(im: Image.Image, name: str, index: int, count: int) -> tuple[Image.Image, dict[str, Any]]:
    """Decode the current frame: draft-scaled when huge, EXIF-upright, RGB, at most MAX_WORKING_PIXELS."""
    where = f"Page {index + 1} of {name}" if count > 1 else name  # a file name keeps its own spelling
    check_frame(im, where)
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
    except Image.DecompressionBombError as exc:
        raise _too_large(where) from exc
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
    if rgb.width * rgb.height > MAX_WORKING_PIXELS:
        scale = math.sqrt(MAX_WORKING_PIXELS / (rgb.width * rgb.height))
        rgb = rgb.resize(
            (max(1, int(rgb.width * scale)), max(1, int(rgb.height * scale))), Image.Resampling.LANCZOS
        )
    elif rgb is im:
        rgb = im.copy()  # the page must outlive the open file
    if rgb.size != meta["original_size"]:
        meta["scaled_to"] = rgb.size
    return rgb, meta


_GREY_ROWS = 512  # 16-bit and float grey is scaled this many rows at a time: temporaries stay a few megabytes


def image_to_rgb(im: Image.Image) -> Image.Image:
    """Plain 8-bit RGB from any Pillow mode, done the way a person would expect to see it.

    Transparency is laid on white (a transparent PNG of black text on nothing must not turn into black on black);
    16-bit and 32-bit grey are scaled, not clipped (clipping turns a 16-bit scan white); CMYK goes through its
    embedded ICC profile when there is one; palettes and bilevel fax images are expanded. Each conversion makes as
    few full-size copies as it can (`decode_bytes` counts them): a big scan must not cost gigabytes.
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
        rgba = im if mode == "RGBA" else im.convert("RGBA")
        out = Image.new("RGB", rgba.size, (255, 255, 255))
        out.paste(rgba, (0, 0), rgba.getchannel("A"))  # the colour where opaque, white where transparent
        return out
    if mode == "CMYK":
        profile = im.info.get("icc_profile")
        if profile:
            try:
                import io

                from PIL import ImageCms

                src = ImageCms.ImageCmsProfile(io.BytesIO(profile))
                dst = ImageCms.createProfile("sRGB")
                converted = ImageCms.profileToProfile(im, src, dst, outputMode="RGB")
                if converted is not None:  # None only when asked to convert in place
                    return converted
            except Exception:  # noqa: BLE001 - a broken profile: fall back to the plain formula
                pass
        return im.convert("RGB")
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _grey_to_rgb(im)
    return im.convert("RGB")


def _grey_to_rgb(im: Image.Image) -> Image.Image:
    """16-bit, 32-bit and float grey scaled to 8 bits, a band of rows at a time."""
    arr = np.asarray(im)  # a view where Pillow allows one, else one copy at the file's own depth
    if arr.size == 0:
        return Image.new("RGB", im.size, "white")
    top = float(arr.max())
    mode = im.mode
    divisor = 1.0
    factor = 1.0
    if mode == "F":
        factor = 255.0 if top <= 1.0 else 1.0
    elif mode.startswith("I;16") or top > 255:
        # Full 16-bit range when the data uses it; otherwise (12-bit scanners) stretch what is there.
        divisor = 257.0 if top > 4095 else max(top, 1.0) / 255.0
    gray = np.empty(arr.shape, np.uint8)
    for y in range(0, arr.shape[0], _GREY_ROWS):
        band = arr[y : y + _GREY_ROWS].astype(np.float32) * (factor / divisor)
        np.clip(band, 0, 255, out=band)
        gray[y : y + _GREY_ROWS] = band
    del arr
    return Image.fromarray(gray, "L").convert("RGB")


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
