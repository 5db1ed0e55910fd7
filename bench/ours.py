"""Driving veille through its stable interfaces only: the CLI as a subprocess, the store file.

Every run gets its own data folder and sources file through VEILLE_* variables, runs in that
folder (so no .env of the checkout is read), and may fetch loopback (VEILLE_ALLOW_NETWORKS).
Timeouts are set to 5 s (read, connect) and 15 s (whole request) for veille and the peers
alike, so a hanging server costs every client the same.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

from bench.measure import Run, run_measured

VEILLE = [sys.executable, "-m", "veille"]
# `veille` under pyinstrument, started with -c rather than `pyinstrument -m veille`: the
# pipeline's forkserver re-imports the parent's __main__, which must not be pyinstrument's.
PROFILED = """import sys
from pyinstrument import Profiler
out, sys.argv = sys.argv[1], ["veille", *sys.argv[2:]]
profiler = Profiler()
profiler.start()
try:
    from veille.cli import main
    main()
finally:
    profiler.stop()
    open(out, "w").write(profiler.output_text())
"""


def env_for(data_dir: Path, sources: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEILLE_")}
    env.update(
        VEILLE_DATA_DIR=str(data_dir),
        VEILLE_SOURCES=str(sources),
        VEILLE_ALLOW_NETWORKS="127.0.0.0/8",
        VEILLE_CONNECT_TIMEOUT="5",
        VEILLE_READ_TIMEOUT="5",
        VEILLE_TOTAL_TIMEOUT="15",
        VEILLE_LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def write_sources(path: Path, urls: list[str]) -> Path:
    """A feeds.yaml following every URL as a French feed."""
    lines = ["sources:" if urls else "sources: []"]
    for i, url in enumerate(urls):
        lines += [
            f"  - name: bench-{i:05d}",
            f"    url: {url}",
            "    kind: feed",
            "    language: fr",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


class Veille:
    """One veille installation: a data folder, its sources, its environment."""

    def __init__(self, home: Path, urls: list[str], **extra_env: str) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.data = home / "data"
        self.sources = write_sources(home / "feeds.yaml", urls)
        self.env = env_for(self.data, self.sources, **extra_env)

    def run(
        self,
        *args: str,
        timeout: float = 900,
        env: dict[str, str] | None = None,
        profile: Path | None = None,
    ) -> Run:
        """`veille ARGS…` measured; `env` adds variables for this run only; `profile` runs
        it under pyinstrument (main process only) and writes the text report there."""
        prefix = VEILLE if profile is None else [sys.executable, "-c", PROFILED, str(profile)]
        return run_measured(
            [*prefix, *args], env={**self.env, **(env or {})}, cwd=self.home, timeout=timeout
        )

    def missing(self, *command: str) -> str | None:
        """None when `veille COMMAND` exists, else a reason for an n/a row."""
        done = self.run(*command, "--help", timeout=60)
        if done.ok:
            return None
        return f"`veille {' '.join(command)}` is not available yet ({done.why()})"

    def help_text(self, *command: str) -> str:
        return self.run(*command, "--help", timeout=60).stdout

    # The store, read directly: the schema of veille/store/models.py is the stable interface.
    @property
    def db_path(self) -> Path:
        return self.data / "veille.db"

    def query(self, sql: str, *params: object) -> int | str | None:
        if not self.db_path.exists():
            return None
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True) as db:
            try:
                return db.execute(sql, params).fetchone()[0]
            except sqlite3.OperationalError:
                return None

    def items(self) -> int:
        return int(self.query("SELECT count(*) FROM item") or 0)

    def extracted(self) -> int:
        return int(self.query("SELECT count(*) FROM item WHERE extraction = 'article'") or 0)

    def done(self) -> int:
        """Items through every stage (extracted, filed, classified): a killed run's progress."""
        return int(self.query("SELECT count(*) FROM item WHERE extracted_at IS NOT NULL") or 0)

    def last_extraction(self) -> str | None:
        value = self.query("SELECT max(extracted_at) FROM item")
        return str(value) if value is not None else None

    def extracted_since(self, mark: str | None) -> int:
        if mark is None:
            return self.extracted()
        return int(self.query("SELECT count(*) FROM item WHERE extracted_at > ?", mark) or 0)

    def store_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.data.glob("veille.db*") if p.is_file())
