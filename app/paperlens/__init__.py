"""PaperLens: an offline document scanner built on a local MiniCPM-V 4.6."""

__version__ = "0.1.0"
APP_NAME = "PaperLens"
