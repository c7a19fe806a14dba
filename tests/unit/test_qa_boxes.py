"""Where an answer came from is kept with the answer in the library, and a library made before that still opens."""

from __future__ import annotations

import sqlite3

from paperlens.core.library import Library
from paperlens.core.results.boxes import boxes_from_json, boxes_to_json, parse_boxes


def test_boxes_are_kept_with_their_answer(tmp_path):
    lib = Library(tmp_path / "lib.sqlite3")
    qa = lib.add_qa("/docs/invoice.pdf", "Total?", "42.00", page=1)
    other = lib.add_qa("/docs/invoice.pdf", "Date?", "30 June", page=1)
    boxes = parse_boxes("<ref>Total</ref><box>100 800 400 820</box>")
    lib.set_qa_boxes(qa, boxes_to_json(boxes))
    first, second = lib.qa_history("/docs/invoice.pdf")
    assert (first.id, boxes_from_json(first.boxes)) == (qa, boxes)
    assert (second.id, second.boxes) == (other, [])
    lib.close()


def test_a_library_from_before_the_boxes_opens_and_keeps_its_answers(tmp_path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE documents (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, title TEXT NOT NULL DEFAULT '',
            page_count INTEGER NOT NULL DEFAULT 0, file_size INTEGER, file_mtime_ns INTEGER, added_at REAL NOT NULL,
            opened_at REAL NOT NULL);
        CREATE TABLE qa (id INTEGER PRIMARY KEY, document_id INTEGER REFERENCES documents(id) ON DELETE CASCADE,
            page INTEGER, question TEXT NOT NULL, answer TEXT NOT NULL, pages_used TEXT NOT NULL DEFAULT '[]',
            model_id TEXT NOT NULL DEFAULT '', mode TEXT NOT NULL DEFAULT '', stats TEXT NOT NULL DEFAULT '{}',
            created_at REAL NOT NULL);
        INSERT INTO documents VALUES (1, '/docs/a.pdf', 'a', 1, NULL, NULL, 0, 0);
        INSERT INTO qa (document_id, page, question, answer, created_at) VALUES (1, 1, 'Total?', '42.00', 1);
        PRAGMA user_version = 2;
        """
    )
    conn.close()
    lib = Library(path)
    (old,) = lib.qa_history("/docs/a.pdf")
    assert (old.question, old.answer, old.boxes) == ("Total?", "42.00", [])
    lib.set_qa_boxes(old.id, [{"label": "", "x0": 1, "y0": 2, "x1": 300, "y1": 40}])
    assert lib.qa_history("/docs/a.pdf")[0].boxes[0]["x1"] == 300
    lib.close()
