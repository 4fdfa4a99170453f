"""Jinja2 for every page: autoescape always on, templates found in each area's folder."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp_jinja2
import jinja2
from aiohttp import web

from livebot.auth.access import csrf_token
from livebot.auth.identity import identity_of

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
PROJECT_ROOT = PACKAGE_ROOT.parent


def template_dirs() -> list[str]:
    """``livebot/web/templates`` first, then ``livebot/<area>/templates`` and the overlays."""
    dirs = [PACKAGE_ROOT / "web" / "templates"]
    dirs += sorted(p for p in PACKAGE_ROOT.glob("*/templates") if p.parent.name != "web")
    dirs.append(PROJECT_ROOT / "stream_overlays" / "templates")
    return [str(d) for d in dirs if d.is_dir()]


async def page_context(request: web.Request) -> dict[str, Any]:
    identity = identity_of(request)
    return {"identity": identity, "csrf": await csrf_token(request) if identity else ""}


ZONE_NAMES = {"Asia/Shanghai": "北京时间", "Asia/Urumqi": "乌鲁木齐时间", "Asia/Hong_Kong": "香港时间"}


def local_time(value: datetime | str | None, zone: str = "Asia/Shanghai", fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A moment (datetime or ISO text) as people read it: in the site's time zone, no "T", no offset."""
    if not value:
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(ZoneInfo(zone)).strftime(fmt)
    except (ZoneInfoNotFoundError, ValueError):
        return moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime(fmt)


def zone_name(zone: str) -> str:
    """"北京时间" for Asia/Shanghai; other zones by their name."""
    return ZONE_NAMES.get(zone, f"{zone} 时间")


def add_filters(env: jinja2.Environment) -> jinja2.Environment:
    env.filters["local_time"] = local_time
    env.filters["zone_name"] = zone_name
    return env


def setup_templates(app: web.Application) -> None:
    add_filters(aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(template_dirs()),
        autoescape=True,
        context_processors=[page_context],
        undefined=jinja2.StrictUndefined,
    ))
