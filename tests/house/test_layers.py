"""The house rules that a reviewer would otherwise check by hand (docs/ARCHITECTURE.md, "Layers").

Imports are read from the source with `ast`, so a lazy import inside a function counts as
much as one at the top: a layer may not reach up even where a reader would not look.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Layer -> the kit packages it may import (itself included). `lambda/` is zipped alone and imports none.
ALLOWED = {
    "contract": {"contract"},
    "training": {"contract", "training"},
    "emulator": {"contract", "training", "emulator"},
    "deploy": {"contract", "training", "emulator", "deploy"},
    "bench": {"contract", "training", "emulator", "deploy", "bench"},
    "lambda": set(),
}
KIT = {"contract", "training", "emulator", "deploy", "bench"}
MAX_LINES = 600


def _sources(layer: str) -> list[Path]:
    return sorted(p for p in (ROOT / layer).rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _kit_imports(path: Path) -> set[str]:
    """Fully qualified kit modules `path` imports (best effort for `from pkg import name`)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] in KIT)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.split(".")[0] in KIT:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_no_import_runs_up_a_layer(layer: str) -> None:
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _sources(layer)
        for name in sorted(_kit_imports(path))
        if name.split(".")[0] not in ALLOWED[layer]
    ]
    assert not offences, "imports against the layer order:\n" + "\n".join(offences)


def test_no_import_cycle_between_modules() -> None:
    modules = {_module_name(p): p for layer in ALLOWED for p in _sources(layer)}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in _kit_imports(path):
            # `from pkg import mod` names a module when pkg.mod exists; else it is an attribute of pkg.
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and not name.startswith(imported + "."):
                targets.add(imported)
        graph[name] = targets
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_no_reference_to_a_document_outside_the_tree() -> None:
    offences = []
    skipped = {".git", ".venv", ".sagestack", "__pycache__"}
    paths = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in skipped]  # pruned, not walked: .venv alone has tens of thousands of files
        paths += [Path(folder) / name for name in files]
    for path in sorted(paths):
        if not path.is_file() or path.suffix not in {".py", ".md", ".toml", ".yml", ".cfg", ""}:
            continue
        if path == Path(__file__):
            continue
        text = path.read_text(errors="replace")
        if "DESIGN.md" in text:
            offences.append(str(path.relative_to(ROOT)))
    assert not offences, "these files cite DESIGN.md, which is not in the repository; cite docs/ARCHITECTURE.md:\n" + "\n".join(offences)
