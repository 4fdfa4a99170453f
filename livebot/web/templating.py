"""Jinja2 for every page: autoescape always on, templates found in each area's folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def setup_templates(app: web.Application) -> None:
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(template_dirs()),
        autoescape=True,
        context_processors=[page_context],
        undefined=jinja2.StrictUndefined,
    )
