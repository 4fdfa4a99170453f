"""Who is making a request: a logged-in person or a machine token, with one role."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True)
class Identity:
    kind: str  # "user" or "token"
    name: str
    role: str
    user_id: int | None = None
    display_name: str = ""

    def has_role(self, *roles: str) -> bool:
        """Admins may do everything a person can; tokens get exactly their role."""
        return self.role in roles or (self.role == "admin" and self.kind == "user")


IDENTITY_KEY: web.RequestKey[Identity] = web.RequestKey("livebot.identity", Identity)


def identity_of(request: web.Request) -> Identity | None:
    return request.get(IDENTITY_KEY)
