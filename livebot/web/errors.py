"""The one place where livebot's exceptions become HTTP statuses."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from livebot.errors import AuthError, ConflictError, FieldConflict, FieldErrors, NeedsConfirmation, NotFoundError, PayloadTooLarge, ValidationError

logger = logging.getLogger(__name__)

API_ERRORS = {404: "接口不存在", 405: "此接口不支持该请求方法"}
STATUS = ((ValidationError, 400), (AuthError, 401), (NotFoundError, 404), (ConflictError, 409), (PayloadTooLarge, 413))


def error_body(err: Exception) -> dict[str, object]:
    body: dict[str, object] = {"error": str(err)}
    if isinstance(err, ValidationError):
        body["field"] = err.field
    if isinstance(err, FieldErrors):
        body["errors"] = err.errors
    if isinstance(err, FieldConflict):
        body["field"] = err.field
    if isinstance(err, NeedsConfirmation):
        body.update(field=err.field, confirm=err.confirm)
    return body


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except (ValidationError, AuthError, NotFoundError, ConflictError, PayloadTooLarge) as err:
        status = next(code for kind, code in STATUS if isinstance(err, kind))
        return web.json_response(error_body(err), status=status, dumps=json_dumps)
    except web.HTTPRequestEntityTooLarge as err:
        return web.json_response({"error": err.text or "request body too large"}, status=413)
    except web.HTTPException as err:
        if err.status < 400 or not request.path.startswith("/api/"):
            raise
        # API callers get the documented {"error": ...} shape for 404, 405 and the rest, not text/plain
        headers = {"Allow": err.headers["Allow"]} if "Allow" in err.headers else None
        return web.json_response({"error": API_ERRORS.get(err.status, err.reason)}, status=err.status, headers=headers,
                                 dumps=json_dumps)


def json_dumps(obj: object) -> str:
    """JSON with Chinese kept readable (no \\u escapes)."""
    import json

    return json.dumps(obj, ensure_ascii=False)
