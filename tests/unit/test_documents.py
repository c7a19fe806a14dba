"""Documents in: PDFs and image files become pages; every kind of bad input gets one clear sentence.

All inputs are built here (pymupdf writes the PDFs, Pillow the images); nothing is read from ../shared.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from paperlens.core import documents, images
from paperlens.core.documents import BlankPage, choose_dpi, open_document, parse_page_range
from paperlens.core.errors import DocumentError, ImageTooLarge, PasswordRequired, WrongPassword
from tests.unit.scenes import FLAT_SCAN_KINDS, flat_scan, make_pdf, page_image, photo


# -- page ranges -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("1-3,5,7-", [0, 1, 2, 4, 6, 7, 8, 9]),
        ("-2", [0, 1]),
        ("4", [3]),
        (" 2 - 3 ; 10 ", [1, 2, 9]),
        ("3,1,3", [2, 0]),  # order as written, repeats dropped
        ("all", list(range(10))),
        ("", list(range(10))),
        (None, list(range(10))),
    ],
)
def test_page_ranges(spec, expected):
    assert parse_page_range(spec, 10) == expected


def test_a_range_reaching_past_the_end_reads_the_pages_that_exist_and_names_the_rest():
    from paperlens.core.documents import select_pages

    assert select_pages("8-12", 10) == ([7, 8, 9], [11, 12])
    assert select_pages("2,9-", 10) == ([1, 8, 9], [])
    assert parse_page_range("8-12", 10) == [7, 8, 9]


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("abc", "not understood"),
        ("1-2-3", "not understood"),
        ("5-3", "backwards"),
        ("11", "past the end"),
        ("11-12", "past the end"),
        ("0", "numbered from 1"),
        ("-", "not understood"),
    ],
)
def test_bad_page_ranges_say_what_is_wrong(spec, words):
    with pytest.raises(DocumentError) as err:
        parse_page_range(spec, 10)
    assert words in str(err.value)
    assert str(err.value).endswith(".")


# -- DPI --------------------------------------------------------------------------------------------------------------
def test_an_a4_page_renders_at_150_dpi_to_fill_nine_slices():
    # GIVEN llama.cpp's MiniCPM-V slicing (at most 9 slices of 448x448)
    # WHEN choosing the DPI for A4 and US Letter
    a4, letter = choose_dpi(595, 842), choose_dpi(612, 792)
    # THEN they render just above 9 x 448^2 pixels, so llama.cpp scales down into its slices, never up
    assert a4 == documents.DEFAULT_DPI == 150
    for dpi, (w, h) in ((a4, (595, 842)), (letter, (612, 792))):
        pixels = (w / 72 * dpi) * (h / 72 * dpi)
        assert 9 * 448 * 448 < pixels < 1.35 * 9 * 448 * 448
    # and more detail means more pixels; a small receipt gets more DPI, a poster less
    assert choose_dpi(595, 842, "high") == 212
    assert choose_dpi(595, 842, "max") == 300
    assert choose_dpi(226, 567) > 250
    assert choose_dpi(2384, 3370) < 72 * 1.01
    with pytest.raises(ValueError):
        choose_dpi(595, 842, "ultra")


# -- PDFs -------------------------------------------------------------------------------------------------------------
def test_a_pdf_gives_its_pages_with_their_text_layer(tmp_path):
    pdf = make_pdf(tmp_path / "three.pdf", ["First page", "Second page", "Third page"], table_on={1})
    with open_document(pdf) as doc:
        assert doc.kind == "pdf" and doc.page_count == 3 and len(doc) == 3
        page = doc.page(1)
        assert page.number == 2 and page.label == "Page 2" and page.source == str(pdf)
        assert page.image.mode == "RGB" and page.image.size == (1240, 1755)
        assert page.meta["dpi"] == 150
        assert "Second page" in page.text and "Item 1" in page.text
        assert doc.page_text(2).startswith("Third page")  # without rendering: an instant preview
        thumb = doc.thumbnail(0, 128)
        assert max(thumb.size) == 128


def test_page_ranges_select_pages(tmp_path):
    pdf = make_pdf(tmp_path / "five.pdf", [f"Page number {i + 1}" for i in range(5)])
    with open_document(pdf) as doc:
        got = [(i, p.text.split("\n")[0]) for i, p in doc.pages("2,4-")]
    assert got == [(1, "Page number 2"), (3, "Page number 4"), (4, "Page number 5")]


def test_page_rotation_is_honoured(tmp_path):
    pdf = make_pdf(tmp_path / "rot.pdf", ["Upright", "Turned"], rotations={1: 90})
    with open_document(pdf) as doc:
        upright, turned = doc.page(0), doc.page(1)
    assert upright.image.height > upright.image.width
    assert turned.image.width > turned.image.height  # a /Rotate 90 portrait page is shown landscape
    assert turned.meta["rotation"] == 90 and "Turned" in turned.text
    # the text is drawn where the rotation puts it: the top-left of the unrotated page is now top-right
    ink = np.asarray(turned.image.convert("L")) < 128
    assert ink[:, turned.image.width // 2 :].sum() > ink[:, : turned.image.width // 2].sum()


def test_dpi_and_detail_settings(tmp_path):
    pdf = make_pdf(tmp_path / "a4.pdf", ["Detail"])
    with open_document(pdf, dpi=100) as doc:
        assert doc.page(0).image.size == (827, 1170)
    with open_document(pdf, detail="high") as doc:
        page = doc.page(0)
        assert page.meta["dpi"] == 212 and page.image.width == 1752
    with pytest.raises(DocumentError, match="out of range"):
        open_document(pdf, dpi=5000)


def test_pdf_page_labels_name_the_pages(tmp_path):
    pdf = make_pdf(
        tmp_path / "labels.pdf",
        ["Preface", "Chapter"],
        labels=[
            {"startpage": 0, "prefix": "", "style": "r", "firstpagenum": 1},
            {"startpage": 1, "style": "D"},
        ],
    )
    with open_document(pdf) as doc:
        assert doc.page(0).label == "Page i"
        assert doc.page(1).label == "Page 1" or doc.page(1).label == "Page 2"


def test_encrypted_pdf_needs_the_right_password(tmp_path):
    pdf = make_pdf(tmp_path / "secret.pdf", ["Top secret text"], user_pw="open sesame", owner_pw="owner")
    with pytest.raises(PasswordRequired) as err:
        open_document(pdf)
    assert "password" in str(err.value) and "--password" in str(err.value)
    with pytest.raises(WrongPassword) as err:
        open_document(pdf, password="guess")
    assert str(err.value).startswith("The password does not open secret.pdf.")
    with open_document(pdf, password="open sesame") as doc:
        assert "Top secret" in doc.page(0).text
    with open_document(pdf, password="owner") as doc:  # the owner password opens it too
        assert doc.page_count == 1


def test_password_callback_is_asked_again_after_a_wrong_answer(tmp_path):
    pdf = make_pdf(tmp_path / "secret.pdf", ["Top secret text"], user_pw="right")
    answers = iter(["wrong", "right"])
    asked = []

    def ask() -> str | None:
        asked.append(1)
        return next(answers)

    with open_document(pdf, password="also wrong", password_callback=ask) as doc:
        assert "Top secret" in doc.page(0).text
    assert len(asked) == 2
    # a user who cancels the dialog (None) gets PasswordRequired, one who keeps failing WrongPassword
    with pytest.raises(PasswordRequired):
        open_document(pdf, password_callback=lambda: None)
    with pytest.raises(WrongPassword):
        open_document(pdf, password_callback=lambda: "nope")


def test_a_blank_page_is_reported_and_the_others_come_through(tmp_path):
    pdf = make_pdf(tmp_path / "gap.pdf", ["Before", "", "After"], blank={1})
    with open_document(pdf) as doc:
        results = list(doc.pages())
    assert [i for i, _ in results] == [0, 1, 2]
    assert "Before" in results[0][1].text and "After" in results[2][1].text
    blank = results[1][1]
    assert isinstance(blank, BlankPage) and isinstance(blank, DocumentError)
    assert str(blank) == "Page 2 of gap.pdf is blank: there is nothing on it to read."
    assert blank.page is not None and blank.page.image.size == (1240, 1755)  # still there for a viewer


def test_a_scanned_page_without_text_layer_is_not_blank(tmp_path):
    pdf = make_pdf(tmp_path / "scan.pdf", ["Scanned words here"], image_only={0})
    with open_document(pdf) as doc:
        page = doc.page(0)
    assert page.text is None


def test_a_scanned_page_with_only_two_small_letters_is_read(tmp_path):
    # GIVEN a scanned PDF page (no text layer) that shows only "OK" in 11 pt
    import pymupdf

    src = pymupdf.open()
    src.new_page(width=595, height=842).insert_text((280, 420), "OK", fontsize=11)
    scan_png = tmp_path / "ok-scan.png"
    src[0].get_pixmap(dpi=300, colorspace=pymupdf.csGRAY).save(str(scan_png))
    pdf = pymupdf.open()
    pdf.new_page(width=595, height=842).insert_image(pymupdf.Rect(0, 0, 595, 842), filename=str(scan_png))
    path = tmp_path / "ok.pdf"
    pdf.save(str(path))
    # WHEN it is opened THEN the page comes through, not as a blank page
    with open_document(path) as doc:
        ((_, page),) = list(doc.pages())
    assert not isinstance(page, DocumentError)
    assert page.text is None


def test_damaged_pdfs(tmp_path):
    good = make_pdf(tmp_path / "good.pdf", [f"Page {i + 1} body text" for i in range(6)])
    data = good.read_bytes()
    # garbage behind a PDF header: one sentence, no traceback text
    (tmp_path / "garbage.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20)
    with pytest.raises(DocumentError) as err:
        open_document(tmp_path / "garbage.pdf")
    assert str(err.value) == "garbage.pdf could not be opened: the PDF is damaged or incomplete."
    # cut short: either it cannot be opened at all, or it is repaired and the pages that survived come through
    outcomes = []
    for fraction in (0.3, 0.5, 0.9):
        cut = tmp_path / f"cut{fraction}.pdf"
        cut.write_bytes(data[: int(len(data) * fraction)])
        try:
            with open_document(cut) as doc:
                assert doc.warnings and "repaired" in doc.warnings[0]
                pages = list(doc.pages())
                outcomes.append([isinstance(p, DocumentError) for _, p in pages])
                assert len(pages) == doc.page_count
        except DocumentError as exc:
            assert "damaged or incomplete" in str(exc)
            outcomes.append(None)
    assert any(o is not None and not all(o) for o in outcomes)  # some truncated file still gave pages


def test_a_pdf_with_no_pages(tmp_path):
    empty = tmp_path / "zero.pdf"
    empty.write_bytes(
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
    with pytest.raises(DocumentError, match=r"^zero\.pdf has no pages\.$"):
        open_document(empty)


def test_kind_is_decided_by_content_not_extension(tmp_path):
    pdf_named_jpg = make_pdf(tmp_path / "really-a-pdf.jpg", ["Hidden PDF"])
    png_named_pdf = tmp_path / "really-a-png.pdf"
    Image.fromarray(page_image()[:, :, ::-1]).save(png_named_pdf, format="PNG")
    with open_document(pdf_named_jpg) as doc:
        assert doc.kind == "pdf"
    with open_document(png_named_pdf, flatten=False) as doc:
        assert doc.kind == "image" and doc.page(0).image.size == (850, 1100)


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        (
            "notes.txt",
            b"just some words\n",
            "is not a PDF or an image PaperLens can read (it is plain text).",
        ),
        ("archive.pdf", b"PK\x03\x04" + bytes(100), "(it is a ZIP archive, or an Office document)."),
        ("empty.png", b"", "is empty (0 bytes)."),
        ("photo.heic", b"\x00\x00\x00\x18ftypheic" + bytes(40), "HEIC/AVIF photo"),
    ],
)
def test_files_that_are_no_document(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError) as err:
        open_document(path)
    assert words in str(err.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DocumentError, match="There is no file at"):
        open_document(tmp_path / "nope.pdf")
    with pytest.raises(DocumentError, match="is a folder"):
        open_document(tmp_path)


def test_one_bad_file_does_not_stop_a_batch(tmp_path):
    good = make_pdf(tmp_path / "good.pdf", ["Good file"])
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.7 broken")
    also_good = tmp_path / "page.png"
    Image.fromarray(page_image()[:, :, ::-1]).save(also_good)
    done, failed = [], []
    for path in (good, bad, also_good):
        try:
            with open_document(path, flatten=False) as doc:
                done += [p for _, p in doc.pages() if not isinstance(p, DocumentError)]
        except DocumentError as exc:
            failed.append(str(exc))
    assert len(done) == 2 and len(failed) == 1 and failed[0].startswith("bad.pdf")


# -- images -----------------------------------------------------------------------------------------------------------
def _page_rgb(size=(300, 400)) -> Image.Image:
    arr = page_image(size[0], size[1])
    return Image.fromarray(arr[:, :, ::-1].copy())


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "TIFF"])
def test_common_image_formats(tmp_path, fmt):
    path = tmp_path / f"page.{fmt.lower()}"
    _page_rgb().save(path, format=fmt)
    with open_document(path, flatten=False) as doc:
        assert doc.kind == "image" and doc.page_count == 1
        page = doc.page(0)
    assert page.image.mode == "RGB" and page.image.size == (300, 400) and page.text is None
    assert page.meta["format"] == fmt


def test_each_frame_of_a_multipage_tiff_is_a_page(tmp_path):
    frames = [Image.new("RGB", (200, 260), "white") for _ in range(3)]
    for i, f in enumerate(frames):
        arr = np.array(f)
        arr[40 + 60 * i : 80 + 60 * i, 30:170] = 0  # a different black bar on each page
        frames[i] = Image.fromarray(arr)
    path = tmp_path / "fax.tif"
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_deflate")
    with open_document(path, flatten=False) as doc:
        assert doc.page_count == 3
        pages = [p for _, p in doc.pages()]
    for i, page in enumerate(pages):
        ink_rows = np.nonzero(np.asarray(page.image.convert("L")).min(axis=1) < 50)[0]
        assert ink_rows.min() == 40 + 60 * i and page.number == i + 1


def test_an_animated_gif_gives_its_first_frame(tmp_path):
    first = Image.new("P", (120, 160), 1)
    second = Image.new("P", (120, 160), 2)
    palette = [255, 255, 255, 0, 0, 0, 255, 0, 0] + [0] * (256 * 3 - 9)
    for f in (first, second):
        f.putpalette(palette)
    ImageDraw = __import__("PIL.ImageDraw", fromlist=["ImageDraw"])
    ImageDraw.Draw(first).rectangle((10, 10, 110, 40), fill=0)
    path = tmp_path / "anim.gif"
    first.save(path, save_all=True, append_images=[second], duration=100, loop=0)
    with open_document(path, flatten=False) as doc:
        assert doc.page_count == 1
        rgb = doc.page(0).image
    assert rgb.getpixel((60, 80)) == (0, 0, 0) and rgb.getpixel((60, 20)) == (255, 255, 255)


def test_exif_orientation_is_applied(tmp_path):
    # A camera held sideways stores landscape pixels plus "rotate 90 clockwise to view" (orientation 6).
    img = Image.new("RGB", (400, 300), "white")
    img.paste((255, 0, 0), (0, 0, 50, 50))  # red square top-left of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "sideways.jpg"
    img.save(path, exif=exif.tobytes(), quality=95)
    with open_document(path, flatten=False) as doc:
        page = doc.page(0)
    assert page.image.size == (300, 400)
    assert page.meta["exif_orientation"] == 6
    r, g, b = page.image.getpixel((275, 25))  # the red square is now top-right
    assert r > 200 and g < 60 and b < 60


def test_cmyk_palette_alpha_and_16_bit_are_converted(tmp_path):
    # CMYK JPEG: pure cyan must come out cyan
    cmyk = Image.new("CMYK", (64, 64), (255, 0, 0, 0))
    cmyk.save(tmp_path / "cmyk.jpg", quality=95)
    # Transparent PNG of black text: the transparent part must be white, not black
    rgba = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    rgba.paste((0, 0, 0, 255), (10, 10, 30, 30))
    rgba.save(tmp_path / "alpha.png")
    # Palette with a transparent index
    pal = Image.new("P", (64, 64), 0)
    pal.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    pal.paste(1, (0, 0, 32, 64))
    pal.save(tmp_path / "pal.png", transparency=0)
    # 16-bit grey: mid-grey must stay mid-grey (a naive conversion clips it to white)
    arr16 = np.full((64, 64), 32768, np.uint16)
    gray16 = Image.fromarray(arr16)
    assert gray16.mode.startswith("I;16")
    gray16.save(tmp_path / "gray16.png")
    # 1-bit fax
    Image.new("1", (64, 64), 1).save(tmp_path / "fax.tif")

    def pixel(name, xy):
        return images.load_image(tmp_path / name).getpixel(xy)

    c = pixel("cmyk.jpg", (32, 32))
    assert c[0] < 40 and c[1] > 200 and c[2] > 200
    assert pixel("alpha.png", (50, 50)) == (255, 255, 255) and pixel("alpha.png", (20, 20)) == (0, 0, 0)
    assert pixel("pal.png", (50, 50)) == (255, 255, 255) and pixel("pal.png", (10, 10)) == (200, 30, 30)
    g = pixel("gray16.png", (5, 5))
    assert g[0] == g[1] == g[2] and 120 <= g[0] <= 135
    assert pixel("fax.tif", (5, 5)) == (255, 255, 255)


def test_a_truncated_jpeg_is_reported(tmp_path):
    buf = io.BytesIO()
    _page_rgb((600, 800)).save(buf, format="JPEG", quality=90)
    path = tmp_path / "Cut-IMG_0042.JPG"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with open_document(path, flatten=False) as doc:
        results = list(doc.pages())
    err = results[0][1]
    assert isinstance(err, DocumentError)
    assert str(err) == "Cut-IMG_0042.JPG is cut short (the file is truncated or damaged)."


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_an_enormous_image_is_refused_before_decoding(tmp_path):
    # Headers only, almost no data: decoding would need gigabytes. Nothing is decoded.
    big = tmp_path / "big.png"
    big.write_bytes(_png_header_only(14000, 12000))  # 168 megapixels: over our limit
    with pytest.raises(ImageTooLarge) as err:
        open_document(big)
    assert str(err.value) == (
        "big.png is 14000x12000 pixels (168 megapixels), more than the 150 megapixels PaperLens opens. "
        "Scale it down first."
    )
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header_only(60000, 40000))  # 2.4 gigapixels: Pillow's own guard fires first
    with pytest.raises(ImageTooLarge) as err:
        open_document(bomb)
    assert (
        str(err.value)
        == "bomb.png is too large to open safely (more than 150 megapixels). Scale it down first."
    )


def test_big_images_are_scaled_down_safely(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "MAX_WORKING_PIXELS", 200_000)
    path = tmp_path / "big.jpg"
    _page_rgb((1000, 1300)).save(path, quality=90)  # 1.3 MP against a 0.2 MP working limit
    # in this process: the limit is lowered here, not in the renderer child
    with open_document(path, flatten=False, isolated=False) as doc:
        page = doc.page(0)
    assert page.image.width * page.image.height <= 200_000
    assert abs(page.image.width / page.image.height - 1000 / 1300) < 0.01
    assert page.meta["original_size"] == (1000, 1300)


def test_a_blank_image_is_reported(tmp_path):
    path = tmp_path / "blank.png"
    Image.new("RGB", (800, 1000), (250, 250, 248)).save(path)
    with open_document(path) as doc:
        (_, result), *_ = doc.pages()
    assert isinstance(result, BlankPage)
    assert str(result) == "blank.png is blank: there is nothing on it to read."


def test_a_photo_of_a_page_is_found_and_flattened(tmp_path):
    frame, corners = photo(frame_wh=(1600, 1200), bg="wood", tilt_x=20, tilt_y=-12, roll=4)
    path = tmp_path / "phone.jpg"
    Image.fromarray(frame[:, :, ::-1]).save(path, quality=92)
    with open_document(path) as doc:
        page = doc.page(0)
    assert page.meta["flattened"] is True and page.meta["confidence"] > 0.8
    ratio = page.image.height / page.image.width
    assert abs(ratio - 1100 / 850) < 0.03  # the page's true shape, not the photo's trapezoid
    found = np.array(page.meta["corners"], np.float32)
    assert np.abs(found - corners).max() < 20
    with open_document(path, flatten=False) as doc:  # and the switch leaves the photo alone
        assert doc.page(0).image.size == (1600, 1200)


def _save_as(bgr: np.ndarray, path: Path, how: str) -> None:
    """A flat scan written the way scanners and screenshot tools write files."""
    rgb = Image.fromarray(bgr[:, :, ::-1].copy())
    if how == "png":
        rgb.save(path)
    elif how == "jpeg":
        rgb.save(path, quality=85)
    elif how == "grey":
        rgb.convert("L").save(path)
    elif how == "cmyk":
        rgb.convert("CMYK").save(path, quality=90)
    elif how == "palette":
        rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(path)
    elif how == "16bit":
        grey = np.asarray(rgb.convert("L")).astype(np.uint16) * 257
        Image.fromarray(grey).save(path)
    elif how == "noisy":  # a real scanner: sensor noise, then JPEG
        noise = np.random.default_rng(0).normal(0, 2.5, bgr.shape)
        Image.fromarray(np.clip(bgr[:, :, ::-1] + noise[:, :, ::-1], 0, 255).astype(np.uint8)).save(
            path, quality=85
        )
    else:
        raise ValueError(how)


_FLAT_CASES = [(kind, "png", (1275, 1650)) for kind in FLAT_SCAN_KINDS] + [
    ("text", "jpeg", (2550, 3300)),
    ("columns", "grey", (2550, 3300)),
    ("colour", "cmyk", (640, 682)),
    ("table", "cmyk", (640, 682)),
    ("colour", "palette", (670, 282)),
    ("figure", "palette", (1275, 1650)),
    ("boxed_table", "16bit", (1275, 1650)),
    ("colour", "noisy", (2550, 3300)),
    ("figure", "noisy", (1275, 1650)),
    ("screenshot", "jpeg", (1920, 1080)),
    ("screenshot", "palette", (1280, 800)),
    ("grey", "jpeg", (1275, 1650)),
]


@pytest.mark.parametrize(
    ("kind", "how", "size"), _FLAT_CASES, ids=[f"{k}-{h}-{w}x{hh}" for k, h, (w, hh) in _FLAT_CASES]
)
def test_a_flat_scan_or_screenshot_is_never_cut_down(tmp_path, kind, how, size):
    # GIVEN a page as a scanner or a screenshot gives it, with a panel, a box, a table or a pane inside
    path = tmp_path / f"{kind}.{'jpg' if how in ('jpeg', 'cmyk', 'noisy') else 'png'}"
    _save_as(flat_scan(kind, *size), path, how)
    # WHEN it is opened with the default settings
    with open_document(path) as doc:
        page = doc.page(0)
    # THEN it comes out whole: nothing cut off, nothing flattened
    assert page.image.size == size
    assert page.flattened is None and not page.meta.get("flattened")


def test_a_flattened_photo_says_so_and_can_be_undone(tmp_path):
    # GIVEN a phone photo of a page, saved at twice the size PaperLens works at
    frame, corners = photo(frame_wh=(1600, 1200), bg="dark", tilt_x=15, tilt_y=10, roll=-6)
    path = tmp_path / "phone.jpg"
    Image.fromarray(frame[:, :, ::-1]).resize((3200, 2400)).save(path, quality=92)
    # WHEN it is opened (the working copy is scaled down)
    with documents.ImageDocument(path) as doc:
        import unittest.mock as mock

        with mock.patch.object(images, "MAX_WORKING_PIXELS", 2_000_000):
            page = doc.page(0)
            original = doc.original(0)
    # THEN the page says what was done, with the outline in the file's own pixels
    record = page.flattened
    assert record is not None and record.original_size == (3200, 2400)
    assert np.abs(np.array(record.corners) - corners * 2).max() < 40
    assert record.describe().startswith("page found at (") and "of 3200x2400" in record.describe()
    assert record.to_dict()["original_size"] == [3200, 2400]
    # AND the original is there to go back to, whole
    assert original.flattened is None and original.image.width / original.image.height == 3200 / 2400
    with open_document(path, flatten=False) as doc:
        assert doc.page(0).image.size == (3200, 2400) and doc.page(0).flattened is None


@pytest.mark.parametrize("bg", ["dark", "wood", "light"])
@pytest.mark.parametrize("kind", ["text", "table", "band"])
def test_photos_of_pages_are_still_flattened(tmp_path, bg, kind):
    frame, corners = photo(page=page_image(kind=kind, seed=3), bg=bg, tilt_x=-12, tilt_y=14, roll=8, seed=3)
    path = tmp_path / "photo.png"
    Image.fromarray(frame[:, :, ::-1]).save(path)
    with open_document(path) as doc:
        page = doc.page(0)
    from paperlens.core.pagefind import quad_iou

    assert page.flattened is not None, page.meta.get("flatten_skipped")
    assert quad_iou(np.array(page.flattened.corners, np.float32), corners) > 0.95


def test_a_scan_is_not_cropped_but_can_be_deskewed(tmp_path):
    scan = Image.fromarray(page_image(850, 1100, kind="table")[:, :, ::-1].copy()).rotate(
        2.0, fillcolor=(245, 245, 245), resample=Image.Resampling.BICUBIC
    )
    path = tmp_path / "scan.png"
    scan.save(path)
    with open_document(path) as doc:
        page = doc.page(0)
    assert page.image.size == (850, 1100) and not page.meta.get("flattened")
    with open_document(path, deskew=True) as doc:
        page = doc.page(0)
    assert abs(page.meta["deskew_degrees"] - (-2.0)) < 0.3 or abs(page.meta["deskew_degrees"] - 2.0) < 0.3


def test_a_page_index_past_the_end(tmp_path):
    pdf = make_pdf(tmp_path / "one.pdf", ["Only page"])
    with open_document(pdf) as doc:
        with pytest.raises(DocumentError, match="past the end"):
            doc.page(3)
        with pytest.raises(DocumentError, match="past the end"):
            list(doc.pages("2"))
    with pytest.raises(DocumentError, match="closed"):
        doc.page(0)


def test_documents_are_safe_to_render_from_two_threads(tmp_path):
    import concurrent.futures

    pdf = make_pdf(tmp_path / "many.pdf", [f"Threaded page {i}" for i in range(6)])
    with open_document(pdf, dpi=72) as doc, concurrent.futures.ThreadPoolExecutor(2) as pool:
        pages = list(pool.map(doc.page, range(6)))
    assert [p.text.split("\n")[0] for p in pages] == [f"Threaded page {i}" for i in range(6)]


def test_errors_are_sentences(tmp_path):
    path = Path(tmp_path / "x.bin")
    path.write_bytes(bytes([0xFF, 0x00, 0x13]) * 50)
    with pytest.raises(DocumentError) as err:
        open_document(path)
    text = str(err.value)
    assert text.endswith(".") and "Traceback" not in text and "\n" not in text


def test_the_cli_asks_for_a_pdf_password_on_a_terminal_and_not_without_one(tmp_path, monkeypatch):
    # GIVEN an encrypted PDF and no --password (so the password never lands in the shell's history)
    import argparse
    import getpass
    import sys

    from paperlens.commands.common import open_document as cli_open

    pdf = make_pdf(tmp_path / "secret.pdf", ["Top secret text"], user_pw="right")
    args = argparse.Namespace(file=str(pdf), password=None, dpi=None, no_flatten=False)
    answers = iter(["wrong", "right"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    # WHEN stdin is a terminal, THEN it is asked for (again after a wrong answer) and opens the PDF
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    with cli_open(args) as doc:
        assert "Top secret" in doc.page(0).text
    # WHEN there is no terminal (a script, CI), THEN nothing waits for input: the sentence says what to do
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    with pytest.raises(PasswordRequired):
        cli_open(args)
