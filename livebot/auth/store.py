"""Queries for users and API tokens."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from livebot.auth.models import ROLES, ApiToken, User
from livebot.auth.passwords import hash_password, verify_password
from livebot.errors import AuthError, ValidationError
from livebot.storage.base import utcnow
from livebot.storage.engine import Database

TOKEN_PREFIX = "lbt_"


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationError("role", f"unknown role {role!r}; one of {', '.join(ROLES)}")
    return role


def token_digest(token: str) -> str:
    """Tokens are stored as SHA-256: they are long random strings, so no slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


async def add_user(db: Database, username: str, password: str, role: str, display_name: str = "") -> User:
    check_role(role)
    if role == "trace":
        raise ValidationError("role", "trace is for API tokens, not people")
    if not username or len(username) > 64:
        raise ValidationError("username", "must be 1..64 characters")
    if not username.isprintable() or not (display_name or username).isprintable():
        # control characters and bidi marks would reorder or hide what advisors read in audit trails
        raise ValidationError("display_name" if username.isprintable() else "username",
                              "must not contain control or direction characters")
    if len(password) < 8:
        raise ValidationError("password", "must be at least 8 characters")
    user = User(username=username, role=role, password_hash=hash_password(password), display_name=display_name or username)
    async with db.sessions() as session:
        session.add(user)
        try:
            await session.commit()
        except IntegrityError as err:
            raise ValidationError("username", f"user {username!r} already exists") from err
    return user


async def authenticate(db: Database, username: str, password: str) -> User:
    """The user for these credentials, or :class:`AuthError` (same message for every failure)."""
    if "\x00" in username:  # no stored name has one, and PostgreSQL refuses to compare it
        raise AuthError("用户名或密码错误")
    async with db.sessions() as session:
        user = await session.scalar(select(User).where(User.username == username))
    if user is None or user.disabled or not verify_password(user.password_hash, password):
        raise AuthError("用户名或密码错误")
    return user


async def get_user(db: Database, user_id: int) -> User | None:
    async with db.sessions() as session:
        return await session.get(User, user_id)


async def create_token(db: Database, role: str, name: str = "") -> str:
    """A new bearer token; only its digest is stored, so it is shown once."""
    check_role(role)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with db.sessions() as session:
        session.add(ApiToken(token_hash=token_digest(token), role=role, name=name))
        await session.commit()
    return token


async def token_role(db: Database, token: str) -> tuple[str, str] | None:
    """(role, name) for a live token, else None; records when it was last used."""
    digest = token_digest(token)
    async with db.sessions() as session:
        row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None)))
        if row is None:
            return None
        await session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=utcnow()))
        await session.commit()
        return row.role, row.name or f"token-{row.id}"
