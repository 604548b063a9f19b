"""RESP encoding of the feature store's pipelined script calls, packed in one pass.

redis-py packs a pipeline command by command (encoding and length-prefixing every
argument, ~10 us each); the feature store sends hundreds of calls per batch that differ
only in key and events, so it writes the bytes itself: the same wire format, built from
a prefix shared by every call.
"""

from __future__ import annotations

from collections.abc import Sequence


def bulk(value: bytes) -> bytes:
    """One RESP bulk string.

    >>> bulk(b"abc")
    b'$3\\r\\nabc\\r\\n'
    """
    return b"$%d\r\n%s\r\n" % (len(value), value)


def evalsha_pipeline(
    sha: bytes, ring_size: int, keys: Sequence[bytes], payloads: Sequence[bytes]
) -> bytes:
    """``EVALSHA sha 1 key ring_size payload`` for each (key, payload), back to back.

    >>> evalsha_pipeline(b"s", 16, [b"k"], [b"ev"])
    b'*6\\r\\n$7\\r\\nEVALSHA\\r\\n$1\\r\\ns\\r\\n$1\\r\\n1\\r\\n$1\\r\\nk\\r\\n$2\\r\\n16\\r\\n$2\\r\\nev\\r\\n'
    """
    head = b"*6\r\n$7\r\nEVALSHA\r\n" + bulk(sha) + bulk(b"1")
    ring = bulk(str(ring_size).encode())
    parts: list[bytes] = []
    append = parts.append
    for key, payload in zip(keys, payloads, strict=True):
        append(head)
        append(b"$%d\r\n%s\r\n" % (len(key), key))
        append(ring)
        append(b"$%d\r\n" % len(payload))
        append(payload)
        append(b"\r\n")
    return b"".join(parts)
