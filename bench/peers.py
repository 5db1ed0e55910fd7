"""Peers on the same synthetic web, feed stage only: newsboat and rss2email reload every feed.

newsboat comes from Debian (`apt-get install newsboat` if missing and we are root) and runs
`newsboat -x reload` with 16 reload threads on a fresh cache. rss2email comes from PyPI into
its own venv (bench/.peers-venv, git-ignored) and runs `r2e run --no-send` on a fresh database
(feeds added with one `r2e opmlimport` rather than one `r2e add` process per feed: same result,
quicker setup, and setup is not timed). Both get the same 5 s timeout as veille.
Each function returns a measured Run, or a string saying why the peer could not run.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import quoteattr

from bench.corpus import ROOT
from bench.measure import Run, run_measured

PEERS_VENV = ROOT / "bench" / ".peers-venv"
TIMEOUT_S = 5


def _newsboat() -> str | None:
    found = shutil.which("newsboat")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "newsboat"],
            env=env,
            capture_output=True,
            check=False,
        )
        found = shutil.which("newsboat")
    return found


def newsboat(urls: list[str], work: Path, timeout: float) -> tuple[Run, int] | str:
    """(run, items in its cache) or why it could not run."""
    exe = _newsboat()
    if exe is None:
        return "newsboat is not installed and could not be installed (not root or no apt-get)"
    work.mkdir(parents=True, exist_ok=True)
    (work / "urls").write_text("\n".join(urls) + "\n")
    (work / "config").write_text(
        f"reload-threads 16\ndownload-timeout {TIMEOUT_S}\ndownload-retries 2\n"
    )
    cache = work / "cache.db"
    cmd = [
        exe,
        "-u",
        str(work / "urls"),
        "-C",
        str(work / "config"),
        "-c",
        str(cache),
        "-x",
        "reload",
    ]
    run = run_measured(cmd, env={**os.environ, "HOME": str(work)}, cwd=work, timeout=timeout)
    if not run.ok:
        return f"newsboat {run.why()}"
    with sqlite3.connect(cache) as db:
        items = db.execute("SELECT count(*) FROM rss_item").fetchone()[0]
    return run, items


def _r2e() -> Path | str:
    exe = PEERS_VENV / "bin" / "r2e"
    if exe.exists():
        return exe
    made = subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], capture_output=True)
    if made.returncode == 0:
        made = subprocess.run(
            [str(PEERS_VENV / "bin" / "pip"), "install", "-q", "rss2email"],
            capture_output=True,
            text=True,
        )
    if made.returncode != 0 or not exe.exists():
        return f"could not install rss2email into {PEERS_VENV}: {str(made.stderr)[-160:]}"
    return exe


def rss2email(urls: list[str], work: Path, timeout: float) -> tuple[Run, int] | str:
    """(run, entries it saw) or why it could not run."""
    exe = _r2e()
    if isinstance(exe, str):
        return exe
    work.mkdir(parents=True, exist_ok=True)
    base = [str(exe), "-c", str(work / "r2e.cfg"), "-d", str(work / "r2e.json")]
    env = {**os.environ, "HOME": str(work)}
    outlines = "".join(
        f"<outline type='rss' text={quoteattr(f'feed{i}')} xmlUrl={quoteattr(u)}/>"
        for i, u in enumerate(urls)
    )
    (work / "feeds.opml").write_text(f"<opml version='1.0'><body>{outlines}</body></opml>")
    for step in (["new", "bench@localhost"], ["opmlimport", str(work / "feeds.opml")]):
        done = subprocess.run(base + step, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            return f"r2e {step[0]} failed: {done.stderr.strip()[-160:]}"
    cfg = (work / "r2e.cfg").read_text()
    (work / "r2e.cfg").write_text(cfg.replace("feed-timeout = 60", f"feed-timeout = {TIMEOUT_S}"))
    run = run_measured(base + ["run", "--no-send"], env=env, cwd=work, timeout=timeout)
    if not run.ok:
        return f"rss2email {run.why()}"
    data = json.loads((work / "r2e.json").read_text())
    seen = sum(len(feed.get("seen", {})) for feed in data.get("feeds", []))
    return run, seen
