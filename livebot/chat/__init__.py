"""Chat: the normalised event, its sources, ingest, moderation and replies."""
