"""Compliance guard: keeps claims infant-formula law forbids off every surface livebot feeds."""
