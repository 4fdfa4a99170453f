"""The name of this process among the instances that share a database and a bus."""

from __future__ import annotations

import os
import socket
import uuid


def instance_name() -> str:
    """Host, process and a random suffix: unique even when a container restarts with the same pid."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
