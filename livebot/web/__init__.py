"""The web layer: app factory pieces, health, metrics, the API description, shared templates."""
