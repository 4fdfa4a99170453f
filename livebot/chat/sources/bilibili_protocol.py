"""The Bilibili live open platform wire formats: signed HTTP requests and websocket packets.

Kept free of I/O so that the client (``bilibili.py``) and the fake server in the tests share
one codec, and so that every byte layout can be checked against the worked examples.

Packet: a 16-byte header ``>I2H2I`` (packet length, header length 16, protocol version,
operation, sequence) followed by the body. Version 2 (zlib) and 3 (brotli) bodies decompress
into several whole packets, each with its own header.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

import brotli

from livebot.errors import LivebotError

HEADER = struct.Struct(">I2H2I")
HEADER_SIZE = HEADER.size
MAX_PACKET_BYTES = 4 * 1024 * 1024
"""Upper bound for one websocket frame and for a decompressed body (zip-bomb guard)."""
MAX_NESTING = 2
HEARTBEAT_BODY = b"[object Object]"
SESSION_ENDED_CODES = frozenset({7000, 7003})

SIGNED_HEADERS = (
    "x-bili-accesskeyid",
    "x-bili-content-md5",
    "x-bili-signature-method",
    "x-bili-signature-nonce",
    "x-bili-signature-version",
    "x-bili-timestamp",
)


class Version(IntEnum):
    JSON = 0
    PLAIN = 1
    ZLIB = 2
    BROTLI = 3


class Op(IntEnum):
    HEARTBEAT = 2
    HEARTBEAT_REPLY = 3
    COMMAND = 5
    AUTH = 7
    AUTH_REPLY = 8


class ProtocolError(LivebotError):
    """A websocket frame that does not follow the packet format (logged, connection kept)."""


@dataclass(frozen=True, slots=True)
class Packet:
    operation: int
    body: bytes
    version: int = Version.PLAIN
    sequence: int = 1


def encode_packet(operation: int, body: bytes | str, version: int = Version.PLAIN, sequence: int = 1) -> bytes:
    """One packet: header then body, the body compressed for versions 2 and 3."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    if version == Version.ZLIB:
        data = zlib.compress(data)
    elif version == Version.BROTLI:
        data = brotli.compress(data)
    return HEADER.pack(HEADER_SIZE + len(data), HEADER_SIZE, version, operation, sequence) + data


def encode_bundle(packets: list[bytes], version: int, sequence: int = 0) -> bytes:
    """A compressed op-5 packet holding several already encoded packets, as the server sends."""
    return encode_packet(Op.COMMAND, b"".join(packets), version=version, sequence=sequence)


def heartbeat_packet() -> bytes:
    """The op-2 heartbeat the client sends every 30 s."""
    return encode_packet(Op.HEARTBEAT, HEARTBEAT_BODY)


def auth_packet(auth_body: str) -> bytes:
    """The op-7 auth packet carrying ``auth_body`` from app/start verbatim."""
    return encode_packet(Op.AUTH, auth_body)


def decode_packets(data: bytes, depth: int = 0) -> list[Packet]:
    """Split a websocket frame into packets, decompressing zlib/brotli bodies.

    Raises :class:`ProtocolError` for short headers, impossible lengths, unknown versions of
    compressed bodies and garbage compressed data. A heartbeat reply ends the frame: the real
    server's length field covers only the 4-byte popularity, not the echoed heartbeat.
    """
    if len(data) > MAX_PACKET_BYTES:
        raise ProtocolError(f"frame of {len(data)} bytes exceeds {MAX_PACKET_BYTES}")
    packets: list[Packet] = []
    offset = 0
    while offset < len(data):
        packet, length = read_packet(data, offset)
        offset += length
        if packet.operation == Op.HEARTBEAT_REPLY:
            packets.append(packet)
            break
        if packet.version in (Version.ZLIB, Version.BROTLI):
            if depth >= MAX_NESTING:
                raise ProtocolError("compressed packets nested too deep")
            packets += decode_packets(decompress(packet.body, packet.version), depth + 1)
        else:
            packets.append(packet)
    return packets


def read_packet(data: bytes, offset: int) -> tuple[Packet, int]:
    """The packet at ``offset`` and its length, checking the header against the frame."""
    if len(data) - offset < HEADER_SIZE:
        raise ProtocolError(f"short header at offset {offset}: {len(data) - offset} bytes")
    length, header_len, version, operation, sequence = HEADER.unpack_from(data, offset)
    if header_len != HEADER_SIZE:
        raise ProtocolError(f"header length {header_len} at offset {offset}, expected {HEADER_SIZE}")
    if length < HEADER_SIZE or offset + length > len(data):
        raise ProtocolError(f"packet length {length} at offset {offset} does not fit a frame of {len(data)} bytes")
    body = data[offset + HEADER_SIZE : offset + length]
    return Packet(operation=operation, body=body, version=version, sequence=sequence), length


def decompress(body: bytes, version: int) -> bytes:
    """Inflate a version 2 (zlib) or 3 (brotli) body, bounded in size."""
    try:
        if version == Version.ZLIB:
            inflater = zlib.decompressobj()
            out = inflater.decompress(body, MAX_PACKET_BYTES + 1)
            if not inflater.eof:
                raise ProtocolError("zlib body truncated or too large")
        else:
            out = brotli_decompress(body)
    except (zlib.error, brotli.error) as err:
        raise ProtocolError(f"garbage compressed body (version {version}): {err}") from err
    if len(out) > MAX_PACKET_BYTES:
        raise ProtocolError(f"decompressed body exceeds {MAX_PACKET_BYTES} bytes")
    if not out:
        raise ProtocolError(f"empty compressed body (version {version})")
    return out


def brotli_decompress(body: bytes) -> bytes:
    """Brotli with an output cap (brotli >= 1.2), so a small frame cannot expand without bound."""
    decompressor = brotli.Decompressor()
    try:
        out = decompressor.process(body, output_buffer_limit=MAX_PACKET_BYTES + 1)
    except TypeError:  # brotli 1.1 has no output limit: the size check after it still applies
        out = decompressor.process(body)
    if not decompressor.is_finished():
        raise ProtocolError("brotli body truncated or too large")
    return out


def popularity(packet: Packet) -> int:
    """The number in a heartbeat reply (first 4 body bytes), 0 when absent."""
    return int.from_bytes(packet.body[:4], "big") if len(packet.body) >= 4 else 0


def command_name(cmd: str) -> str:
    """``LIVE_OPEN_PLATFORM_DM:2`` -> ``LIVE_OPEN_PLATFORM_DM``: suffixes carry no meaning for us."""
    return cmd.split(":", 1)[0]


def string_to_sign(headers: Mapping[str, str]) -> str:
    """The ``key:value`` lines of the six ``x-bili-*`` headers, sorted by key, joined by newlines."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return "\n".join(f"{key}:{lowered.get(key, '')}" for key in sorted(SIGNED_HEADERS))


def signature(headers: Mapping[str, str], access_key_secret: str) -> str:
    """Hex HMAC-SHA256 of the string to sign, keyed with the access key secret."""
    return hmac.new(access_key_secret.encode(), string_to_sign(headers).encode(), hashlib.sha256).hexdigest()


def signed_headers(
    body: bytes, access_key_id: str, access_key_secret: str, nonce: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    """Every header a signed open-platform request carries, ``Authorization`` included."""
    headers = {
        "x-bili-accesskeyid": access_key_id,
        "x-bili-content-md5": hashlib.md5(body).hexdigest(),
        "x-bili-signature-method": "HMAC-SHA256",
        "x-bili-signature-nonce": nonce or secrets.token_hex(16),
        "x-bili-signature-version": "1.0",
        "x-bili-timestamp": str(int(time.time()) if timestamp is None else timestamp),
    }
    headers["Authorization"] = signature(headers, access_key_secret)
    headers["Content-Type"] = "application/json"
    headers["Accept"] = "application/json"
    return headers


def verify_request(headers: Mapping[str, str], body: bytes, access_key_secret: str) -> bool:
    """True when the body's MD5 and the HMAC both match (what the platform checks)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if not hmac.compare_digest(lowered.get("x-bili-content-md5", ""), hashlib.md5(body).hexdigest()):
        return False
    expected = signature(lowered, access_key_secret)
    return hmac.compare_digest(lowered.get("authorization", ""), expected)
