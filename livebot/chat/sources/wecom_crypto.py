"""WeCom callback encryption (企业微信 回调加解密) and a guarded XML reader.

- ``msg_signature = sha1("".join(sorted([token, timestamp, nonce, encrypt])))`` (plain SHA-1).
- AES-256-CBC, key = base64(EncodingAESKey + "="), IV = key[:16], PKCS#7 to 32-byte blocks.
- Plaintext = random(16) + length(4, big-endian) + message + receiveid (the corp id).

AES and the padding come from ``cryptography``; nothing here is hand-rolled crypto. The XML
reader caps the size before the parser sees a byte and parses with ``defusedxml``, which
refuses DOCTYPE, ENTITY and external references inside the parser (XXE, billion laughs) in
whatever encoding the document is written (UTF-16, byte order marks), where a byte-pattern
check would be blind.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
import xml.etree.ElementTree as ET

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring

from livebot.chat.errors import SignatureError
from livebot.errors import ValidationError

BLOCK_BITS = 256
MAX_XML_BYTES = 64 * 1024


class CallbackSignatureError(SignatureError):
    """``msg_signature`` does not match, or the timestamp is outside the allowed window (401)."""


class CallbackDecryptError(ValidationError):
    """The ciphertext is not valid base64/AES/PKCS#7, or was meant for another receiver (400)."""

    def __init__(self, problem: str) -> None:
        super().__init__("Encrypt", problem)


class MalformedXml(ValidationError):
    """The XML is not well formed, too large, or declares a DOCTYPE/ENTITY (400)."""

    def __init__(self, problem: str) -> None:
        super().__init__("xml", problem)


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key behind a 43-character EncodingAESKey; ValueError when it is not one."""
    if len(encoding_aes_key) != 43:
        raise ValueError("must be 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as err:
        raise ValueError("is not base64") from err
    if len(key) != 32:
        raise ValueError("does not decode to 32 bytes")
    return key


def msg_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """SHA-1 hex of the four strings sorted and concatenated."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode()).hexdigest()


class WecomCrypto:
    """Sign, verify, encrypt and decrypt for one callback configuration (token, key, receiver)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self.token = token
        self.key = aes_key(encoding_aes_key)
        self.receive_id = receive_id

    def signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return msg_signature(self.token, timestamp, nonce, encrypt)

    def verify(self, given: str, timestamp: str, nonce: str, encrypt: str) -> None:
        """Raise :class:`CallbackSignatureError` unless ``given`` is the signature (constant time)."""
        expected = self.signature(timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected.encode(), given.strip().lower().encode("utf-8", "replace")):
            raise CallbackSignatureError("msg_signature does not match")

    def cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def decrypt(self, encrypt: str) -> bytes:
        """The message inside ``encrypt``; checks padding, the length field and the receiver id."""
        try:
            data = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError) as err:
            raise CallbackDecryptError("is not base64") from err
        if not data or len(data) % 32:
            raise CallbackDecryptError(f"ciphertext length {len(data)} is not a multiple of 32")
        decryptor = self.cipher().decryptor()
        padded = decryptor.update(data) + decryptor.finalize()
        unpadder = padding.PKCS7(BLOCK_BITS).unpadder()
        try:
            plain = unpadder.update(padded) + unpadder.finalize()
        except ValueError as err:
            raise CallbackDecryptError("bad PKCS#7 padding") from err
        if len(plain) < 20:
            raise CallbackDecryptError("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise CallbackDecryptError("message length field exceeds the plaintext")
        message, receiver = plain[20 : 20 + length], plain[20 + length :]
        if not hmac.compare_digest(receiver, self.receive_id.encode()):
            raise CallbackDecryptError("message is for another receiver id")
        return message

    def encrypt(self, message: bytes, random16: bytes | None = None) -> str:
        """Base64 ciphertext of ``message`` as WeCom sends it (for fakes, tests and replies)."""
        prefix = random16 if random16 is not None else os.urandom(16)
        if len(prefix) != 16:
            raise ValueError("random prefix must be 16 bytes")
        plain = prefix + struct.pack(">I", len(message)) + message + self.receive_id.encode()
        padder = padding.PKCS7(BLOCK_BITS).padder()
        padded = padder.update(plain) + padder.finalize()
        encryptor = self.cipher().encryptor()
        return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


def parse_xml(data: bytes, max_bytes: int = MAX_XML_BYTES) -> dict[str, str]:
    """The ``<xml>`` root's children as ``{tag: text}``; nested children are ignored.

    Raises :class:`MalformedXml` for oversize input, DOCTYPE/ENTITY declarations, broken XML
    or another root element.
    """
    if len(data) > max_bytes:
        raise MalformedXml(f"larger than {max_bytes} bytes")
    try:
        root = defused_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise MalformedXml("DOCTYPE and ENTITY declarations are not accepted") from None
    except ET.ParseError as err:
        raise MalformedXml(f"not well-formed: {err}") from err
    except ValueError as err:  # expat: "multi-byte encodings are not supported" (UTF-16 declared, no BOM)
        raise MalformedXml(f"not readable: {err}") from None
    if root.tag != "xml":
        raise MalformedXml(f"root element is <{root.tag}>, expected <xml>")
    return {child.tag: (child.text or "").strip() for child in root}


def build_xml(fields: dict[str, str | int]) -> bytes:
    """``<xml>`` with CDATA text children, as WeCom writes callbacks (used by fakes and tests)."""
    parts = []
    for tag, value in fields.items():
        text = str(value)
        parts.append(f"<{tag}>{text}</{tag}>" if isinstance(value, int) else f"<{tag}><![CDATA[{text}]]></{tag}>")
    return ("<xml>" + "".join(parts) + "</xml>").encode()
