"""docs/ARCHITECTURE.md stays true: the files it sends a newcomer to exist, and modules stay small."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "ARCHITECTURE.md"
SOURCE_DIRS = ("contract", "training", "emulator", "deploy", "lambda", "bench")
MAX_LINES = 600


def _where_to_change_rows() -> list[tuple[str, str]]:
    text = DOC.read_text()
    section = text.split("## Where to change what", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] not in ("to change", "---"):
            rows.append((cells[0], cells[1]))
    return rows


def test_every_file_the_map_names_exists() -> None:
    rows = _where_to_change_rows()
    assert len(rows) >= 4, "the 'Where to change what' table lost its rows"
    missing = []
    for what, where in rows:
        for path in re.findall(r"`([\w./-]+/[\w./-]*)`", where):
            if not (ROOT / path).exists():
                missing.append(f"{what}: {path}")
    assert not missing, "docs/ARCHITECTURE.md names files that do not exist:\n" + "\n".join(missing)


def test_the_four_questions_a_newcomer_asks_are_answered() -> None:
    wanted = ("CSV parsing", "state machine", "API Gateway resource", "timeout enforcement")
    rows = " ".join(what for what, _ in _where_to_change_rows())
    assert all(w in rows for w in wanted), f"the map must answer: {wanted}"


def test_no_source_file_over_the_limit() -> None:
    long = []
    for top in SOURCE_DIRS:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            n = len(path.read_text().splitlines())
            if n > MAX_LINES:
                long.append(f"{path.relative_to(ROOT)}: {n} lines")
    assert not long, f"split these modules (house rule: at most {MAX_LINES} lines):\n" + "\n".join(long)
