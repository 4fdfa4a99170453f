"""``livebot replay FILE --url URL --source ID --secret S``: drive a running server's webhook.

Plays a JSONL transcript (webhook event format) with its original timing divided by
``--speed`` through the signed ingest ``POST {url}/api/v1/ingest/{source}``, in batches of at
most ``--batch`` events and 1 MiB. A 503/429 is waited out for its ``Retry-After`` and the same
batch sent again (the dedupe makes a retry harmless); any other refusal stops the replay
with the server's message. Every line is checked before the first request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import dataclass

import aiohttp
import orjson

from livebot.chat import signing, wire
from livebot.chat.replay import Pacing, chunks, paced, read_transcript
from livebot.errors import LivebotError, ValidationError

SECRET_ENV = "LIVEBOT_REPLAY_SECRET"
RETRY_STATUSES = (429, 502, 503, 504)
MAX_RETRIES = 30


class ReplayRefused(LivebotError):
    """The server refused a batch for a reason a retry will not fix."""


@dataclass
class Tally:
    requests: int = 0
    accepted: int = 0
    duplicates: int = 0
    retries: int = 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    replay = commands.add_parser("replay", help="play a JSONL chat transcript into a running server's signed webhook")
    replay.add_argument("file", help="transcript: one webhook-format event per line")
    replay.add_argument("--url", required=True, help="server base URL, e.g. http://127.0.0.1:8080")
    replay.add_argument("--source", required=True, help="webhook source id configured on the server")
    replay.add_argument("--secret", default=os.environ.get(SECRET_ENV), help=f"the source's secret (default ${SECRET_ENV})")
    replay.add_argument("--speed", type=float, default=1.0, help="divide original gaps by this; 0 = as fast as possible")
    replay.add_argument("--batch", type=int, default=200, help="most events per request (<= 1000)")
    replay.add_argument("--loop", action="store_true", help="start again at the end, with fresh ids (until Ctrl-C)")
    replay.add_argument("--retime", action="store_true", help="stamp events with the time they are sent")
    replay.add_argument("--fresh-ids", action="store_true", help="suffix ids even on the first pass")
    replay.set_defaults(func=replay_command)


def check(events: list[dict[str, object]], source: str) -> None:
    """Validate every line locally, so a typo on line 900 is found before anything is sent."""
    for number, event in enumerate(events, start=1):
        try:
            wire.parse_event(event, "event", source)
        except ValidationError as err:
            raise ValidationError(f"line {number}", f"{err.field}: {err.problem}") from None


def split(batch: list[dict[str, object]], size: int) -> list[bytes]:
    """Request bodies of at most ``size`` events and 1 MiB each."""
    bodies = []
    for part in chunks(batch, size):
        body = orjson.dumps({"events": part})
        if len(body) > wire.MAX_BODY_BYTES and len(part) > 1:
            bodies += split(part, max(1, len(part) // 2))
        else:
            bodies.append(body)
    return bodies


async def send(http: aiohttp.ClientSession, url: str, secret: str, body: bytes, tally: Tally) -> None:
    """Post one signed body until it is stored; waits out 503/429 for their Retry-After."""
    for _attempt in range(MAX_RETRIES):
        try:
            async with http.post(url, data=body, headers=signing.signed_headers(secret, body)) as resp:
                text = await resp.text()
                if resp.status == 202:
                    answer = orjson.loads(text)
                    tally.requests += 1
                    tally.accepted += int(answer["accepted"])
                    tally.duplicates += int(answer["duplicates"])
                    return
                if resp.status not in RETRY_STATUSES:
                    raise ReplayRefused(f"server answered {resp.status}: {text[:500]}")
                delay = retry_after(resp.headers.get("Retry-After"))
        except aiohttp.ClientConnectionError as err:
            print(f"livebot replay: connection problem ({err}); retrying", file=sys.stderr)
            delay = 1.0
        tally.retries += 1
        await asyncio.sleep(delay)
    raise ReplayRefused(f"gave up after {MAX_RETRIES} attempts")


def retry_after(value: str | None) -> float:
    try:
        return min(60.0, max(0.0, float(value))) if value else 1.0
    except ValueError:
        return 1.0


async def replay(args: argparse.Namespace) -> Tally:
    events = await asyncio.to_thread(read_transcript, args.file)
    check(events, args.source)
    url = f"{args.url.rstrip('/')}/api/v1/ingest/{args.source}"
    pacing = Pacing(speed=args.speed, loop=args.loop, retime=args.retime, fresh_ids=args.fresh_ids)
    tally = Tally()
    size = max(1, min(args.batch, wire.MAX_EVENTS))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        async for batch in paced(events, pacing):
            for body in split(batch, size):
                await send(http, url, args.secret, body, tally)
    return tally


def replay_command(args: argparse.Namespace) -> int:
    if not args.secret:
        raise ValidationError("--secret", f"missing (or set ${SECRET_ENV})")
    tally = asyncio.run(replay(args))
    print(f"replayed into {args.source}: {tally.accepted} accepted, {tally.duplicates} duplicates, "
          f"{tally.requests} requests, {tally.retries} retries")
    return 0
