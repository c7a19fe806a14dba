"""The Qt-free heart of PaperLens: documents, the engine, results. Never import Qt here."""
