"""A corpus of hostile and odd files, made by the tests themselves (nothing downloaded, nothing big on disk).

`build_corpus(folder)` writes every file and returns what each must give:

- OK: it opens and every page comes through as a picture;
- PAGE_ERROR: it opens, and at least one page is refused with a sentence (the rest come through);
- REFUSED: opening it is refused with one plain sentence that names it;
- EITHER: a damaged file that may be repaired (pages come through) or refused (a sentence), never anything else.

Every file is a few kilobytes: the bombs only *claim* gigapixels in their headers.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

OK, PAGE_ERROR, REFUSED, EITHER = "ok", "page error", "refused", "either"

# What the Launch and JavaScript actions would create if anything ran them.
LAUNCH_MARKER = "launched-by-the-pdf"


@dataclass(frozen=True)
class Case:
    path: Path
    expect: str
    why: str


def _pdf(pages: int = 1, *, size=(595, 842), text: str = "Quarterly figures") -> bytes:
    import pymupdf

    doc = pymupdf.open()
    for n in range(pages):
        page = doc.new_page(width=size[0], height=size[1])
        page.insert_text((min(20, size[0] / 4), min(40, size[1] / 2)), f"{text} {n + 1}", fontsize=8)
    data = doc.tobytes()
    doc.close()
    return data


def _pdf_with_box(box: tuple[float, float, float, float]) -> bytes:
    """A one-page PDF whose MediaBox says `box`, written by hand (PyMuPDF refuses to set an absurd one)."""
    content = b"BT /F1 12 Tf 72 100 Td (Quarterly figures) Tj ET"
    return _raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [%s] /Contents 4 0 R "
            b"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>"
            % " ".join(f"{v:g}" for v in box).encode(),
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        ]
    )


def _raw_pdf(objects: list[bytes], *, extra_page_keys: bytes = b"") -> bytes:
    """A PDF from its objects (object 1 the catalog), with a correct cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (n, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _pdf_one_page(page_keys: bytes, *, catalog_keys: bytes = b"", more: list[bytes] | None = None) -> bytes:
    content = b"BT /F1 12 Tf 72 700 Td (Quarterly figures) Tj ET"
    return _raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R %s >>" % catalog_keys,
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> %s >>"
            % page_keys,
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
            *(more or []),
        ]
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def _png_bomb(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height RGB pixels; its data is a few bytes of a zero stream."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 100_000, 9)  # the start of an all-zero image: inflates far beyond its size
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def _tiff(frames: list[tuple[int, int]]) -> bytes:
    """A little-endian greyscale TIFF with one IFD per (width, height); each frame's strip is a few zero bytes."""
    out = bytearray(b"II*\x00" + struct.pack("<I", 8))
    for i, (w, h) in enumerate(frames):
        # a small frame gets its real pixels (white, one dark band); a huge one claims far more than it holds
        strip = (
            (b"\xff" * w * (h // 3) + b"\x20" * w * 20).ljust(w * h, b"\xff")
            if w * h < 10**6
            else b"\x00" * 64
        )
        ifd_at = len(out)
        entries = [
            (256, 4, 1, w),  # ImageWidth
            (257, 4, 1, h),  # ImageLength
            (258, 3, 1, 8),  # BitsPerSample
            (259, 3, 1, 1),  # Compression: none
            (262, 3, 1, 1),  # Photometric: black is zero
            (273, 4, 1, 0),  # StripOffsets (patched below)
            (277, 3, 1, 1),  # SamplesPerPixel
            (278, 4, 1, h),  # RowsPerStrip
            (279, 4, 1, len(strip)),  # StripByteCounts
        ]
        ifd_size = 2 + 12 * len(entries) + 4
        strip_at = ifd_at + ifd_size
        out += struct.pack("<H", len(entries))
        for tag, typ, count, value in entries:
            value = strip_at if tag == 273 else value
            fmt = "<HHIHH" if typ == 3 else "<HHII"
            out += (
                struct.pack(fmt, tag, typ, count, value, 0)
                if typ == 3
                else struct.pack(fmt, tag, typ, count, value)
            )
        next_at = strip_at + len(strip) if i + 1 < len(frames) else 0
        out += struct.pack("<I", next_at)
        out += strip
    return bytes(out)


def _image(mode: str, size=(400, 300), fmt: str = "PNG", **kw) -> bytes:
    from PIL import Image, ImageDraw

    white = {"L": 255, "I;16": 65535, "CMYK": (0, 0, 0, 0)}.get(mode, "white")
    black = {"L": 0, "I;16": 0, "CMYK": (0, 0, 0, 255)}.get(mode, "black")
    img = Image.new(mode, size, white)
    ImageDraw.Draw(img).rectangle((40, 40, 200, 80), fill=black)
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _palette_with_transparency() -> bytes:
    from PIL import Image

    img = Image.new("P", (300, 200), 0)
    img.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    img.paste(1, (20, 20, 200, 60))
    buf = io.BytesIO()
    img.save(buf, format="PNG", transparency=0)
    return buf.getvalue()


def _eps() -> bytes:
    return b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n(%stdout) (w) file (pwned) writestring\nshowpage\n"


def build_corpus(folder: Path) -> list[Case]:
    """Writes the corpus into `folder` (which must exist and be empty) and returns its cases."""
    cases: list[Case] = []

    def add(name: str | bytes, data: bytes | None, expect: str, why: str) -> Path:
        raw = os.fsencode(folder) + b"/" + (name if isinstance(name, bytes) else name.encode())
        if data is not None:
            with open(raw, "wb") as fh:
                fh.write(data)
        path = Path(os.fsdecode(raw))
        cases.append(Case(path, expect, why))
        return path

    good_pdf = _pdf(3)
    add("giant-mediabox.pdf", _pdf_with_box((0, 0, 200_000, 200_000)), PAGE_ERROR, "a 200,000-pt page")
    add(
        "ten-million-pt.pdf",
        _pdf_with_box((0, 0, 10_000_000, 10_000_000)),
        EITHER,
        "a 10^7-pt page (MuPDF clamps it)",
    )
    add("negative-box.pdf", _pdf_with_box((595, 842, 0, 0)), EITHER, "a MediaBox given upside down")
    add("empty-box.pdf", _pdf_with_box((0, 0, 0, 0)), EITHER, "a MediaBox of no area")
    add("rotate-45.pdf", _pdf_one_page(b"/Rotate 45"), OK, "/Rotate 45 (not a multiple of 90)")
    add(
        "deep-nesting.pdf",
        _pdf_one_page(b"/Nested " + b"[" * 50_000 + b"]" * 50_000),
        EITHER,
        "an array nested 50,000 deep",
    )
    launch = (
        b"<< /S /Launch /F (/bin/sh) /Win << /F (cmd.exe) /P (/c echo x > %s) >> >>" % LAUNCH_MARKER.encode()
    )
    add(
        "javascript-launch.pdf",
        _pdf_one_page(
            b"/AA << /O 6 0 R >>",
            catalog_keys=b"/OpenAction 5 0 R /Names << /JavaScript << /Names [(x) 5 0 R] >> >>",
            more=[
                b"<< /S /JavaScript /JS (app.launchURL('http://127.0.0.1:9/'); this.exportDataObject({}); ) >>",
                launch,
            ],
        ),
        OK,
        "JavaScript and a Launch action on open",
    )
    add("many-pages.pdf", _pdf(600, size=(72, 72), text="p"), OK, "600 tiny pages")
    add(
        "no-pages.pdf",
        _raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]),
        REFUSED,
        "a PDF with no pages",
    )
    add("truncated.pdf", good_pdf[: len(good_pdf) // 2], EITHER, "a PDF cut in half")
    add("postscript.pdf", _eps(), REFUSED, "PostScript named .pdf")
    add("text.pdf", b"Hello, this is not a PDF at all.\n", REFUSED, "plain text named .pdf")
    add("scan.jpg", _eps(), REFUSED, "EPS named scan.jpg (Ghostscript must never run)")
    add("bomb.png", _png_bomb(100_000, 100_000), REFUSED, "a PNG claiming 10 gigapixels")
    add("bomb.tif", _tiff([(100_000, 100_000)]), REFUSED, "a TIFF claiming 10 gigapixels")
    add(
        "frames-bomb.tif",
        _tiff([(400, 300), (100_000, 100_000)]),
        PAGE_ERROR,
        "a small frame, then a huge one",
    )
    jpeg = _image("RGB", fmt="JPEG")
    png = _image("RGB")
    add("truncated.jpg", jpeg[: len(jpeg) // 3], EITHER, "a JPEG cut short")
    add("truncated.png", png[: len(png) // 2], EITHER, "a PNG cut short")
    for suffix in (".pdf", ".png", ".jpg", ".tif", ".webp", ".gif", ".bmp"):
        add(f"zero-bytes{suffix}", b"", REFUSED, f"an empty {suffix} file")
    add(b"caf\xe9-latin1-name.png", png, OK, "a name that is not UTF-8")
    add(
        "svg.png",
        b'<svg xmlns="http://www.w3.org/2000/svg"><image href="file:///etc/passwd"/></svg>',
        REFUSED,
        "SVG renamed .png",
    )
    add(
        "html.png",
        b"<html><img src='http://127.0.0.1:9/x.png'><script>alert(1)</script></html>",
        REFUSED,
        "HTML renamed .png",
    )
    add("cmyk.jpg", _image("CMYK", fmt="JPEG"), OK, "a CMYK JPEG")
    add("sixteen-bit.png", _image("I;16"), OK, "a 16-bit greyscale PNG")
    add(
        "palette-transparent.png", _palette_with_transparency(), OK, "a palette PNG with a transparent colour"
    )
    fifo = folder / "fifo-page.png"
    os.mkfifo(fifo)
    add("fifo-page.png", None, REFUSED, "a FIFO named like a photo (reading it would wait forever)")
    (folder / "zero-device.png").symlink_to("/dev/zero")
    add("zero-device.png", None, REFUSED, "a link to /dev/zero named like a photo (it never ends)")
    loop = folder / "loop.pdf"
    loop.symlink_to(loop.name)  # points at itself
    add("loop.pdf", None, REFUSED, "a symlink to itself")
    (folder / "folder.pdf").mkdir()
    add("folder.pdf", None, REFUSED, "a folder named like a PDF")
    (folder / "links").mkdir()
    (folder / "links" / "up").symlink_to("..")  # a folder walk that followed links would never end
    add("links/up", None, REFUSED, "a link to the folder above (a loop for a folder walk)")
    return cases


def corpus_supported() -> bool:
    """FIFOs, symlinks and non-UTF-8 names as a POSIX system has them."""
    return hasattr(os, "mkfifo") and os.name == "posix" and sys.getfilesystemencoding() == "utf-8"


def wait_or_unblock(fn, path_of_fifo: Path | None, timeout: float = 60.0):
    """Runs `fn()` in a thread; returns ("done", value) / ("raised", exc), or ("hung", None) after `timeout` seconds,
    having opened the FIFO's write end so that a thread stuck reading it is released."""
    box: dict = {}
    done = threading.Event()

    def work():
        try:
            box["value"] = ("done", fn())
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            box["value"] = ("raised", exc)
        finally:
            done.set()

    threading.Thread(target=work, daemon=True).start()
    if done.wait(timeout):
        return box["value"]
    if path_of_fifo is not None:
        fd = os.open(path_of_fifo, os.O_RDWR | os.O_NONBLOCK)
        os.close(fd)
    return ("hung", None)
