"""The overlay scene pages: the program page, and checking a scene name (the table of scenes, their titles
and aliases is the ``overlay.control`` contract in :mod:`livebot.topics`)."""

from __future__ import annotations

from livebot.overlays.errors import BadCommand
from livebot.topics import BLANK_SCENE, OVERLAY_SCENES, SCENE_ALIASES, overlay_scene

PROGRAM = "program"
"""The combined page: whichever scene the producer selected, plus the lower third."""

PROGRAM_SCENES = (*OVERLAY_SCENES, BLANK_SCENE)
"""What the ``scene`` command may switch the program page to."""


def scene_name(value: object) -> str:
    """The canonical program scene for a name or alias, or :class:`BadCommand`."""
    name = overlay_scene(value)
    if name is None:
        raise BadCommand("scene", f"未知画面 {str(value)[:40]!r}，应为以下之一：{'、'.join(PROGRAM_SCENES)}")
    return name


def page_scene(value: str) -> str | None:
    """The scene page for a URL segment (``program`` included), or None when there is none."""
    if value == PROGRAM:
        return PROGRAM
    name = SCENE_ALIASES.get(value.lower().replace("-", "_"), value.lower())
    return name if name in OVERLAY_SCENES else None
