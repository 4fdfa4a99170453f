"""schemathesis against the service's own OpenAPI document: no 5xx and no response outside the schema, per role.

Bounded: a few generated examples per operation (fixed seed), one run per identity (anonymous,
each token role), against a real ``livebot serve`` on a fresh SQLite file.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_commands import run
from tests.test_serve import free_port, wait_healthy

ROLES = ("", "marketing", "producer", "advisor", "trace", "admin", "metrics")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def st_command() -> str:
    found = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    assert found, "schemathesis is in the [test] extra: pip install -e '.[test]'"
    return found


@pytest.mark.timeout(900)
async def test_every_operation_answers_within_its_schema_for_every_role(tmp_path: Path) -> None:
    config = tmp_path / "st.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "st.db"}"\n[auth]\nsession_secret = "x"\n'
                      '[[sources]]\nid = "test-hook"\ntype = "webhook"\nsecret = "test-webhook-secret"\n', encoding="utf-8")
    assert run("db", "upgrade", config=config).returncode == 0
    tokens = {role: run("token", "create", "--role", role, config=config).stdout.strip().splitlines()[-1] for role in ROLES if role}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "livebot", "serve", "--config", str(config), "--port", str(port)],  # noqa: ASYNC220
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    failures = {}
    try:
        await wait_healthy(base, server)
        for role in ROLES:
            headers = ["-H", f"Authorization: Bearer {tokens[role]}"] if role else []
            result = subprocess.run(  # noqa: ASYNC221
                [st_command(), "run", f"{base}/api/v1/openapi.json", "-u", base, *headers, "--max-examples", "3", "--seed", "1",
                 "-c", CHECKS, "--phases", "examples,fuzzing", "-w", "1", "--no-color"],
                capture_output=True, text=True, timeout=600, cwd=tmp_path)
            if result.returncode != 0:
                failures[role or "anonymous"] = result.stdout[-4000:]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert not failures, "\n\n".join(f"--- {role}\n{out}" for role, out in failures.items())
