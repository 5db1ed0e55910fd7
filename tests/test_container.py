"""What can be checked of the Docker files without Docker: they agree with the code."""

from __future__ import annotations

import fnmatch
import inspect
import json
import re
import tomllib

import pytest
from ruamel.yaml import YAML

from tests.conftest import ROOT
from veille.scheduler import Plan
from veille.settings import Settings, load_settings


def _instructions() -> list[tuple[str, str]]:
    """Dockerfile instructions as (KEYWORD, arguments), continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, args = line.partition(" ")
            out.append((keyword.upper(), args.strip()))
    return out


def _final_stage() -> list[tuple[str, str]]:
    steps = _instructions()
    last_from = max(i for i, (k, _) in enumerate(steps) if k == "FROM")
    return steps[last_from:]


def _compose() -> dict:
    return YAML(typ="safe").load((ROOT / "compose.yaml").read_text())


def test_multi_stage_slim_images() -> None:
    bases = [args.split()[0] for k, args in _instructions() if k == "FROM"]
    assert len(bases) >= 2
    assert all(re.match(r"python:3\.1[1-9]-slim", b) for b in bases), bases
    assert any(k == "COPY" and "--from=" in a for k, a in _final_stage())


def test_runs_as_a_non_root_user() -> None:
    users = [a for k, a in _final_stage() if k == "USER"]
    assert users and users[-1] not in {"root", "0"}


def test_installs_like_ci_with_an_extra_that_exists() -> None:
    runs = " ".join(a for k, a in _instructions() if k == "RUN")
    installs = re.findall(r"pip install \"?\.\[([a-z,]+)\]\"?", runs)
    assert installs, "the image must pip install the project itself"
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert all(e in extras for group in installs for e in group.split(","))
    assert "pip install -e '.[test]'" in (ROOT / ".ci" / "run").read_text()


def test_copied_files_exist_and_are_not_ignored() -> None:
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for keyword, args in _instructions():
        if keyword != "COPY" or "--from=" in args:
            continue
        sources = [a for a in args.split() if not a.startswith("--")][:-1]
        for src in sources:
            path = src.rstrip("/")
            assert (ROOT / path).exists(), f"COPY {src}: not in the repository"
            assert not any(fnmatch.fnmatch(path, pat) for pat in ignored), f"{src} is ignored"


def test_healthcheck_volumes_and_command() -> None:
    final = dict(_final_stage())
    health = final["HEALTHCHECK"]
    assert "/healthz" in health and "urllib.request" in health and "curl" not in health
    assert json.loads(final["CMD"]) == ["veille", "serve", "--host", "0.0.0.0"]
    volumes = json.loads(final["VOLUME"])
    env = dict(re.findall(r"(VEILLE_[A-Z_]+)=(\S+)", final["ENV"]))
    # Retrained models live in DATA_DIR/models; the seed model is package data.
    assert [env["VEILLE_DATA_DIR"]] == volumes and "VEILLE_MODELS_DIR" not in env
    assert {name.removeprefix("VEILLE_").lower() for name in env} <= set(Settings.model_fields)
    from veille.cli.serve import serve  # the port the image exposes is serve's default

    port = inspect.signature(serve).parameters["port"].default
    assert final["EXPOSE"] == str(port) and f":{port}/healthz" in health


def test_compose_parses_and_uses_real_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    services = _compose()["services"]
    app, db = services["veille"], services["db"]
    env = {k: str(v) for k, v in app["environment"].items()}
    names = {k.removeprefix("VEILLE_").lower() for k in env}
    assert all(k.startswith("VEILLE_") for k in env)
    assert names <= set(Settings.model_fields), names - set(Settings.model_fields)
    for key in list(__import__("os").environ):
        if key.startswith("VEILLE_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(_env_file=None)  # every value is one the app accepts
    Plan.from_settings(settings)
    pg = db["environment"]
    assert settings.db_url == (
        f"postgresql://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@db:5432/{pg['POSTGRES_DB']}"
    )


def test_compose_wires_postgres_16_volumes_and_health() -> None:
    compose = _compose()
    app, db = compose["services"]["veille"], compose["services"]["db"]
    assert db["image"].split(":")[1].split("-")[0] == "16"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    named = {v.split(":")[0] for s in (app, db) for v in s["volumes"] if not v.startswith(".")}
    assert named == set(compose["volumes"])
    mounts = {v.split(":")[1] for v in app["volumes"]}
    final = dict(_final_stage())
    assert set(json.loads(final["VOLUME"])) <= mounts
    sources = re.search(r"VEILLE_SOURCES=(\S+)", final["ENV"]).group(1)
    assert sources in mounts
