"""Small dialogs: the PDF password prompt, the settings, and the question before a re-run replaces a hand edit.

The settings dialog edits a copy of the values and writes them only on OK, so Cancel really cancels; the window then
compares the engine settings before and after to decide whether the model must be reloaded.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from paperlens.core.options import DEVICES, MODES
from paperlens.gui.settings import Settings


def confirm_replace_edit(parent: QWidget, page: int) -> bool:
    """Parse Again on a page the user edited: the edit goes only when the user says so (No is the default)."""
    answer = QMessageBox.question(
        parent,
        "Parse Page Again",
        f"Page {page} has your own edits. Read it again and replace them with the model's new text?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


class PasswordDialog(QDialog):
    """Asks for the password of an encrypted PDF; shows why the last one failed."""

    def __init__(self, name: str, reason: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Password needed")
        self.label = QLabel(f"<b>{html.escape(name)}</b> is protected by a password.")
        self.label.setWordWrap(True)
        self.reason = QLabel(reason)
        self.reason.setStyleSheet("color: #c0392b;")
        self.reason.setVisible(bool(reason))
        self.edit = QLineEdit()
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setPlaceholderText("Password")
        self.edit.setAccessibleName("Password")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.reason)
        layout.addWidget(self.edit)
        layout.addWidget(buttons)
        # wide enough for its title and the file name line (a title bar does not elide it nicely on every desktop)
        room = self.fontMetrics().horizontalAdvance(self.windowTitle()) + 160
        self.setMinimumWidth(max(360, room))

    @property
    def password(self) -> str:
        return self.edit.text()


class SettingsDialog(QDialog):
    """Model folder, mode, device and GPU layers, threads, render DPI."""

    def __init__(self, settings: Settings, default_model_dir: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        self.model_dir = QLineEdit(settings.model_dir)
        self.model_dir.setPlaceholderText(default_model_dir)
        self.model_dir.setToolTip("Leave empty to use the default folder shown in grey.")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.model_dir, 1)
        folder_row.addWidget(browse)
        folder = QWidget()
        folder.setLayout(folder_row)
        folder_row.setContentsMargins(0, 0, 0, 0)

        self.mode = QComboBox()
        for m in MODES:
            self.mode.addItem(
                {
                    "4x": "4x (dense OCR, best for small print)",
                    "16x": "16x (about 3x faster, for plain pages)",
                    "auto": "Auto (4x for dense pages, 16x for sparse ones)",
                }[m],
                m,
            )
        self.mode.setCurrentIndex(max(0, self.mode.findData(settings.mode)))
        self.device = QComboBox()
        for d in DEVICES:
            self.device.addItem({"auto": "Automatic (GPU if available)", "cpu": "CPU", "gpu": "GPU"}[d], d)
        self.device.setCurrentIndex(max(0, self.device.findData(settings.device)))
        self.gpu_layers = QSpinBox()
        self.gpu_layers.setRange(-1, 999)
        self.gpu_layers.setSpecialValueText("All")
        self.gpu_layers.setValue(settings.gpu_layers)
        self.gpu_layers.setToolTip("Text-model layers to put on the GPU; fewer layers use less GPU memory.")
        self.threads = QSpinBox()
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText("Automatic (physical cores)")
        self.threads.setValue(settings.threads)
        self.dpi = QSpinBox()
        self.dpi.setRange(0, 600)
        self.dpi.setSingleStep(25)
        self.dpi.setSpecialValueText("Automatic (what the model can use)")
        self.dpi.setValue(settings.dpi)
        self.dpi.setToolTip(
            "Resolution PDF pages are rendered at; applies to documents opened after the change."
        )
        self.low_memory = QCheckBox("Low memory (a Q8_0 copy of the projector, made once)")
        self.low_memory.setChecked(settings.low_memory)
        self.low_memory.setToolTip("About 270 MB less RAM for a little slower pages (about 7 % on a CPU).")
        self.run_on = QComboBox()
        self.run_on.addItem("This computer", "local")
        self.run_on.addItem("A server (OpenAI-compatible URL)", "remote")
        self.run_on.setCurrentIndex(max(0, self.run_on.findData(settings.run_on)))
        self.server_url = QLineEdit(settings.server_url)
        self.server_url.setPlaceholderText("http://gpu-server:8000")
        self.server_url.setToolTip(
            "llama.cpp's llama-server, vLLM, SGLang or Ollama serving MiniCPM-V 4.6. Pages are sent there; an API "
            "key is read from the PAPERLENS_API_KEY environment variable. See the README's Scaling out."
        )
        self.device.currentIndexChanged.connect(self._device_changed)
        self.run_on.currentIndexChanged.connect(self._device_changed)
        self._device_changed()

        form = QFormLayout()
        form.addRow("Run the model on:", self.run_on)
        form.addRow("Server URL:", self.server_url)
        form.addRow("Model folder:", folder)
        form.addRow("Mode:", self.mode)
        form.addRow("Device:", self.device)
        form.addRow("GPU layers:", self.gpu_layers)
        form.addRow("CPU threads:", self.threads)
        form.addRow("Render DPI:", self.dpi)
        form.addRow("Memory:", self.low_memory)
        note = QLabel("Changing the model, mode or device reloads the model before the next run.")
        note.setWordWrap(True)
        note.setStyleSheet("color: gray;")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)

    def _browse(self) -> None:
        start = self.model_dir.text() or self.model_dir.placeholderText()
        folder = QFileDialog.getExistingDirectory(self, "Model folder", start)
        if folder:
            self.model_dir.setText(folder)

    def _device_changed(self, *_args) -> None:
        local = self.run_on.currentData() == "local"
        self.gpu_layers.setEnabled(local and self.device.currentData() != "cpu")
        self.server_url.setEnabled(not local)
        for w in (self.device, self.threads, self.low_memory):
            w.setEnabled(local)

    def apply(self) -> None:
        """Write the dialog's values into the settings (called after OK)."""
        s = self.settings
        s.model_dir = self.model_dir.text().strip()
        s.mode = self.mode.currentData()
        s.device = self.device.currentData()
        s.gpu_layers = self.gpu_layers.value()
        s.threads = self.threads.value()
        s.dpi = self.dpi.value()
        s.low_memory = self.low_memory.isChecked()
        s.run_on = self.run_on.currentData()
        s.server_url = self.server_url.text().strip()
        s.sync()

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        # Enter in the folder field must not close the dialog half-edited.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.model_dir.hasFocus():
            return
        super().keyPressEvent(event)
