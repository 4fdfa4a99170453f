"""The advisor console: the live question queue, claims, answers and featuring."""
