"""The compose service run the way the image runs it, without Docker (it cannot run here):
the same environment (image ENV, .env.example, compose `environment:`), the entrypoint
script and `veille serve`, with a writable config folder and a read-only one (a read-only
bind mount in a mount namespace, as Docker's `:ro` makes it).

Paths of the image (/data, /models, /config, /usr/share/veille) become temporary folders,
the database is a PostgreSQL test database, and the seed sources point at a local web, so
nothing leaves 127.0.0.0/8.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.localweb import LocalWeb
from tests.test_container import _final_stage, dotenv, service_env

UNSHARE = shutil.which("unshare")
RO_MOUNT = 'mount --bind -o ro "$1" "$1" && shift && exec "$@"'


def _can_mount() -> bool:
    if UNSHARE is None:
        return False
    probe = subprocess.run([UNSHARE, "-m", "sh", "-c", RO_MOUNT, "sh", "/tmp", "true"], check=False)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(
    not _can_mount(), reason="needs unshare -m and mount (a read-only bind mount)"
)
EMPTY_FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def box(tmp_path: Path) -> Path:
    return tmp_path


class Container:
    """The `veille` service's process: its environment with the image's paths mapped."""

    def __init__(
        self, box: Path, pg_url: str, web: LocalWeb, config: Path, *, read_only: bool = False
    ) -> None:
        seed = box / "seed"
        seed.mkdir()
        (seed / "feeds.yaml").write_text(
            f"sources:\n  - name: Réseau local\n    url: {web.url('/feed')}\n"
        )
        web.route("/feed", EMPTY_FEED, content_type="application/rss+xml")
        data = box / "data"
        data.mkdir()
        self.read_only = read_only
        paths = {
            "/data": str(data),
            "/models": str(ROOT / "models"),
            "/config": str(config),
            "/usr/share/veille": str(seed),
        }
        env = service_env("veille", dotenv(ROOT / ".env.example"))
        for key, value in env.items():
            for image_path, here in paths.items():
                if value == image_path or value.startswith(image_path + "/"):
                    env[key] = here + value[len(image_path) :]
        assert env["VEILLE_DATABASE_URL"].startswith("postgresql://veille:change-me@db:5432/")
        env.update(
            VEILLE_DATABASE_URL=pg_url,  # the `db` service
            VEILLE_ALLOW_NETWORKS="127.0.0.0/8",  # the local web stands for the Internet
            VEILLE_SMTP_URL="",  # .env.example's server does not exist: the outbox
            PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            HOME=str(data),
        )
        self.env = env
        self.data, self.config = data, config
        self.port = _free_port()
        final = dict(_final_stage())
        self.entrypoint = [str(ROOT / "docker" / "entrypoint.sh")]
        assert json.loads(final["ENTRYPOINT"]) == ["/usr/local/bin/veille-entrypoint"]
        self.cmd = json.loads(final["CMD"])
        assert self.cmd == ["veille", "serve", "--host", "0.0.0.0"]
        self.proc: subprocess.Popen[str] | None = None

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """`docker compose exec veille …` (through the entrypoint, as the image's user)."""
        return subprocess.run(
            [*self._as_user(), *self.entrypoint, *args],
            env=self.env,
            cwd=self.data,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def _as_user(self) -> list[str]:
        """`- ./config:/config:ro`: the folder read-only for this process, root included."""
        if not self.read_only:
            return []
        return [UNSHARE, "-m", "sh", "-c", RO_MOUNT, "sh", str(self.config)]

    def start(self) -> str:
        cmd = [*self.cmd[:-1], "127.0.0.1", "--port", str(self.port)]  # 0.0.0.0 → loopback
        self.proc = subprocess.Popen(
            [*self._as_user(), *self.entrypoint, *cmd],
            env=self.env,
            cwd=self.data,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                health = httpx.get(self.url("/healthz"), timeout=2)
                if health.json().get("last_pull_age_seconds") is not None:
                    return health.text
            except (httpx.HTTPError, ValueError):
                pass
            assert self.proc.poll() is None, self.stop()
            time.sleep(0.3)
        raise AssertionError(f"no pull within 90 s: {self.stop()}")

    def stop(self) -> str:
        if self.proc is None:
            return ""
        self.proc.terminate()
        try:
            out, _ = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return out

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


class Browser:
    """Cookies by hand: the session cookie is Secure (https base URL), which a cookie jar
    would rightly not send over this test's plain http."""

    def __init__(self, box: Container) -> None:
        self.box, self.cookies = box, SimpleCookie()
        self.set_cookies: list[str] = []

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: object
    ) -> httpx.Response:
        cookie = "; ".join(f"{k}={m.value}" for k, m in self.cookies.items())
        reply = httpx.request(
            method,
            self.box.url(path),
            headers={"Cookie": cookie, **(headers or {})},
            timeout=30,
            **kwargs,
        )
        for header in reply.headers.get_list("set-cookie"):
            self.set_cookies.append(header)
            self.cookies.load(header)
        return reply

    def login(self, name: str, password: str, headers: dict[str, str] | None = None) -> str:
        token = _csrf(self.request("GET", "/login").text)
        reply = self.request(
            "POST",
            "/login",
            headers=headers,
            data={"name": name, "password": password, "next": "/sources", "csrf_token": token},
        )
        assert reply.status_code == 303, reply.text
        return _csrf(self.request("GET", "/sources").text)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def _toggle_first_source(browser: Browser, token: str) -> httpx.Response:
    page = browser.request("GET", "/sources").text
    source_id = re.search(r'action="/sources/(\d+)/enabled"', page).group(1)
    return browser.request(
        "POST", f"/sources/{source_id}/enabled", data={"csrf_token": token, "enabled": "false"}
    )


def _admin(box: Container) -> None:
    made = box.run(
        "veille",
        "users",
        "add",
        "marie",
        "--role",
        "admin",
        "--password-stdin",
        stdin="un mot de passe assez long\n",
    )
    assert made.returncode == 0, made.stderr


def test_writable_config_folder_is_seeded_and_the_sources_page_saves(
    box: Path, pg_url: str, web: LocalWeb
) -> None:
    config = box / "config"  # what a new named volume or an empty ./config looks like
    config.mkdir()
    service = Container(box, pg_url, web, config)
    try:
        health = json.loads(service.start())
        assert health["status"] == "ok" and health["scheduler"] == "ok"
        assert (config / "feeds.yaml").read_text().startswith("sources:\n  - name: Réseau local")
        assert service.env["VEILLE_SECRET_KEY"] == ""  # .env.example leaves it blank:
        assert len((service.data / "secret.key").read_text()) > 30  # generated, not empty
        doctor = service.run("veille", "doctor")
        problems = sorted(
            line.split(":")[0].split(None, 1)[1]
            for line in doctor.stdout.splitlines()[:-1]
            if not line.startswith("ok")
        )
        # Left to configure after `cp .env.example .env`: the sender, SMTP, a subscriber.
        assert problems == ["SMTP", "sender", "subscribers"], doctor.stdout
        assert doctor.returncode == 1 and "Traceback" not in doctor.stdout + doctor.stderr
        _admin(service)
        browser = Browser(service)
        # Forwarded headers from anyone but Caddy's address (VEILLE_TRUSTED_PROXIES) are ignored.
        forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
        token = browser.login("marie", "un mot de passe assez long", headers=forged)
        assert any("veille_session=" in c and "secure" in c.lower() for c in browser.set_cookies)
        reply = _toggle_first_source(browser, token)
        assert reply.status_code == 303, reply.text
        assert "enabled: false" in (config / "feeds.yaml").read_text()
        assert not (config / "feeds.yaml.tmp").exists()

    finally:
        log = service.stop()
    assert "seeded with the sources shipped in the image" in log
    assert "login user=marie address=127.0.0.1" in log and "203.0.113.9" not in log
    assert "Traceback" not in log


def test_read_only_config_folder_says_so_in_one_line(box: Path, pg_url: str, web: LocalWeb) -> None:
    config = box / "config"
    config.mkdir()
    service = Container(box, pg_url, web, config, read_only=True)
    shutil.copy(box / "seed" / "feeds.yaml", config / "feeds.yaml")
    before = (config / "feeds.yaml").read_text()
    try:
        service.start()
        _admin(service)
        browser = Browser(service)
        token = browser.login("marie", "un mot de passe assez long")
        reply = _toggle_first_source(browser, token)
        assert reply.status_code == 400
        # In French on the page (the technical line, with the folder, goes to the log).
        assert "Le fichier des sources ne peut pas être enregistré" in reply.text
        assert "Montez-le en lecture-écriture" in reply.text
        assert (config / "feeds.yaml").read_text() == before

        opml = service.data / "list.opml"
        opml.write_text(
            '<?xml version="1.0"?><opml version="2.0"><head/><body>'
            '<outline type="rss" text="Un" xmlUrl="https://un.example.org/feed"/></body></opml>'
        )
        imported = service.run("veille", "sources", "import", str(opml))
        assert imported.returncode == 1
        assert imported.stderr.splitlines() == [
            f"veille: error: {config / 'feeds.yaml'}: cannot save the sources file: the folder "
            f"{config} is mounted read-only: mount it read-write (no ':ro' in Docker)"
        ]
        doctor = service.run("veille", "doctor")
        assert any(
            line.startswith("warning sources file: the Sources page cannot save changes: ")
            for line in doctor.stdout.splitlines()
        ), doctor.stdout
    finally:
        log = service.stop()
    assert "Traceback" not in log


def test_a_read_only_empty_config_folder_is_explained_at_start(
    box: Path, pg_url: str, web: LocalWeb
) -> None:
    config = box / "config"
    config.mkdir()
    service = Container(box, pg_url, web, config, read_only=True)
    started = service.run("true")
    assert started.returncode == 0
    assert started.stderr.splitlines() == [
        f"veille: cannot create {config / 'feeds.yaml'}: make {config} writable by uid "
        f"{os.getuid()} (veille doctor explains)"
    ]
    assert shlex.join(service.cmd) == "veille serve --host 0.0.0.0"
