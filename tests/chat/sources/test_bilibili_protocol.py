"""Bilibili open platform wire formats: worked bytes, compressed bundles, malformed frames, signing."""

from __future__ import annotations

import hashlib
import hmac
import zlib

import brotli
import orjson
import pytest

from livebot.chat.sources import bilibili_protocol as proto

BODY = b'{"code":"ANCHORCODE7734","app_id":1650000000001}'


def test_heartbeat_packet_matches_worked_bytes() -> None:
    expected = bytes.fromhex("0000001f 0010 0001 00000002 00000001".replace(" ", "")) + b"[object Object]"
    assert proto.heartbeat_packet() == expected


def test_auth_reply_matches_worked_bytes_and_decodes() -> None:
    frame = bytes.fromhex("0000001a 0010 0001 00000008 00000001".replace(" ", "")) + b'{"code":0}'
    assert proto.encode_packet(proto.Op.AUTH_REPLY, b'{"code":0}') == frame
    [packet] = proto.decode_packets(frame)
    assert (packet.operation, packet.version, packet.sequence, packet.body) == (8, 1, 1, b'{"code":0}')


def test_auth_packet_carries_auth_body_verbatim() -> None:
    auth_body = '{"roomid":7734,"protover":2,"key":"k=="}'
    [packet] = proto.decode_packets(proto.auth_packet(auth_body))
    assert packet.operation == proto.Op.AUTH
    assert packet.body == auth_body.encode()


@pytest.mark.parametrize("version", [proto.Version.ZLIB, proto.Version.BROTLI])
def test_compressed_bundle_round_trip_holds_several_packets(version: int) -> None:
    commands = [{"cmd": "LIVE_OPEN_PLATFORM_DM", "data": {"msg": f"第{i}条 😀", "msg_id": str(i)}} for i in range(5)]
    inner = [proto.encode_packet(proto.Op.COMMAND, orjson.dumps(c), version=proto.Version.JSON) for c in commands]
    frame = proto.encode_bundle(inner, version)
    length, header_len, ver, op, _seq = proto.HEADER.unpack_from(frame)
    assert (length, header_len, ver, op) == (len(frame), 16, version, 5)
    packets = proto.decode_packets(frame)
    assert [orjson.loads(p.body) for p in packets] == commands
    assert all(p.version == proto.Version.JSON and p.operation == proto.Op.COMMAND for p in packets)


def test_two_compressed_bundles_in_one_frame_and_plain_packets_mix() -> None:
    a = proto.encode_bundle([proto.encode_packet(5, b'{"n":1}', version=0)], proto.Version.ZLIB)
    b = proto.encode_bundle([proto.encode_packet(5, b'{"n":2}', version=0)], proto.Version.BROTLI)
    c = proto.encode_packet(5, b'{"n":3}', version=0)
    assert [orjson.loads(p.body)["n"] for p in proto.decode_packets(a + c + b)] == [1, 3, 2]


def test_heartbeat_reply_with_real_servers_short_length() -> None:
    # The server's length field covers the 4-byte popularity only; the heartbeat echo follows.
    frame = proto.HEADER.pack(20, 16, 1, 3, 1) + (123456).to_bytes(4, "big") + b"[object Object]"
    [packet] = proto.decode_packets(frame)
    assert packet.operation == proto.Op.HEARTBEAT_REPLY
    assert proto.popularity(packet) == 123456


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (b"\x00\x00\x00", "short header"),
        (proto.HEADER.pack(40, 16, 0, 5, 1) + b"{}", "does not fit"),
        (proto.HEADER.pack(8, 16, 0, 5, 1), "does not fit"),
        (proto.HEADER.pack(18, 12, 0, 5, 1) + b"{}", "header length"),
        (proto.HEADER.pack(16 + 9, 16, 2, 5, 0) + b"not zlib!", "garbage compressed"),
        (proto.HEADER.pack(16 + 9, 16, 3, 5, 0) + b"\xff\xfe garbage", "compressed"),
        (proto.encode_packet(5, b"x", version=0) + b"\x00\x01", "short header"),
    ],
)
def test_malformed_frames_raise_protocol_error(frame: bytes, problem: str) -> None:
    with pytest.raises(proto.ProtocolError, match=problem):
        proto.decode_packets(frame)


def test_truncated_zlib_body_is_rejected() -> None:
    body = zlib.compress(proto.encode_packet(5, b'{"cmd":"x"}', version=0))[:-4]
    frame = proto.HEADER.pack(16 + len(body), 16, 2, 5, 0) + body
    with pytest.raises(proto.ProtocolError):
        proto.decode_packets(frame)


@pytest.mark.parametrize("version", [proto.Version.ZLIB, proto.Version.BROTLI])
def test_decompression_bomb_is_capped(version: int) -> None:
    huge = b"\x00" * (proto.MAX_PACKET_BYTES * 2)
    body = zlib.compress(huge, 9) if version == proto.Version.ZLIB else brotli.compress(huge)
    assert len(body) < 100_000
    frame = proto.HEADER.pack(16 + len(body), 16, version, 5, 0) + body
    with pytest.raises(proto.ProtocolError, match="too large|exceeds"):
        proto.decode_packets(frame)


def test_nested_compression_beyond_limit_is_rejected() -> None:
    frame = proto.encode_packet(5, b"{}", version=0)
    for _ in range(proto.MAX_NESTING + 1):
        frame = proto.encode_bundle([frame], proto.Version.ZLIB)
    with pytest.raises(proto.ProtocolError, match="nested"):
        proto.decode_packets(frame)


def test_oversized_frame_is_rejected_before_parsing() -> None:
    with pytest.raises(proto.ProtocolError, match="exceeds"):
        proto.decode_packets(b"\x00" * (proto.MAX_PACKET_BYTES + 1))


def test_command_suffix_is_stripped() -> None:
    assert proto.command_name("LIVE_OPEN_PLATFORM_DM:2:extra") == "LIVE_OPEN_PLATFORM_DM"
    assert proto.command_name("LIVE_OPEN_PLATFORM_LIKE") == "LIVE_OPEN_PLATFORM_LIKE"


def test_string_to_sign_is_sorted_key_value_lines() -> None:
    headers = proto.signed_headers(BODY, "AKID", "SECRET", nonce="n-42", timestamp=1764000000)
    md5 = hashlib.md5(BODY).hexdigest()
    expected = (
        "x-bili-accesskeyid:AKID\n"
        f"x-bili-content-md5:{md5}\n"
        "x-bili-signature-method:HMAC-SHA256\n"
        "x-bili-signature-nonce:n-42\n"
        "x-bili-signature-version:1.0\n"
        "x-bili-timestamp:1764000000"
    )
    assert proto.string_to_sign(headers) == expected
    assert headers["Authorization"] == hmac.new(b"SECRET", expected.encode(), hashlib.sha256).hexdigest()
    assert headers["x-bili-content-md5"] == md5


def test_signature_does_not_depend_on_header_order_or_case() -> None:
    headers = proto.signed_headers(BODY, "AKID", "SECRET", nonce="n", timestamp=1)
    shuffled = {k.upper(): v for k, v in reversed(list(headers.items()))}
    assert proto.signature(shuffled, "SECRET") == headers["Authorization"]


def test_verify_request_rejects_tampering() -> None:
    headers = proto.signed_headers(BODY, "AKID", "SECRET")
    assert proto.verify_request(headers, BODY, "SECRET")
    assert not proto.verify_request(headers, BODY + b" ", "SECRET")
    assert not proto.verify_request(headers, BODY, "OTHER")
    assert not proto.verify_request({**headers, "x-bili-timestamp": "1"}, BODY, "SECRET")
    assert not proto.verify_request({**headers, "Authorization": ""}, BODY, "SECRET")


def test_nonces_differ_between_requests() -> None:
    a = proto.signed_headers(BODY, "AKID", "SECRET")
    b = proto.signed_headers(BODY, "AKID", "SECRET")
    assert a["x-bili-signature-nonce"] != b["x-bili-signature-nonce"]
