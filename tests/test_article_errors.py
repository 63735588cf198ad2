"""docs/ARTICLE_ERRORS.md, the course's claim that it corrects its sources, stays checkable: every
row names a chapter, and every cell it cites as the place of a correction exists in that chapter's
notebook (cells are cited by their nbformat ids, which survive re-execution but not deletion)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "docs" / "ARTICLE_ERRORS.md"
CELL_ID = re.compile(r"^(c\d{2,3}|[0-9a-f]{8})$")


def _rows() -> list[dict]:
    rows = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if re.match(r"^\|\s*A00\d-\d+\s*\|", line):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows.append({"id": cells[0], "chapter": cells[-2], "shown": cells[-1]})
    return rows


def _cell_ids() -> dict[str, set[str]]:
    ids = {}
    for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        ids[path.name[:2]] = {c.get("id") for c in cells}
    return ids


def _citations(shown: str):
    """(chapter, cell id) pairs: each `;`-separated part starts with the chapter it cites."""
    for part in shown.split(";"):
        m = re.match(r"\s*(?:to add\b.*?\()?\s*(\d\d)\b", part)
        chapter = m.group(1) if m else None
        for group in re.findall(r"\(([^()]*)\)", part):
            for token in re.split(r"[,\s…]+", group):
                if CELL_ID.match(token):
                    yield chapter, token


def test_the_table_has_rows_with_unique_ids_and_a_chapter_each():
    rows = _rows()
    assert len(rows) >= 80, f"only {len(rows)} rows in {TABLE.name}"
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate ids in the table"
    for r in rows:
        assert re.fullmatch(r"0[1-7]", r["chapter"][:2]), f"{r['id']}: chapter column is {r['chapter']!r}"


@pytest.mark.parametrize("row", _rows(), ids=lambda r: r["id"])
def test_every_cited_cell_exists_in_its_notebook(row):
    ids = _cell_ids()
    for chapter, cell in _citations(row["shown"]):
        where = sorted(nn for nn, cells in ids.items() if cell in cells)
        assert where, f"{row['id']} cites cell {cell}, which no notebook has (deleted or renamed?)"
        if chapter:
            assert chapter in where, f"{row['id']} cites cell {cell} in {chapter}, but it is in {where}"
