"""Fixtures for cases tests: the console's logged-in advisors (own cookie jars)."""

from tests.console.conftest import advisors  # noqa: F401  (a fixture, used by name)
