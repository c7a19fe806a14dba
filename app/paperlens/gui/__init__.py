"""The PaperLens window (PySide6). Nothing here is needed by the CLI; the core never imports this package."""

from paperlens.gui import qtcompat as _qtcompat  # noqa: F401  (applies binding work-arounds before any widget exists)
