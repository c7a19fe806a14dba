"""Is the model there, and is it loaded: the model-folder check, the banner that explains what is missing, and the
model and device shown in the status bar as the engine loads, fails or is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QWidget

from paperlens.gui.firstrun import ModelBanner
from paperlens.gui.jobs import JobRunner
from paperlens.gui.notice import NoticeBar
from paperlens.gui.settings import Settings
from paperlens.gui.statusbar import StatusBar
from paperlens.gui.worker import ModelHost


@dataclass
class ModelCheck:
    """What a look at the model folder found, for the banner and the status bar."""

    complete: bool
    message: str = ""
    text_model: str = ""
    folder: str = ""
    models: Any = None  # the ModelSet: its identity keys the cached results shown when a document is reopened


def default_model_check(settings_dir: str) -> ModelCheck:
    """Scan the model folder (reads GGUF headers: done on a pool thread)."""
    from paperlens.core.models import missing_models_message, resolve_model_dir, scan_model_dir

    folder = resolve_model_dir(None, settings_dir or None)
    found = scan_model_dir(folder)
    if found.complete:
        return ModelCheck(True, text_model=found.text.path.name, folder=str(folder), models=found)
    return ModelCheck(False, missing_models_message(found), folder=str(folder), models=found)


def still_missing(result: ModelCheck) -> str:
    """What Check Again says when the model is still incomplete: the parts missing, in a few words."""
    found = result.models
    parts = []
    if found is not None and getattr(found, "text", 1) is None:
        parts.append("the text model")
    if found is not None and not getattr(found, "projectors", True):
        parts.append("the vision projector")
    what = " and ".join(parts) or "the model files"
    return f"Still missing: {what}" + (f" in {result.folder}." if result.folder else ".")


class ModelStatus(QObject):
    """Checks the model folder and follows the engine's state. `ok` is None until the first check has answered.

    Emits `changed` when a check has answered (Parse is enabled only with a model, or with a server to run it).
    """

    changed = Signal()

    def __init__(
        self,
        parent: QWidget,
        *,
        settings: Settings,
        host: ModelHost,
        jobs: JobRunner,
        banner: ModelBanner,
        status: StatusBar,
        notice: NoticeBar,
        check: Callable[[str], ModelCheck] | None,
        engine_options: Callable[[], Any],
        on_models: Callable[[Any], None],
        real_engine: bool,
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self.settings = settings
        self.host = host
        self.jobs = jobs
        self.banner = banner
        self.status = status
        self.notice = notice
        self._check = check
        self.files_report = ""  # the last Model Files… report (shown in a message box)
        self.files_box: Any = None
        self._engine_options = engine_options
        self._on_models = on_models
        self._real_engine = real_engine
        self.ok: bool | None = None
        self.engine_info: Any = None
        self.engine_failure = ""
        banner.open_folder.connect(self.open_folder)
        banner.choose_folder.connect(self.choose_folder)
        banner.check_again.connect(self.check_again)
        banner.download.connect(self.download)
        self.download_dialog: Any = None
        self._load_after_check = False
        self._say_result = False  # Check Again was pressed: say what the check found, even if nothing changed
        host.loading.connect(self._on_loading)
        host.engine_ready.connect(self._on_engine_ready)
        host.engine_failed.connect(self._on_engine_failed)
        self.show_device()

    @property
    def no_model(self) -> str:
        """Why no page can be parsed here ("" when the model is there, is still being checked, or is a server's)."""
        if self.ok is not False or self.settings.uses_server:
            return ""
        return (
            "it is not installed yet (see Download Model… above)."
            if self.banner.kind == "missing"
            else "its folder could not be checked (see above)."
        )

    # the model folder
    def check(self) -> None:
        """Look at the model folder in the background; the banner explains what is missing."""
        if self._check is None:
            self.ok = True
            self.status.set_model("not loaded")
            return
        if (
            self.settings.uses_server
        ):  # the model lives on the server: no folder to check, nothing to download
            self.ok = True
            if self.banner.kind == "missing":
                self.banner.clear()
            if self.engine_info is None:
                self.status.set_model(f"on {self.settings.server_url.strip()} (not connected)")
            self._said(f"The model runs on {self.settings.server_url.strip()}: nothing to check here.")
            self.changed.emit()
            return
        check, folder = self._check, self.settings.model_dir
        self.jobs.submit(lambda: check(folder), self._checked, self._check_failed)

    def _checked(self, result: ModelCheck) -> None:
        self.ok = result.complete
        self._on_models(result.models)
        if result.complete and self._real_engine:
            self.host.preimport()
        if result.complete and self._load_after_check:
            self.host.preload()  # just downloaded: load it now, no restart
        self._load_after_check = False
        if result.complete:
            if self.banner.kind == "missing":
                self.banner.clear()
            if self.engine_info is None:
                self.status.set_model(f"{result.text_model} (not loaded)")
        else:
            from paperlens.core.models import OFFICIAL_URL

            self.status.set_model("not installed")
            self.banner.show_missing(result.message, OFFICIAL_URL)
        self._said(f"Model found: {result.text_model}." if result.complete else still_missing(result))
        self.changed.emit()

    def _check_failed(self, message: str) -> None:
        self.ok = False
        self.status.set_model("unknown")
        self.banner.show_failure(message)
        self._said(f"The model folder could not be checked: {message}")
        self.changed.emit()

    def _said(self, text: str) -> None:
        """After Check Again, the status bar says what the check found (the banner alone may look unchanged)."""
        if self._say_result:
            self._say_result = False
            self.status.showMessage(text, 8000)

    def show_files(self) -> None:
        """Model > Model Files…: the same report as `paperlens models`, built off the GUI thread."""
        from paperlens.core.download import folder_report

        folder = self.folder()
        self.jobs.submit(lambda: folder_report(folder), self._files_listed, self._check_failed)

    def _files_listed(self, lines: list[str]) -> None:
        from PySide6.QtGui import QFontDatabase
        from PySide6.QtWidgets import QMessageBox

        self.files_report = "\n".join(lines)
        box = QMessageBox(QMessageBox.Icon.Information, "Model files", lines[0], parent=self._parent)
        box.setInformativeText("\n".join(lines[1:]))
        box.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        box.setTextFormat(Qt.TextFormat.PlainText)
        self.files_box = box
        box.open()

    def folder(self) -> Path:
        from paperlens.core.models import resolve_model_dir

        return resolve_model_dir(None, self.settings.model_dir or None)

    @Slot()
    def open_folder(self) -> None:
        folder = self.folder()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.notice.show_error(f"Cannot create the model folder {folder} ({exc.strerror}).")
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
        self.status.showMessage(f"Model folder: {folder}", 8000)

    @Slot()
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self._parent, "Folder with the model files", str(self.folder())
        )
        if folder:
            self.settings.model_dir = folder
            self.host.configure(self._engine_options())
            self.check_again()

    @Slot()
    def download(self) -> None:
        """The Download Model dialog (one at a time); when the files are in place the model is loaded."""
        from paperlens.gui.download_dialog import DownloadDialog

        if self.download_dialog is not None and self.download_dialog.isVisible():
            self.download_dialog.raise_()
            return
        self.download_dialog = DownloadDialog(self.settings, self.folder(), self.jobs, self._parent)
        self.download_dialog.downloaded.connect(self._downloaded)
        self.download_dialog.open()

    @Slot(object)
    def _downloaded(self, result) -> None:
        self.status.showMessage("Model downloaded and verified.", 6000)
        self._load_after_check = True
        self.check_again()

    @Slot()
    def check_again(self) -> None:
        self._say_result = True
        self.host.reload()
        self.engine_info = None
        self.banner.clear()
        self.status.set_model("checking…")
        self.check()

    # the engine
    def unloaded(self) -> None:
        """The settings changed: the engine is dropped and loads again (with the new settings) on the next run."""
        if self.engine_info is not None:
            self.status.set_model(f"{self.engine_info.text_model} (not loaded)")
        self.engine_info = None
        self.show_device()

    def show_device(self) -> None:
        self.status.set_device(self.engine_info, self.settings.device)

    @Slot(str)
    def _on_loading(self, message: str) -> None:
        self.status.showMessage(message)
        self.status.set_model("loading…")
        self.status.show_working()

    @Slot(object)
    def _on_engine_ready(self, info) -> None:
        self.engine_info = info
        self.engine_failure = ""
        self.status.set_model(info.text_model, f"{info.text_model} + {info.projector} ({info.mode})")
        self.show_device()
        if self.banner.kind:
            self.banner.clear()
        self.status.showMessage(f"Model loaded in {getattr(info, 'load_s', 0.0):.1f} s.", 4000)

    @Slot(str, str)
    def _on_engine_failed(self, message: str, kind: str) -> None:
        self.engine_failure = message
        self.engine_info = None
        self.show_device()
        if kind == "missing":
            from paperlens.core.models import OFFICIAL_URL

            self.status.set_model("not installed")
            self.banner.show_missing(message, OFFICIAL_URL)
        else:
            self.status.set_model("failed to load")
            self.banner.show_failure(message)
