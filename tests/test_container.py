"""What can be checked of the Docker files without Docker: they agree with the code."""

from __future__ import annotations

import fnmatch
import inspect
import json
import re
import tomllib
from pathlib import Path

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


def dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of an env file (as compose reads .env), comments skipped."""
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?message}` (an error when unset)."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op == ":?":
            raise AssertionError(f"compose would stop: {arg}")
        return arg if op == ":-" else ""

    return re.sub(r"\$\{([A-Z_][A-Z0-9_]*)(?:(:-|:\?)([^}]*))?\}", one, value)


def image_env() -> dict[str, str]:
    """The final stage's ENV, as the container starts with."""
    env = {}
    for keyword, args in _final_stage():
        if keyword == "ENV":
            env.update(re.findall(r"([A-Z_][A-Z0-9_]*)=(\S+)", args))
    return env


def service_env(name: str, dot: dict[str, str]) -> dict[str, str]:
    """What the service's process sees: image ENV, then env_file, then `environment:`."""
    service = _compose()["services"][name]
    env = image_env() if service.get("build") else {}
    if service.get("env_file"):
        env.update(dot)
    for key, value in (service.get("environment") or {}).items():
        env[key] = interpolate(str(value), dot)
    return env


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
    config = str(Path(env["VEILLE_SOURCES"]).parent)  # a folder, never a file mount
    # Retrained models live in DATA_DIR/models; the seed model is package data.
    assert {env["VEILLE_DATA_DIR"], config} == set(volumes) and "VEILLE_MODELS_DIR" not in env
    assert final["ENTRYPOINT"] == '["/usr/local/bin/veille-entrypoint"]'

    assert {name.removeprefix("VEILLE_").lower() for name in env} <= set(Settings.model_fields)
    from veille.cli.serve import serve  # the port the image exposes is serve's default

    port = inspect.signature(serve).parameters["port"].default
    assert final["EXPOSE"] == str(port) and f":{port}/healthz" in health


def test_compose_parses_and_uses_real_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    dot = dotenv(ROOT / ".env.example")
    app, db = (service_env(n, dot) for n in ("veille", "db"))
    env = {k: v for k, v in app.items() if k.startswith("VEILLE_")}
    names = {k.removeprefix("VEILLE_").lower() for k in env}
    assert names <= set(Settings.model_fields), names - set(Settings.model_fields)
    for key in list(__import__("os").environ):
        if key.startswith("VEILLE_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(_env_file=None)  # every value is one the app accepts
    Plan.from_settings(settings)
    assert settings.db_url == (
        f"postgresql://{db['POSTGRES_USER']}:{db['POSTGRES_PASSWORD']}@db:5432/{db['POSTGRES_DB']}"
    )
    assert settings.base_url.startswith("https://") and settings.smtp_url is not None


def test_secrets_live_in_env_not_in_compose() -> None:
    text = (ROOT / "compose.yaml").read_text()
    assert "change-me" not in text and "password@" not in text
    assert text.count("${POSTGRES_PASSWORD") == 2  # the database's and veille's URL, one value
    compose = _compose()
    assert compose["services"]["veille"]["env_file"] == ".env"
    dot = dotenv(ROOT / ".env.example")
    assert {"VEILLE_BASE_URL", "POSTGRES_PASSWORD", "VEILLE_SMTP_URL", "VEILLE_SECRET_KEY"} <= set(
        dot
    )
    with pytest.raises(AssertionError, match="set POSTGRES_PASSWORD in .env"):
        service_env("db", {})
    assert ".env" in (ROOT / ".dockerignore").read_text().split()


def test_only_the_proxy_publishes_ports_and_is_the_trusted_one() -> None:
    compose = _compose()
    services = compose["services"]
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"caddy"}
    assert sorted(services["caddy"]["ports"]) == ["443:443", "443:443/udp", "80:80"]
    caddy_ip = services["caddy"]["networks"]["proxy"]["ipv4_address"]
    app = service_env("veille", dotenv(ROOT / ".env.example"))
    assert app["VEILLE_TRUSTED_PROXIES"] == caddy_ip
    assert compose["networks"]["backend"]["internal"] is True  # the database has no way out
    assert services["db"]["networks"] == ["backend"]
    caddyfile = (ROOT / "Caddyfile").read_text()
    assert "{$SITE_ADDRESS}" in caddyfile and "reverse_proxy veille:8000" in caddyfile
    assert services["caddy"]["environment"]["SITE_ADDRESS"].startswith("${VEILLE_BASE_URL")


def test_compose_wires_postgres_16_volumes_and_health() -> None:
    compose = _compose()
    app, db = compose["services"]["veille"], compose["services"]["db"]
    assert db["image"].split(":")[1].split("-")[0] == "16"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    named = {
        v.split(":")[0]
        for s in compose["services"].values()
        for v in s["volumes"]
        if not v.startswith(".")
    }
    assert named == set(compose["volumes"])
    mounts = {v.split(":")[1] for v in app["volumes"]}
    final = dict(_final_stage())
    assert set(json.loads(final["VOLUME"])) <= mounts
    sources = re.search(r"VEILLE_SOURCES=(\S+)", final["ENV"]).group(1)
    assert sources not in mounts and str(Path(sources).parent) in mounts  # the folder is
    assert all(not v.endswith(":ro") for v in app["volumes"])
