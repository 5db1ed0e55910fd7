from __future__ import annotations

import pytest

from veille.errors import ConfigError
from veille.settings import load_settings


def test_invalid_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEILLE_MAX_PER_HOST", "many")
    with pytest.raises(ConfigError, match="VEILLE_MAX_PER_HOST"):
        load_settings(_env_file=None)


def test_allow_networks_is_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEILLE_ALLOW_NETWORKS", "127.0.0.0/8, ::1/128")
    assert load_settings(_env_file=None).allow_networks == ["127.0.0.0/8", "::1/128"]
    monkeypatch.setenv("VEILLE_ALLOW_NETWORKS", "localhost")
    with pytest.raises(ConfigError, match="VEILLE_ALLOW_NETWORKS"):
        load_settings(_env_file=None)


def test_secrets_are_masked(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # noqa: ANN001
    monkeypatch.setenv("VEILLE_SMTP_URL", "smtp://me:hunter2@mail.example.org:587")
    monkeypatch.setenv("VEILLE_DATABASE_URL", "postgresql://me:pw@db/veille")
    shown = load_settings(_env_file=None, data_dir=tmp_path).masked()
    assert "hunter2" not in str(shown) and "pw@" not in str(shown)
    assert shown["smtp_url"] == "********"


def test_secret_key_is_generated_once(tmp_path) -> None:  # noqa: ANN001
    s = load_settings(_env_file=None, data_dir=tmp_path)
    assert s.secret() == s.secret() and len(s.secret()) > 30
    assert (tmp_path / "secret.key").stat().st_mode & 0o077 == 0
