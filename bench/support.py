"""What several benchmarks share: a free local port, and a throwaway PostgreSQL database to run on."""

from __future__ import annotations

import socket

from sqlalchemy.engine import make_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_postgres(server_url: str, name: str) -> str:
    """A new, empty database ``name`` on the server of ``server_url`` (an old one of that name is dropped)."""
    import psycopg

    admin = make_url(server_url).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.set(database=name).render_as_string(hide_password=False)


def drop_postgres(url: str) -> None:
    """Drop the database of ``url`` (made by :func:`fresh_postgres`), connections and all."""
    import psycopg

    target = make_url(url)
    with psycopg.connect(target.set(database="postgres").render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
