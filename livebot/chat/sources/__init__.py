"""Chat sources: one module per platform, registered by ``type`` name in ``[[sources]]``."""
