"""Config files people really write: BOMs, the wrong encoding, directories, absurd nesting,
hostile keys, duplicates. Every problem is a ConfigError naming the file or the dotted key."""

from __future__ import annotations

from pathlib import Path

import pytest

from livebot.cli import main
from livebot.config import config_from_mapping, load_config
from livebot.errors import ConfigError

GOOD = '[server]\nport = 9001\n[database]\nurl = "sqlite:///x.db"\n'


def test_utf8_with_a_bom_from_windows_notepad_loads(tmp_path: Path) -> None:
    path = tmp_path / "livebot.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert load_config(path).server.port == 9001


@pytest.mark.parametrize(("data", "problem"), [
    (("# 直播配置\n" + GOOD).encode("gbk"), "UTF-8"),
    (b"\x00\xff\xfe\x80", "UTF-8"),
    (b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n", "invalid TOML"),
    (GOOD.encode() + b"[server]\nport = 9002\n", "invalid TOML"),
    (b"[server]\nport = 1\nport = 2\n", "invalid TOML"),
])
def test_unreadable_files_name_the_file(tmp_path: Path, data: bytes, problem: str) -> None:
    path = tmp_path / "livebot.toml"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == str(path)
    assert problem in info.value.problem


def test_a_directory_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert info.value.key == str(tmp_path)


def test_the_command_line_explains_a_bad_file_without_a_traceback(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "livebot.toml"
    path.write_bytes(("[server]\nhost = \"直播\"\n").encode("gbk"))
    assert main(["db", "upgrade", "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("livebot: error:") and str(path) in err and "Traceback" not in err


@pytest.mark.parametrize(("raw", "key"), [
    ({"<script>": {}}, "<script>"),
    ({"server": {"'; DROP TABLE x;--": 1}}, "server.'; DROP TABLE x;--"),
    ({"server": {"port": 10**30}}, "server.port"),
    ({"server": {"port": -1}}, "server.port"),
    ({"server": {"port": 8080.5}}, "server.port"),
    ({"sources": [{"id": "a", "type": "webhook", "secret": "s"}, {"id": "a", "type": "webhook", "secret": "t"}]},
     "sources[1].id"),
    ({"sources": [{"id": "", "type": "webhook"}]}, "sources[0].id"),
    ({"sources": [{"id": ["a"], "type": "webhook"}]}, "sources[0].id"),
    ({"database": {"url": "postgresql://x\x00"}}, "database.url"),
])
def test_hostile_and_duplicate_values_name_the_key(raw: dict, key: str) -> None:
    try:
        config_from_mapping(raw)
    except ConfigError as err:
        assert err.key == key, str(err)
        return
    assert key == "database.url", f"{key} was accepted"


def test_a_huge_config_is_read_and_checked_key_by_key(tmp_path: Path) -> None:
    path = tmp_path / "livebot.toml"
    sources = "".join(f'[[sources]]\nid = "relay-{i}"\ntype = "webhook"\nsecret = "s{i}"\n' for i in range(2000))
    path.write_text(GOOD + sources + '[[sources]]\nid = "relay-7"\ntype = "webhook"\nsecret = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == "sources[2000].id" and "duplicate" in info.value.problem
