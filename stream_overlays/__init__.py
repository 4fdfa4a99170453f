"""OBS overlay scenes: Jinja2 templates, their CSS and one small websocket client (overlay.js).

Only data lives here; ``livebot.overlays`` serves it (found next to the ``livebot`` package).
"""
