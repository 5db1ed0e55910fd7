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
    # A kind of source is read by its reader (veille/sources/readers) with its kind's parser.
    ("sources", "parse"),
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


# The store owns every query: outside veille/store no module builds SQL or writes rows.
# These names of SQLAlchemy and SQLModel build statements or SQL expressions; Engine,
# Session (as a type), errors and make_url stay usable everywhere.
QUERY_BUILDERS = {
    "select",
    "update",
    "delete",
    "insert",
    "text",
    "func",
    "case",
    "cast",
    "literal",
    "literal_column",
    "column",
    "bindparam",
    "and_",
    "or_",
    "not_",
    "col",
}
# Calls that run a statement: on a session or connection outside the store, a query.
QUERY_CALLS = {"exec", "execute", "scalar", "scalars", "query"}
# ORM writes through a session (names the code base gives its sessions).
SESSION_WRITES = {"add", "add_all", "delete", "flush", "merge"}
SESSION_NAMES = {"session", "s"}
# Modules allowed to build queries for now, each with why. Remove a line once it holds.
QUERY_ALLOWED = {
    # Savepoints around Procrastinate's own defer (its tables, its SQL): transaction control
    # on the caller's connection, not a query of veille's tables.
    "queue/app.py": "savepoint around Procrastinate's defer",
}


def _queries(path: Path) -> list[str]:
    """Where a module builds or runs SQL: `line: what`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in {
            "sqlalchemy",
            "sqlmodel",
        }:
            found += [
                f"{node.lineno}: imports {node.module}.{a.name}"
                for a in node.names
                if a.name in QUERY_BUILDERS
            ]
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in {"sqlalchemy", "sa", "sqlmodel"}
            and node.attr in QUERY_BUILDERS
        ):
            found.append(f"{node.lineno}: uses {node.value.id}.{node.attr}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in QUERY_CALLS
        ):
            found.append(f"{node.lineno}: calls .{node.func.attr}()")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SESSION_WRITES
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in SESSION_NAMES
        ):  # session.add(row): an ORM write
            found.append(f"{node.lineno}: calls {node.func.value.id}.{node.func.attr}()")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and len(node.args) == 2
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id[:1].isupper()
        ):  # session.get(Item, id): a lookup by primary key
            found.append(f"{node.lineno}: calls .get({node.args[0].id}, …)")
    return found


def test_only_the_store_builds_queries() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if _component(path) == "store" or rel in QUERY_ALLOWED:
            continue
        wrong += [f"{rel}:{where} (move the query into veille/store)" for where in _queries(path)]
    assert not wrong, "\n".join(wrong)


def test_the_query_check_sees_every_form(tmp_path: Path) -> None:
    module = tmp_path / "stats.py"
    module.write_text(
        "import sqlalchemy as sa\n"
        "from sqlalchemy import func, text\n"
        "from sqlmodel import Session, select\n"
        "from sqlalchemy.engine import Engine\n"
        "def f(session: Session, engine: Engine):\n"
        "    session.exec(select(1))\n"
        "    session.get(Item, 1), request.session.get('uid', None), seen.add(1)\n"
        "    sa.update(None)\n"
        "    session.add(Item())\n"
        "    with engine.connect() as conn:\n"
        "        conn.execute(text('SELECT 1'))\n"
    )
    assert sorted(_queries(module), key=lambda s: int(s.split(":")[0])) == [
        "2: imports sqlalchemy.func",
        "2: imports sqlalchemy.text",
        "3: imports sqlmodel.select",
        "6: calls .exec()",
        "7: calls .get(Item, …)",
        "8: uses sa.update",
        "9: calls session.add()",
        "11: calls .execute()",
    ]
