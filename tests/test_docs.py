"""Docs that cannot go stale: the settings table and the CI test line."""

from __future__ import annotations

import re

from tests.conftest import ROOT
from veille.settings import Settings


def _readme() -> str:
    return (ROOT / "README.md").read_text()


def test_readme_lists_every_setting() -> None:
    listed = set(re.findall(r"^\| `VEILLE_([A-Z_]+)`", _readme(), flags=re.M))
    expected = {name.upper() for name in Settings.model_fields}
    assert listed == expected, f"missing: {expected - listed}, stale: {listed - expected}"


def test_ci_runs_the_readme_test_line() -> None:
    blocks = re.findall(r"```sh\n(.*?)\n```", _readme(), flags=re.S)
    test_line = next(b for b in blocks if "pytest" in b)
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_line.split("&& ", 2)[-1] in ci  # the install + pytest part, after venv setup
