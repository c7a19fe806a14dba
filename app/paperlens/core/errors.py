"""Our own exception types. Each carries one sentence a user understands: what happened and what to do.

Code that catches a third-party failure (llama.cpp, pymupdf, Pillow, OpenCV, sqlite) turns it into one of these, so
the CLI can print `str(error)` and exit non-zero, and the window can show it, without a traceback.
"""

from __future__ import annotations


def reason(exc: BaseException) -> str:
    """A third-party exception's own words, short, for the end of one of our sentences (no final full stop)."""
    text = str(exc).strip().rstrip(".") or type(exc).__name__
    return text[:200]


class PaperLensError(Exception):
    """Base class: `str(err)` is the user-facing sentence."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


# --- models and the engine -------------------------------------------------------------------------------------------
class ModelError(PaperLensError):
    """Something is wrong with the model files (missing, corrupt, of another model)."""

    exit_code = 3


class ModelNotFound(ModelError):
    """No usable text model or projector in the model folder."""


class ModelInvalid(ModelError):
    """A file is truncated, corrupt, not GGUF, or not a MiniCPM-V 4.6 file."""


class ProjectorMismatch(ModelError):
    """The projector does not belong to the text model."""


class EngineError(PaperLensError):
    """The engine could not run a task."""

    exit_code = 4


class EngineNotLoaded(EngineError):
    pass


class PageRunError(EngineError):
    """One page could not be run (a server timed out or kept failing for it); the other pages may still run."""


class ImageDecodeError(EngineError):
    """The page image could not be decoded or is empty."""


class ContextOverflow(EngineError):
    """The prompt (image tokens + text) would not fit in the context window."""


class OutOfMemory(EngineError):
    """llama.cpp could not allocate memory for the model, the context or the image."""


# --- downloading the model ----------------------------------------------------------------------------------------
class DownloadError(PaperLensError):
    """Getting the model files from the hub (or a mirror) failed; nothing half-written is left in the model folder."""

    exit_code = 8


class HubUnreachable(DownloadError):
    """The server could not be reached (no network, wrong mirror address, proxy, timeout)."""


class RemoteNotFound(DownloadError):
    """The repository, revision or file does not exist on the server (or needs a token)."""


class ChecksumMismatch(DownloadError):
    """A downloaded file's SHA-256 differs from the one the hub published: the file was deleted."""


class NotEnoughSpace(DownloadError):
    """The disk does not have room for the download; refused before anything was fetched."""


class DownloadCancelled(DownloadError):
    """Stopped by the user (Cancel, Ctrl-C); the partial file is kept so the next download resumes."""

    exit_code = 130


# --- documents ------------------------------------------------------------------------------------------------------
class DocumentError(PaperLensError):
    """A document (PDF, image) could not be opened or a page could not be rendered."""

    exit_code = 2


class PasswordRequired(DocumentError):
    """The PDF is encrypted and no password was given."""


class WrongPassword(DocumentError):
    """The password given does not open the PDF."""


class ImageTooLarge(DocumentError):
    """The image has more pixels than we are willing to decode (decompression bomb guard)."""


class CameraError(PaperLensError):
    """The camera is missing, busy, or stopped sending frames."""

    exit_code = 5


# --- results ---------------------------------------------------------------------------------------------------------
class ExportError(PaperLensError):
    """A result could not be written (missing or read-only folder, full disk, bad name)."""

    exit_code = 6


class LibraryError(PaperLensError):
    """The results database could not be opened or written."""

    exit_code = 7
