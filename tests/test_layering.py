"""The flow is the architecture: fail when an import runs against the layering table.

L0 types errors settings | L1 stages and store (siblings independent) | L2 pipeline |
L3 digest publish | L4 scheduler queue web | L5 cli demo
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
    "queue": 4,
    "metrics": 0,
    "cli": 5,
    "demo": 5,
    "doctor": 3,
}
# Same-level imports the flow allows: the archive and feeds render what the digest chose; the
# web process hosts the scheduler; the CLI shells over the demo; `python -m veille` is the CLI.
ALLOWED = {
    ("publish", "digest"),
    ("web", "scheduler"),
    ("queue", "scheduler"),  # the workers' tick reads the scheduler's plan (digest time, zone)
    ("cli", "demo"),
    ("__main__", "cli"),
}


def _component(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path, root: Path = PACKAGE) -> set[str]:
    """The veille components a module imports, in every form: `import veille.x`,
    `from veille.x import y`, `from veille import x` and relative imports."""
    rel = path.relative_to(root)
    package = ["veille", *rel.parts[:-1]]  # the package the module lives in
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        modules: list[list[str]] = []
        if isinstance(node, ast.Import):
            modules = [a.name.split(".") for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = base + (node.module.split(".") if node.module else [])
            # `from veille import x` (or `from .. import x` up to veille) names components.
            modules = [module + [a.name] for a in node.names] if len(module) == 1 else [module]
        for parts in modules:
            if parts[0] == "veille" and len(parts) > 1:
                # `from veille import __version__`: a name of veille/__init__.py
                found.add(parts[1] if parts[1] in LEVELS else "__init__")
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
            # Same-level components never import each other (stages, digest and publish, …);
            # L0 modules are shared by everything.
            if (here, target) not in ALLOWED and (lt > lh or (lh == lt and lh > 0)):
                wrong.append(f"{path.relative_to(PACKAGE)} imports veille.{target}")
    assert not wrong, "\n".join(sorted(wrong))


def test_every_import_form_is_read(tmp_path: Path) -> None:
    module = tmp_path / "digest" / "issue.py"
    module.parent.mkdir()
    module.write_text(
        "import veille.fetch.client\n"
        "from veille.store import items\n"
        "from veille import publish, __version__\n"
        "from ..web import app\n"
        "from . import render\n"
        "from .. import scheduler\n"
    )
    found = _imports(module, root=tmp_path)
    assert found == {"fetch", "store", "publish", "__init__", "web", "digest", "scheduler"}
