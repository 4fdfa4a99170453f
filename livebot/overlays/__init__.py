"""OBS overlays: per-session scene state, overlay tokens, the websocket hub and the scene pages."""
