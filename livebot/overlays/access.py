"""Who may open an overlay: OBS with the session's overlay token, or a logged-in producer (previews)."""

from __future__ import annotations

from aiohttp import web

from livebot.appkeys import DATABASE
from livebot.auth.identity import identity_of
from livebot.overlays import store
from livebot.overlays.errors import BadOverlayToken

PREVIEW_ROLES = ("producer",)


async def overlay_viewer(request: web.Request, session_id: int) -> str | None:
    """The token digest for a token URL, None for a producer preview; :class:`BadOverlayToken` otherwise."""
    token = request.query.get("token")
    if token is not None:
        if await store.token_valid(request.app[DATABASE], session_id, token):
            return store.token_digest(token)
        raise BadOverlayToken("overlay token is wrong or was rotated")
    identity = identity_of(request)
    if identity is not None and identity.has_role(*PREVIEW_ROLES):
        return None
    raise BadOverlayToken("overlay token missing")


def forbidden(request: web.Request) -> web.Response:
    """403 for a bad overlay link (plain text: OBS shows it, and it tells the operator what to do)."""
    if request.path.startswith("/api/"):
        return web.json_response({"error": "overlay token is wrong or was rotated"}, status=403)
    return web.Response(status=403, text="403 叠加层链接无效或已更换，请在导播台重新生成 OBS 链接。",
                        content_type="text/plain", charset="utf-8", headers={"Cache-Control": "no-store"})
