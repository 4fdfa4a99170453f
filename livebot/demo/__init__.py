"""The demo: a seeded live session and simulated chat, started by ``livebot serve --demo``."""
