"""FastLZ (level 1) as solady's ``LibZip`` does it: the compression of ENABLE signature payloads (spec Appendix B).

Any valid FastLZ stream decompresses on chain, but byte-identity with the reference SDK (and so with the userOp
hash the node computes) needs this exact encoder, quirks included: the hash multiplies in IEEE-754 doubles, the
match length runs one past the last equal byte, and no match starts in the last 14 bytes.

It runs in pure Python on every ENABLE signature, so :func:`flz_compress` is written for CPython's costs rather than
as a transcription of the reference; tests/vectors/flz.json (written by the reference) holds it to the same bytes.

Decompression validates the stream and raises :class:`~smartsessions.errors.EncodingError` on truncation or on a
back-reference before the start of the output, where the JavaScript reference would silently produce garbage.
"""

from __future__ import annotations

import sys
from math import trunc

from .._coerce import to_bytes
from ..errors import EncodingError

__all__ = ["flz_compress", "flz_decompress"]

# The reference hashes a 24-bit value x as ((2654435769 * x) >> 19) & 8191 in JavaScript: the product is a double
# (up to 56 bits, so rounded to 53), of which ToInt32 keeps the low 32 bits. Bits 19..31 of the rounded product are
# trunc(x * _HASH_SCALE) & 8191: scaling by 2**-19 is exact in binary floating point, so rounding the scaled product
# rounds the same way, and math.trunc is the cheapest float-to-int conversion (about half of int()'s cost). Checked
# against the reference for all 2**24 values of x, and in tests/unit/test_properties.py against an exact model.
_HASH_SCALE = 2654435769.0 / (1 << 19)
_MAX_OUTPUT = 1 << 26  # 64 MiB: a bound so that a hostile stream cannot exhaust memory
# Where the three bytes of a position go inside a native 32-bit word (see _u24_words): low, middle, high.
_LANES = (0, 1, 2) if sys.byteorder == "little" else (3, 2, 1)


def _u24_words(ib: bytes) -> memoryview:
    """``w[i] == ib[i] | ib[i+1] << 8 | ib[i+2] << 16`` for every position with three bytes left, built at C speed.

    The encoder reads this little-endian 24-bit value at every position it hashes, at each candidate match and after
    each match: as a Python expression per position (a slice and ``int.from_bytes``) it was the loop's largest cost.
    Here three strided slice assignments lay the bytes out as 32-bit words whose fourth byte is zero, in the machine's
    byte order, and a ``memoryview`` cast reads them as integers without creating a list.
    """
    count = max(len(ib) - 2, 0)
    words = bytearray(4 * count)
    lo, mid, hi = _LANES
    words[lo::4] = ib[:count]
    words[mid::4] = ib[1 : count + 1]
    words[hi::4] = ib[2 : count + 2]
    return memoryview(words).cast("I")


def flz_compress(data: object) -> bytes:
    """Compress ``data`` (bytes or ``0x`` hex) exactly as solady's JavaScript ``LibZip.flzCompress``.

    The reference's algorithm, arranged for CPython, where each statement costs tens of nanoseconds and the search
    visits every position that no match covers:

    * the 24-bit value at a position comes from :func:`_u24_words`; a candidate matches when its value is equal and
      it is less than 8192 bytes back (the reference's ``c = 0x1000000`` for a far candidate never equals a 24-bit
      value), tested in that order because most candidates differ;
    * the search is a ``for`` loop over a ``range``, left at a match and resumed after it;
    * the match length comes from XOR over chunks (see below), and tokens are emitted inline.

    The reference tests ``i < b - 9`` only after stepping past a match's start, so it never takes a match that starts
    at ``b - 10`` or later; the search stops there, 14 bytes before the end. Every read therefore stays inside the
    data (the reference's reads past the end, ``undefined | 0``, never happen).
    """
    ib = bytes(to_bytes(data, field="data"))
    n = len(ib)
    b = n - 4
    last = b - 10
    ob = bytearray()
    emit = ob.append
    extend = ob.extend
    a = 0
    if last > 2:
        w = _u24_words(ib)
        ht = [0] * 8192
        scale = _HASH_SCALE
        from_be = int.from_bytes
        i = 2
        while True:
            for i in range(i, last):  # noqa: B020 -- resumes the search where the last match ended
                s = w[i]
                h = trunc(s * scale) & 8191
                r = ht[h]
                ht[h] = i
                if w[r] == s and i - r < 8192:
                    break
            else:
                break
            if i > a:  # the literals before the match
                _literals(ob, ib, a, i)
            # Match extension: the length of the common run from r+3 / i+3 (at most e), plus one when it ends on a
            # mismatch (the reference's l++ after the failing compare). The first differing byte is the highest set
            # byte of the XOR of the two chunks read big-endian, so a match costs a few C-speed operations instead of
            # a Python loop per byte. The first chunk (32 bytes) holds most matches' end; later chunks double so that
            # a long run of zeros takes few turns.
            p = r + 3
            q = i + 3
            e = b - q
            k = 32 if e > 32 else e
            x = from_be(ib[p : p + k]) ^ from_be(ib[q : q + k])
            if x:
                length = k + 1 - ((x.bit_length() + 7) >> 3)
            else:
                length = k
                step = 64
                while length < e:
                    k = e - length
                    if k > step:
                        k = step
                    x = from_be(ib[p + length : p + length + k]) ^ from_be(ib[q + length : q + length + k])
                    if x:
                        length += k + 1 - ((x.bit_length() + 7) >> 3)
                        break
                    length += k
                    step <<= 1
            d = i - r - 1
            i += length
            if length > 262:
                full = (length - 263) // 262 + 1  # the reference emits one 262-byte token per loop turn
                extend(bytes((224 + (d >> 8), 253, d & 255)) * full)
                length -= 262 * full
            if length < 7:
                emit((length << 5) + (d >> 8))
                emit(d & 255)
            else:
                emit(224 + (d >> 8))
                emit(length - 7)
                emit(d & 255)
            ht[trunc(w[i] * scale) & 8191] = i
            i += 1
            ht[trunc(w[i] * scale) & 8191] = i
            i += 1
            a = i
    _literals(ob, ib, a, n)  # the trailing literals
    return bytes(ob)


def _literals(ob: bytearray, ib: bytes, start: int, end: int) -> None:
    """``ib[start:end]`` as literal runs of at most 32 bytes, each after its length - 1."""
    while end - start >= 32:
        ob.append(31)
        ob.extend(ib[start : start + 32])
        start += 32
    if end > start:
        ob.append(end - start - 1)
        ob.extend(ib[start:end])


def flz_decompress(data: object) -> bytes:
    """Decompress a FastLZ stream, as ``LibZip.flzDecompress`` on chain; malformed streams raise ``EncodingError``."""
    ib = bytes(to_bytes(data, field="data"))
    n = len(ib)
    ob = bytearray()
    i = 0
    while i < n:
        t = ib[i] >> 5
        if t == 0:
            count = 1 + ib[i]
            if i + 1 + count > n:
                raise _corrupt(f"a literal run of {count} bytes at offset {i} passes the end of the data")
            ob.extend(ib[i + 1 : i + 1 + count])
            i += 1 + count
            continue
        short = t < 7
        need = 2 if short else 3
        if i + need > n:
            raise _corrupt(f"a back-reference at offset {i} is cut off")
        f = 256 * (ib[i] & 31) + ib[i + need - 1]
        length = 2 + t if short else 9 + ib[i + 1]
        i += need
        start = len(ob) - f - 1
        if start < 0:
            raise _corrupt(f"a back-reference at offset {i - need} points {f + 1} bytes back, before the output")
        if len(ob) + length > _MAX_OUTPUT:
            raise _corrupt("the decompressed size exceeds 64 MiB")
        if f + 1 >= length:
            ob.extend(ob[start : start + length])
        else:  # overlapping copy: byte by byte semantics
            for k in range(length):
                ob.append(ob[start + k])
    return bytes(ob)


def _corrupt(why: str) -> EncodingError:
    return EncodingError(
        "Cannot decompress: the FastLZ data is truncated or corrupt.",
        meta_messages=["Pass the bytes after the mode byte of an ENABLE signature, unmodified."],
        details=why,
    )
