"""Reading a request's JSON object: one way for every API, so the same fault gets the same answer everywhere."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from livebot.errors import ValidationError


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; an empty body counts as ``{}``.

    Broken JSON (or JSON nested thousands deep) and any other kind of value are a 400 naming ``body``; a body
    over ``server.max_body_bytes`` is the 413 the error middleware gives."""
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except (ValueError, RecursionError) as err:  # RecursionError: JSON nested thousands deep
        raise ValidationError("body", "不是有效的 JSON") from err
    if not isinstance(body, dict):
        raise ValidationError("body", "应为 JSON 对象")
    return body
