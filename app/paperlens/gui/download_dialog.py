"""The *Download Model* dialog: what the repository offers (quantizations, sizes, the projector, the total, the free
disk space), then the download's progress per file (bytes, speed, time left) with Cancel.

All network and disk work runs on the window's job pool (`core.download` does it, Qt-free); its progress callback
is turned into a queued signal here, so the GUI thread only ever updates labels.
"""

from __future__ import annotations

import dataclasses
import html
import shutil
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from paperlens.gui.jobs import JobRunner
from paperlens.gui.settings import Settings


def _gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:,.0f} MB"


class DownloadDialog(QDialog):
    """Lists the offer on open; Download fetches the chosen set; `downloaded` fires when the folder is complete."""

    progressed = Signal(
        object
    )  # core.download.Progress, emitted from the pool thread (queued to the GUI thread)
    downloaded = Signal(object)  # core.download.DownloadResult

    def __init__(
        self, settings: Settings, folder: Path, jobs: JobRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        from paperlens.core.download import hub_endpoint
        from paperlens.core.models import OFFICIAL_REPO

        self.setWindowTitle("Download the Model")
        self.settings = settings
        self.folder = folder
        self.jobs = jobs
        self.repo = OFFICIAL_REPO
        self.offer: Any = None
        self.cancel_event = threading.Event()
        self.running = False
        self.last_progress: Any = None
        self.error = ""

        self.endpoint = QLineEdit(settings.hub_endpoint)
        self.endpoint.setPlaceholderText(hub_endpoint())
        self.endpoint.setToolTip("A mirror of the hub (leave empty for $HF_ENDPOINT or huggingface.co).")
        self.refresh_button = QPushButton("List Again")
        self.quant = QComboBox()
        self.projector_label = QLabel("…")
        self.total_label = QLabel("…")
        self.space_label = QLabel("…")
        self.file_label = QLabel("")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.status = QLabel(f"Listing {self.repo} …")
        self.status.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Mirror:", self.endpoint)
        form.addRow("", self.refresh_button)
        form.addRow("Text model:", self.quant)
        form.addRow("Projector:", self.projector_label)
        form.addRow("Total:", self.total_label)
        form.addRow("Disk:", self.space_label)
        self.buttons = QDialogButtonBox()
        self.download_button = self.buttons.addButton("Download", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.download_button.setEnabled(False)
        self.download_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel_or_close)
        self.refresh_button.clicked.connect(self.list_offer)
        self.quant.currentIndexChanged.connect(self._choice_changed)
        self.progressed.connect(self._on_progress)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(f"MiniCPM-V 4.6 from <b>{html.escape(self.repo)}</b>, into {html.escape(str(folder))}")
        )
        layout.addLayout(form)
        layout.addWidget(self.file_label)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(560)
        self.list_offer()

    # --- the offer ---
    def endpoint_url(self) -> str:
        from paperlens.core.download import hub_endpoint

        return hub_endpoint(self.endpoint.text().strip() or None)

    @Slot()
    def list_offer(self) -> None:
        from paperlens.core.download import fetch_offer

        self.download_button.setEnabled(False)
        self.status.setText(f"Listing {self.repo} at {self.endpoint_url()} …")
        repo, endpoint = self.repo, self.endpoint_url()
        self.jobs.submit(lambda: fetch_offer(repo, endpoint=endpoint), self._listed, self._failed)

    def _listed(self, offer: Any) -> None:
        from paperlens.core.download import DEFAULT_QUANT

        self.offer = offer
        self.quant.blockSignals(True)
        self.quant.clear()
        for f in offer.texts:
            self.quant.addItem(f"{f.quantization or '?'}  ({_gb(f.size)})  {f.name}", f.quantization)
        self.quant.setCurrentIndex(max(0, self.quant.findData(DEFAULT_QUANT)))
        self.quant.blockSignals(False)
        self._choice_changed()
        self.status.setText(
            f"{len(offer.texts)} text models and {len(offer.projectors)} projector(s) offered."
        )

    def choice(self) -> Any:
        return self.offer.choose(self.quant.currentData()) if self.offer is not None else None

    def _choice_changed(self, *_args) -> None:
        from paperlens.core.download import existing_parent, space_needed
        from paperlens.core.errors import PaperLensError

        try:
            choice = self.choice()
        except PaperLensError as exc:
            self._failed(str(exc))
            return
        if choice is None:
            return
        self.projector_label.setText(f"{choice.projector.name} ({_gb(choice.projector.size)})")
        self.total_label.setText(
            f"{_gb(choice.total)} to download, plus {_gb(choice.derived_size)} for the 4x projector made from it"
        )
        need = space_needed(choice, self.folder)
        free = shutil.disk_usage(existing_parent(self.folder)).free
        self.space_label.setText(f"{_gb(need)} needed, {_gb(free)} free")
        self.download_button.setEnabled(not self.running and need <= free)

    # --- the download ---
    @Slot()
    def start(self) -> None:
        from paperlens.core.download import download_model

        choice = self.choice()
        if choice is None or self.running:
            return
        self.settings.hub_endpoint = self.endpoint.text().strip()
        self.running = True
        self.error = ""
        self.cancel_event.clear()
        self.download_button.setEnabled(False)
        self.quant.setEnabled(False)
        self.status.setText("Starting …")
        offer, folder, cancel, emit = self.offer, self.folder, self.cancel_event, self.progressed.emit

        def work():
            return download_model(
                offer, choice, folder, progress=lambda p: emit(dataclasses.replace(p)), cancel=cancel
            )

        self.jobs.submit(work, self._done, self._stopped)

    @Slot(object)
    def _on_progress(self, p: Any) -> None:
        self.last_progress = p
        self.file_label.setText(f"File {min(p.index + 1, p.count)} of {p.count}: {p.file}")
        self.bar.setValue(int(1000 * p.done / p.total) if p.total else 0)
        self.status.setText(p.describe())

    def _done(self, result: Any) -> None:
        self.running = False
        self.bar.setValue(1000)
        self.status.setText("The model is downloaded and verified; loading it …")
        self.cancel_button.setText("Close")
        self.downloaded.emit(result)
        self.accept()

    def _stopped(self, message: str) -> None:
        self.running = False
        self.quant.setEnabled(True)
        self._failed(message)

    def _failed(self, message: str) -> None:
        self.error = message
        self.status.setText(message)
        self.download_button.setEnabled(self.offer is not None and not self.running)
        if self.offer is not None:
            self.download_button.setText("Download (continues)")

    @Slot()
    def cancel_or_close(self) -> None:
        """Cancel stops a running download (the partial file is kept); otherwise it closes the dialog."""
        if self.running:
            self.cancel_event.set()
            self.status.setText("Stopping …")
        else:
            self.reject()

    def reject(self) -> None:
        self.cancel_event.set()  # closing the dialog mid-download stops it; what arrived is kept for next time
        super().reject()
