"""Config loading: typed, frozen, and every error names its dotted key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from livebot.config import Config, ServerSettings, config_from_mapping, load_config
from livebot.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def test_example_config_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEBOT_SESSION_SECRET", "s3cret")
    monkeypatch.setenv("LIVEBOT_RELAY_SECRET", "relay")
    config = load_config(REPO / "config.example.toml")
    assert config.server.port == 8080
    assert config.auth.session_secret == "s3cret"
    assert config.sources[0].options == {"secret_env": "LIVEBOT_RELAY_SECRET"}
    assert config.server.base_url == "https://livebot.example.com"


def test_defaults_without_file() -> None:
    config = Config()
    assert config.database.url == "sqlite:///livebot.db"
    assert config.bus.url == "memory://"


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().server.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"server": {"port": "80"}}, "server.port: expected an integer, got a string"),
        ({"server": {"port": True}}, "server.port: expected an integer, got a boolean"),
        ({"server": {"port": 70000}}, "server.port: must be 1..65535"),
        ({"server": {"hots": "x"}}, "server.hots: unknown key"),
        ({"servr": {}}, "servr: unknown section"),
        ({"database": {"url": "mysql://x"}}, "database.url: unsupported database"),
        ({"bus": {"url": "kafka://x"}}, "bus.url: must start with memory:// or redis://"),
        ({"sources": [{"id": "a", "type": "webhook"}, {"type": "webhook"}]}, "sources[1].id: missing"),
        ({"sources": [{"id": "a"}]}, "sources[0].type: missing"),
        ({"sources": [{"id": "a", "type": "x"}, {"id": "a", "type": "x"}]}, "sources[1].id: duplicate source id"),
        ({"sources": {"id": "a"}}, "sources: expected an array of tables"),
        ({"auth": {"session_secret_env": "LIVEBOT_NOT_SET_ANYWHERE"}}, "auth.session_secret_env: environment variable"),
        ({"auth": "x"}, "auth: expected a table"),
    ],
)
def test_errors_name_the_key(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_mapping(raw)
    assert str(info.value).startswith(message), str(info.value)


def test_invalid_toml_names_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[server\nport = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


def test_secret_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SECRET", "from-env")
    config = config_from_mapping({"auth": {"session_secret_env": "MY_SECRET"}})
    assert config.auth.session_secret == "from-env"


def test_float_accepts_integer() -> None:
    assert config_from_mapping({"server": {"shutdown_timeout": 3}}).server.shutdown_timeout == 3.0


def test_section_parses_area_table() -> None:
    @dataclasses.dataclass(frozen=True)
    class Area:
        limit: int = 1

    config = config_from_mapping({"faq": {"limit": 5}})
    assert config.section("faq", Area).limit == 5
    with pytest.raises(ConfigError, match="faq.limit: expected an integer"):
        config_from_mapping({"faq": {"limit": "x"}}).section("faq", Area)


def test_base_url_defaults_to_host_and_port() -> None:
    assert ServerSettings(host="0.0.0.0", port=9000).base_url == "http://0.0.0.0:9000"
