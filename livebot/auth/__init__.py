"""Users, roles, login sessions and bearer API tokens."""
