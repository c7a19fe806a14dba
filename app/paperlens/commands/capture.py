"""`paperlens capture`: one flattened page from a camera, a phone's stream or a video file, saved as an image.

Building the parser needs neither OpenCV nor numpy (the core's capture module is imported only to run).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from paperlens.commands import Command
from paperlens.core.capture import ENHANCE_MODES
from paperlens.core.errors import PaperLensError

if TYPE_CHECKING:
    from paperlens.core.capture import Frame, Quad, SteadyTracker

_SAVE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source",
        default="0",
        help="camera number (0 is the first), a stream URL (a phone IP-camera app: http://PHONE:8080/video, "
        "rtsp://...), or a video file (default: 0)",
    )
    p.add_argument("-o", "--output", required=True, help="where to save the page (.png, .jpg, .webp, .tif)")
    p.add_argument(
        "--enhance",
        nargs="?",
        const="color",
        default=None,
        choices=ENHANCE_MODES,
        metavar="MODE",
        help="clean the page up: color (default when given), gray, or scan (black and white)",
    )
    p.add_argument(
        "--format", choices=("text", "json"), default="text", help="json also prints the corners found"
    )
    p.add_argument(
        "--timeout", type=float, default=15.0, help="seconds to wait for a steady page (default 15)"
    )
    p.add_argument("--hold", type=float, default=1.0, help="seconds the page must hold still (default 1)")
    p.add_argument("--rotate", type=int, default=0, help="quarter turns clockwise to apply (e.g. 1 or -1)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def run(args: argparse.Namespace) -> int:
    """Handler for `paperlens capture`; raises PaperLensError for the CLI to print."""
    from paperlens.core.capture import capture_page

    output = Path(args.output)
    fmt = _SAVE_FORMATS.get(output.suffix.lower())
    if fmt is None:
        raise PaperLensError(
            f"Cannot save a page as {output.suffix or 'a file without an extension'}; use .png, .jpg, .webp or .tif."
        )
    if not output.parent.exists():
        raise PaperLensError(f"The folder {str(output.parent)!r} does not exist.")
    quiet = getattr(args, "quiet", False)
    shown = {"last": -1.0}

    def progress(frame: Frame, quad: Quad | None, tracker: SteadyTracker) -> None:
        if quiet or frame.time_s - shown["last"] < 0.5:
            return
        shown["last"] = frame.time_s
        state = "no page in view" if quad is None else f"page found ({quad.confidence:.0%}), hold still"
        print(f"[{frame.time_s:5.1f}s] {state}", file=sys.stderr)

    result = capture_page(
        args.source,
        enhance=args.enhance or False,
        timeout_s=args.timeout,
        hold_s=args.hold,
        quarter_turns=args.rotate,
        on_frame=progress,
    )
    try:
        image = result.page.image
        save_kwargs = {"quality": 92} if fmt in ("JPEG", "WEBP") else {}
        image.save(output, format=fmt, **save_kwargs)
    except OSError as exc:
        raise PaperLensError(
            f"The page could not be saved to {str(output)!r}: {exc.strerror or exc}."
        ) from exc
    if args.format == "json":
        print(json.dumps({"output": str(output), "source": result.page.source, **result.to_json()}))
    elif not quiet:
        how = "steady" if result.steady else "never steady; the surest frame was used"
        print(
            f"Saved {output} ({image.width}x{image.height}) from {result.page.source}: page found with "
            f"confidence {result.confidence:.2f} ({how}).",
            file=sys.stderr,
        )
    return 0


COMMAND = Command(
    name="capture",
    help="grab one flattened page from a camera, a phone stream or a video file",
    description="Point a camera at a page: when the page has held still for about a second it is found, "
    "flattened and saved. No window is opened.",
    add_arguments=add_arguments,
    run=run,
)
