"""The compose file of several workers (compose.workers.yaml), checked without Docker: it
overrides compose.yaml into one web process and N `veille worker`s on one PostgreSQL."""

from __future__ import annotations

import inspect

import pytest
from ruamel.yaml import YAML

from tests.conftest import ROOT
from tests.test_container import dotenv, interpolate
from veille.cli.worker import worker_cmd
from veille.settings import Settings, load_settings


def _load(name: str) -> dict:
    return YAML(typ="safe").load((ROOT / name).read_text())


def _merged_env(service: str, dot: dict[str, str]) -> dict[str, str]:
    base, over = _load("compose.yaml")["services"], _load("compose.workers.yaml")["services"]
    env: dict[str, str] = dict(dot)
    for layer in (base.get(service, {}), over.get(service, {})):
        env.update({k: interpolate(str(v), dot) for k, v in layer.get("environment", {}).items()})
    return env


def test_workers_and_web_share_one_postgres_and_one_key(monkeypatch: pytest.MonkeyPatch) -> None:
    dot = dotenv(ROOT / ".env.example")
    web, worker = _merged_env("veille", dot), _merged_env("worker", dot)
    assert web["VEILLE_DATABASE_URL"] == worker["VEILLE_DATABASE_URL"]
    assert web["VEILLE_EXECUTOR"] == worker["VEILLE_EXECUTOR"] == "procrastinate"
    assert "VEILLE_SECRET_KEY" in dot  # one key for every process, from .env
    for key in list(__import__("os").environ):
        if key.startswith("VEILLE_"):
            monkeypatch.delenv(key)
    for env in (web, worker):
        names = {k.removeprefix("VEILLE_").lower() for k in env if k.startswith("VEILLE_")}
        assert names <= set(Settings.model_fields), names - set(Settings.model_fields)
        with monkeypatch.context() as m:
            for key, value in env.items():
                if key.startswith("VEILLE_"):
                    m.setenv(key, value)
            assert load_settings(_env_file=None).executor == "procrastinate"


def test_the_worker_service_runs_veille_worker_with_shared_volumes() -> None:
    base, over = _load("compose.yaml"), _load("compose.workers.yaml")
    worker = over["services"]["worker"]
    command = worker["command"]
    assert command[0] == "veille" and "worker" in command
    options = inspect.signature(worker_cmd).parameters
    assert "--concurrency" in command and "concurrency" in options
    assert worker["image"] == base["services"]["veille"]["image"]  # built once, by `veille`
    assert int(interpolate(str(worker["deploy"]["replicas"]), {})) >= 2
    shared = {v.split(":")[0] for v in base["services"]["veille"]["volumes"]}
    assert {v.split(":")[0] for v in worker["volumes"]} == shared
    assert set(worker["networks"]) == {"backend", "proxy"}
    assert not worker.get("ports")  # only Caddy publishes ports
    assert worker["depends_on"]["db"]["condition"] == "service_healthy"
