"""PaperLens: an offline document scanner built on a local MiniCPM-V 4.6."""

import os as _os

__version__ = "0.1.0"
APP_NAME = "PaperLens"

# Offline by default: huggingface_hub (used only to download the model) can send requests of its own when imported or
# called (update checks, telemetry). It reads these switches once, at import, so they are set here, before any module
# of ours can import it. `paperlens.core.download.online()` lifts the offline switch for an explicit download only.
_os.environ["HF_HUB_OFFLINE"] = "1"
_os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
_os.environ.setdefault("HF_HUB_DISABLE_UPDATE_CHECK", "1")
_os.environ.setdefault("DO_NOT_TRACK", "1")
