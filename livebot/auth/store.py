"""Queries for users and API tokens."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from livebot.auth.models import MACHINE_ROLES, ROLES, ApiToken, AuthSession, User
from livebot.auth.passwords import hash_in_thread, verify_in_thread
from livebot.errors import AuthError, NotFoundError, ValidationError
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


def check_password(password: str) -> None:
    if len(password) < 8:
        raise ValidationError("password", "must be at least 8 characters")
    if len(password) > 1024:
        raise ValidationError("password", "must be at most 1024 characters")


async def add_user(db: Database, username: str, password: str, role: str, display_name: str = "") -> User:
    check_role(role)
    if role in MACHINE_ROLES:
        raise ValidationError("role", f"{role} is for API tokens, not people")
    if not username or len(username) > 64:
        raise ValidationError("username", "must be 1..64 characters")
    if not username.isprintable() or not (display_name or username).isprintable():
        # control characters and bidi marks would reorder or hide what advisors read in audit trails
        raise ValidationError("display_name" if username.isprintable() else "username",
                              "must not contain control or direction characters")
    check_password(password)
    user = User(username=username, role=role, password_hash=await hash_in_thread(password), display_name=display_name or username)
    async with db.sessions() as session:
        session.add(user)
        try:
            await session.commit()
        except IntegrityError as err:
            raise ValidationError("username", f"user {username!r} already exists") from err
    return user


async def authenticate(db: Database, username: str, password: str) -> User:
    """The user for these credentials, or :class:`AuthError` (same message for every failure)."""
    user = None
    if "\x00" not in username:  # no stored name has one, and PostgreSQL refuses to compare it
        async with db.sessions() as session:
            user = await session.scalar(select(User).where(User.username == username))
    known = user is not None and not user.disabled
    # unknown and disabled users pay for one verification too: the answer time tells no names apart
    matches = await verify_in_thread(user.password_hash if known and user is not None else None, password)
    if user is None or not known or not matches:
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


async def user_by_name(db: Database, username: str) -> User:
    async with db.sessions() as session:
        user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    return user


async def list_users(db: Database) -> list[User]:
    async with db.sessions() as session:
        return list(await session.scalars(select(User).order_by(User.username)))


async def set_disabled(db: Database, username: str, disabled: bool) -> User:
    """Disable (and log out everywhere) or enable a user."""
    user = await user_by_name(db, username)
    async with db.sessions() as session:
        await session.execute(update(User).where(User.id == user.id).values(disabled=disabled))
        if disabled:
            await session.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
        await session.commit()
    return user


async def set_password(db: Database, username: str, password: str) -> User:
    """A new password; every session of the user ends."""
    check_password(password)
    user = await user_by_name(db, username)
    digest = await hash_in_thread(password)
    async with db.sessions() as session:
        await session.execute(update(User).where(User.id == user.id).values(password_hash=digest))
        await session.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
        await session.commit()
    return user


async def list_tokens(db: Database) -> list[ApiToken]:
    async with db.sessions() as session:
        return list(await session.scalars(select(ApiToken).order_by(ApiToken.id)))


async def revoke_token(db: Database, token_id: int) -> ApiToken:
    async with db.sessions() as session:
        row = await session.get(ApiToken, token_id)
        if row is None:
            raise NotFoundError(f"no token {token_id}")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            await session.commit()
        return row
