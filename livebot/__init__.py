"""livebot: the companion service for infant-formula traceability livestreams."""

__version__ = "0.1.0"
