"""Deterministic test payloads: the same (tag, size) always gives the same bytes."""

import hashlib
import random

CHUNK = 1 << 20


def chunks(tag, size):
    """Yields the payload for (tag, size) in chunks of at most 1 MiB."""
    index = 0
    while size > 0:
        n = min(CHUNK, size)
        yield random.Random(f"{tag}/{index}").randbytes(n)
        size -= n
        index += 1


def blob(tag, size):
    return b"".join(chunks(tag, size))


def sha256(tag, size):
    digest = hashlib.sha256()
    for chunk in chunks(tag, size):
        digest.update(chunk)
    return digest.hexdigest()
