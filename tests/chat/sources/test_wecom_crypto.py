"""WeCom callback crypto against the official sample vectors, and every way a ciphertext can be bad."""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from livebot.chat.sources.wecom_crypto import (
    CallbackDecryptError,
    CallbackSignatureError,
    MalformedXml,
    WecomCrypto,
    aes_key,
    build_xml,
    msg_signature,
    parse_xml,
)

# The vector given in the issue (企业微信 VerifyURL sample).
TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
CORP = "ww1436e0e65a779aee"
ECHOSTR = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="

# The older official sample (WXBizMsgCrypt Sample: token QDG6eK), with a full message.
OLD_TOKEN, OLD_KEY, OLD_CORP = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7"
OLD_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUk"
    "SUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekU"
    "NXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rU"
    "PA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+"
    "qN+E7Q=="
)


@pytest.fixture
def crypto() -> WecomCrypto:
    return WecomCrypto(TOKEN, KEY, CORP)


def test_issue_vector_signature_and_plaintext(crypto: WecomCrypto) -> None:
    assert crypto.signature("1476416373", "47744683", ECHOSTR) == "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb"
    crypto.verify("012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683", ECHOSTR)
    assert crypto.decrypt(ECHOSTR) == b"1288432023552776189"


def test_signature_is_plain_sha1_of_sorted_strings() -> None:
    import hashlib

    parts = sorted([TOKEN, "1476416373", "47744683", ECHOSTR])
    assert msg_signature(TOKEN, "1476416373", "47744683", ECHOSTR) == hashlib.sha1("".join(parts).encode()).hexdigest()


def test_older_official_vectors_verify_url_and_message() -> None:
    old = WecomCrypto(OLD_TOKEN, OLD_KEY, OLD_CORP)
    echo = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
    assert old.signature("1409659589", "263014780", echo) == "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
    assert old.decrypt(echo) == b"1616140317555161061"
    assert old.signature("1409659813", "1372623149", OLD_ENCRYPT) == "477715d11cdb4164915debcba66cb864d751f3e6"
    message = parse_xml(old.decrypt(OLD_ENCRYPT))
    assert message["Content"] == "hello"
    assert message["MsgId"] == "4561255354251345929"
    assert message["FromUserName"] == "mycreate"


@pytest.mark.parametrize("message", [b"", b"x", "奶粉批次 👶🏻🍼".encode(), b"a" * (32 - 20 - len(CORP) % 32 + 32), b"z" * 5000])
def test_round_trip_and_padding_to_32_byte_blocks(crypto: WecomCrypto, message: bytes) -> None:
    encrypted = crypto.encrypt(message)
    raw = base64.b64decode(encrypted)
    assert len(raw) % 32 == 0
    plain_len = 16 + 4 + len(message) + len(CORP)
    expected_pad = 32 - plain_len % 32
    assert len(raw) == plain_len + expected_pad, "a full 32-byte block is added when already aligned"
    assert crypto.decrypt(encrypted) == message


def test_encrypt_is_randomised_but_deterministic_with_a_fixed_prefix(crypto: WecomCrypto) -> None:
    assert crypto.encrypt(b"same") != crypto.encrypt(b"same")
    assert crypto.encrypt(b"same", b"0" * 16) == crypto.encrypt(b"same", b"0" * 16)


def raw_cbc(plain: bytes, key: str = KEY) -> str:
    """Encrypt exactly ``plain`` (no padding added) to build hostile ciphertexts."""
    k = aes_key(key)
    enc = Cipher(algorithms.AES(k), modes.CBC(k[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


@pytest.mark.parametrize("last", [0, 33, 200])
def test_bad_padding_value_is_rejected(crypto: WecomCrypto, last: int) -> None:
    plain = b"r" * 16 + struct.pack(">I", 3) + b"abc" + CORP.encode()
    plain += b"\x00" * (64 - len(plain) - 1) + bytes([last])
    with pytest.raises(CallbackDecryptError, match="padding"):
        crypto.decrypt(raw_cbc(plain))


def test_inconsistent_padding_bytes_are_rejected(crypto: WecomCrypto) -> None:
    plain = b"r" * 16 + struct.pack(">I", 3) + b"abc" + CORP.encode()
    pad = 64 - len(plain)
    plain += bytes([pad]) * (pad - 2) + bytes([1, pad])
    with pytest.raises(CallbackDecryptError, match="padding"):
        crypto.decrypt(raw_cbc(plain))


def test_wrong_receive_id_is_rejected(crypto: WecomCrypto) -> None:
    other = WecomCrypto(TOKEN, KEY, "ww0000000000000000")
    with pytest.raises(CallbackDecryptError, match="another receiver"):
        crypto.decrypt(other.encrypt(b"<xml/>"))


def test_length_field_beyond_plaintext_is_rejected(crypto: WecomCrypto) -> None:
    plain = b"r" * 16 + struct.pack(">I", 10_000) + b"abc" + CORP.encode()
    pad = 32 - len(plain) % 32
    with pytest.raises(CallbackDecryptError, match="length"):
        crypto.decrypt(raw_cbc(plain + bytes([pad]) * pad))


@pytest.mark.parametrize(
    ("encrypt", "problem"),
    [
        ("not base64 at all!!", "base64"),
        ("", "multiple of 32"),
        (base64.b64encode(b"x" * 48).decode(), "multiple of 32"),
        (ECHOSTR[:-4] + "AAA=", "padding|receiver|length"),
        (base64.b64encode(b"\x00" * 64).decode(), "padding|receiver|length|short"),
    ],
)
def test_garbage_ciphertext_is_rejected(crypto: WecomCrypto, encrypt: str, problem: str) -> None:
    with pytest.raises(CallbackDecryptError, match=problem):
        crypto.decrypt(encrypt)


def test_other_key_cannot_decrypt(crypto: WecomCrypto) -> None:
    other = WecomCrypto(TOKEN, OLD_KEY, CORP)
    with pytest.raises(CallbackDecryptError):
        other.decrypt(crypto.encrypt(b"secret message " * 3))


@pytest.mark.parametrize("given", ["0" * 40, "", "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebec", "签名"])
def test_bad_signatures_are_refused(crypto: WecomCrypto, given: str) -> None:
    with pytest.raises(CallbackSignatureError):
        crypto.verify(given, "1476416373", "47744683", ECHOSTR)


def test_signature_over_other_fields_is_refused(crypto: WecomCrypto) -> None:
    good = "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb"
    crypto.verify(good.upper(), "1476416373", "47744683", ECHOSTR)
    with pytest.raises(CallbackSignatureError):
        crypto.verify(good, "1476416374", "47744683", ECHOSTR)
    with pytest.raises(CallbackSignatureError):
        crypto.verify(good, "1476416373", "47744684", ECHOSTR)


@pytest.mark.parametrize("key", ["", "short", KEY + "A", "!" * 43, KEY[:-1] + "?"])
def test_encoding_aes_key_is_validated(key: str) -> None:
    with pytest.raises(ValueError):
        aes_key(key)


def test_parse_xml_reads_cdata_and_plain_children() -> None:
    data = build_xml({"ToUserName": CORP, "CreateTime": 1476416373, "Content": "<script>alert(1)</script> 😀"})
    assert parse_xml(data) == {"ToUserName": CORP, "CreateTime": "1476416373", "Content": "<script>alert(1)</script> 😀"}


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<xml><Encrypt>&lol2;</Encrypt></xml>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Encrypt>&xxe;</Encrypt></xml>"""
UTF16_LAUGHS = BILLION_LAUGHS.decode().replace('version="1.0"', 'version="1.0" encoding="UTF-16"')


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (BILLION_LAUGHS, "DOCTYPE"),
        (XXE, "DOCTYPE"),
        (b"<!doctype xml><xml/>", "well-formed"),  # not XML syntax (DOCTYPE is case-sensitive): refused by the parser
        (b"<xml><!ENTITY x 'y'></xml>", "well-formed"),
        (b"<xml><Encrypt>unclosed</xml>", "well-formed"),
        (b"", "well-formed"),
        (b"\xff\xfe\x00garbage", "well-formed"),
        (b"<html><Encrypt>x</Encrypt></html>", "root element"),
        (b"<xml>" + b"<A>x</A>" * 20000 + b"</xml>", "larger than"),
        (b"<xml><Encrypt>&undefined;</Encrypt></xml>", "well-formed"),
        # a byte pattern cannot see these: the parser's own refusal does, in any encoding
        (UTF16_LAUGHS.encode("utf-16"), "DOCTYPE"),
        (UTF16_LAUGHS.encode("utf-16-be"), "DOCTYPE"),
        (UTF16_LAUGHS.encode("utf-16-le"), "DOCTYPE"),
        ("<!DOCTYPE x><xml/>".encode("utf-16"), "DOCTYPE"),
        (b"\xef\xbb\xbf<!DOCTYPE x><xml/>", "DOCTYPE"),
        (b'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE x [<!ENTITY e "\xe5\xa5\xb6">]><xml><A>&e;</A></xml>', "DOCTYPE"),
    ],
)
def test_parse_xml_rejects_hostile_and_malformed_input(data: bytes, problem: str) -> None:
    with pytest.raises(MalformedXml, match=problem):
        parse_xml(data)
