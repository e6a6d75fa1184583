"""gRPC over HTTP/2, the parts a server writes itself: message framing, status trailers, details.

Each message is a 1-byte compressed flag, a 4-byte big-endian length and the protobuf bytes
(gRPC's PROTOCOL-HTTP2.md). We never compress and refuse compressed input: we advertise
``grpc-accept-encoding: identity`` so a well-behaved client never sends any.
"""

from __future__ import annotations

import base64
import struct
import urllib.parse

from google.protobuf import duration_pb2

# googleapis-common-protos ships no type information; unused-ignore keeps this quiet once
# pyproject grows an ignore_missing_imports override for google.rpc.
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped, unused-ignore]

from baton_cli.errors import StatusCode

CONTENT_TYPE = "application/grpc"
_PREFIX = struct.Struct(">BI")
# Larger than an UploadAsset data message (1 MiB, wire.md) plus room for its envelope.
DEFAULT_MAX_MESSAGE = 4 * 1024 * 1024


class GrpcError(Exception):
    """Ends a call with a non-OK status; ``details`` is a serialized google.rpc.Status or None."""

    def __init__(self, code: StatusCode, message: str, details: bytes | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


def encode_message(payload: bytes) -> bytes:
    return _PREFIX.pack(0, len(payload)) + payload


class MessageDecoder:
    """Incremental: feed it DATA frame payloads as they arrive, get whole messages out."""

    def __init__(self, max_message: int = DEFAULT_MAX_MESSAGE) -> None:
        self._buffer = bytearray()
        self._max = max_message

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        messages: list[bytes] = []
        while len(self._buffer) >= _PREFIX.size:
            flag, length = _PREFIX.unpack_from(self._buffer)
            if flag != 0:
                raise GrpcError(StatusCode.UNIMPLEMENTED, "compressed messages are not supported")
            if length > self._max:
                raise GrpcError(
                    StatusCode.RESOURCE_EXHAUSTED, f"message of {length} bytes exceeds {self._max}"
                )
            end = _PREFIX.size + length
            if len(self._buffer) < end:
                break
            messages.append(bytes(self._buffer[_PREFIX.size : end]))
            del self._buffer[:end]
        return messages

    @property
    def partial(self) -> bool:
        """True while a message has started but not finished: the stream ended mid-message."""
        return bool(self._buffer)


def _percent_encode(message: str) -> str:
    # grpc-message is percent-encoded UTF-8; printable ASCII except '%' passes through.
    return urllib.parse.quote(message, safe=" !\"#$&'()*+,-./:;<=>?@[\\]^_`{|}~")


def trailers(code: StatusCode, message: str = "", details: bytes | None = None) -> list[tuple[str, str]]:
    result = [("grpc-status", str(int(code)))]
    if message:
        result.append(("grpc-message", _percent_encode(message)))
    if details is not None:
        result.append(("grpc-status-details-bin", base64.b64encode(details).rstrip(b"=").decode("ascii")))
    return result


def retry_info_details(code: StatusCode, message: str, retry_after: float) -> bytes:
    """A google.rpc.Status carrying RetryInfo, as throttling platforms send with RESOURCE_EXHAUSTED."""
    delay = duration_pb2.Duration()
    delay.FromNanoseconds(int(retry_after * 1e9))
    detail = status_pb2.Status(code=int(code), message=message)
    detail.details.add().Pack(error_details_pb2.RetryInfo(retry_delay=delay))
    encoded: bytes = detail.SerializeToString()
    return encoded
