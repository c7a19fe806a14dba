"""Files the app needs at run time (package data): the icon master and the sample document.

Found next to this module, so a wheel, an editable install and the PyInstaller bundle (which keeps package data at the
same relative place) all resolve them the same way. The desktop integration files made from them are in the
repository's top-level `resources/`.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
ICON_SVG = HERE / "paperlens.svg"
SAMPLE_PDF = HERE / "sample.pdf"
