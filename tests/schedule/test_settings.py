"""``[schedule]`` settings: errors name the key; the example config parses."""

from __future__ import annotations

import pytest

from livebot.config import config_from_mapping
from livebot.errors import ConfigError
from livebot.schedule.settings import ScheduleSettings


@pytest.mark.parametrize("table, key", [
    ({"reminder_robot_urls": ["ftp://robot"]}, "schedule.reminder_robot_urls[0]"),
    ({"reminder_robot_urls": "https://one"}, "schedule.reminder_robot_urls"),
    ({"reminder_leads_minutes": [60, 0]}, "schedule.reminder_leads_minutes"),
    ({"misfire_grace_seconds": 0}, "schedule.misfire_grace_seconds"),
    ({"lock_ttl_seconds": 0.5}, "schedule.lock_ttl_seconds"),
    ({"scheduler_enabled": "yes"}, "schedule.scheduler_enabled"),
    ({"calendar_secret_env": "LIVEBOT_NO_SUCH_VARIABLE_X"}, "schedule.calendar_secret_env"),
    ({"unknown": 1}, "schedule.unknown"),
])
def test_bad_settings_name_the_key(table: dict, key: str) -> None:
    config = config_from_mapping({"schedule": table})
    with pytest.raises(ConfigError) as err:
        config.section("schedule", ScheduleSettings)
    assert err.value.key == key


def test_defaults_and_secret_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEBOT_TEST_CAL", "s3cret")
    settings = config_from_mapping({"schedule": {"calendar_secret_env": "LIVEBOT_TEST_CAL"}}).section("schedule", ScheduleSettings)
    assert settings.calendar_secret == "s3cret"
    assert settings.reminder_leads_minutes == (1440, 60, 10) and settings.misfire_grace_seconds == 300
