"""The URLs an operator pastes into OBS, one per scene plus the program page."""

from __future__ import annotations

from urllib.parse import quote

from livebot.overlays.scenes import PROGRAM
from livebot.topics import OVERLAY_SCENES


def overlay_url(base_url: str, session_id: int, scene: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/overlay/{session_id}/{scene}?token={quote(token, safe='')}"


def overlay_urls(base_url: str, session_id: int, token: str) -> dict[str, str]:
    """``{scene: url}`` for the program page first, then every single scene."""
    return {scene: overlay_url(base_url, session_id, scene, token) for scene in (PROGRAM, *OVERLAY_SCENES)}
