"""The flow is the architecture: fail when an import runs against the layering table.

L0 types errors settings | L1 stages and store (siblings independent) | L2 pipeline |
L3 digest publish | L4 scheduler web | L5 cli demo
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "veille"
LEVELS = {
    "types": 0,
    "errors": 0,
    "settings": 0,
    "i18n": 0,
    "typography": 0,
    "locale": 0,
    "__init__": 0,
    "__main__": 5,
    "sources": 1,
    "fetch": 1,
    "parse": 1,
    "extract": 1,
    "dedupe": 1,
    "classify": 1,
    "store": 1,
    "pipeline": 2,
    "digest": 3,
    "publish": 3,
    "scheduler": 4,
    "web": 4,
    "metrics": 0,
    "cli": 5,
    "demo": 5,
}


def _component(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "veille" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_every_component_has_a_level() -> None:
    unknown = {_component(p) for p in PACKAGE.rglob("*.py")} - set(LEVELS)
    assert not unknown, f"add these to the layering table: {sorted(unknown)}"


def test_imports_follow_the_flow() -> None:
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        here = _component(path)
        for target in _imports(path) - {here}:
            lh, lt = LEVELS[here], LEVELS.get(target, 99)
            if lt > lh or (lh == lt == 1):
                wrong.append(f"{path.relative_to(PACKAGE)} imports veille.{target}")
    assert not wrong, "\n".join(sorted(wrong))
