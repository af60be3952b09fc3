"""FastLZ (level 1) as solady's ``LibZip`` does it: the compression of ENABLE signature payloads (spec Appendix B).

Any valid FastLZ stream decompresses on chain, but byte-identity with the reference SDK (and so with the userOp
hash the node computes) needs this exact encoder, quirks included: the hash multiplies in IEEE-754 doubles, and the
match length runs one past the last equal byte.

Decompression validates the stream and raises :class:`~smartsessions.errors.EncodingError` on truncation or on a
back-reference before the start of the output, where the JavaScript reference would silently produce garbage.
"""

from __future__ import annotations

from .._coerce import to_bytes
from ..errors import EncodingError

__all__ = ["flz_compress", "flz_decompress"]

_MULT = 2654435769.0  # multiplied as a double, as in JavaScript
_MAX_OUTPUT = 1 << 26  # 64 MiB: a bound so that a hostile stream cannot exhaust memory


def flz_compress(data: object) -> bytes:
    """Compress ``data`` (bytes or ``0x`` hex) exactly as solady's JavaScript ``LibZip.flzCompress``."""
    ib = bytes(to_bytes(data, field="data"))
    n = len(ib)
    b = n - 4
    padded = ib + b"\x00\x00\x00"  # reads past the end see zeros, as JavaScript's undefined | 0 does
    ht = [0] * 8192
    ob = bytearray()
    a = 0
    i = 2
    limit = b - 9

    def literals(r: int, s: int) -> None:
        while r >= 32:
            ob.append(31)
            ob.extend(ib[s : s + 32])
            s += 32
            r -= 32
        if r:
            ob.append(r - 1)
            ob.extend(ib[s : s + r])

    mult = _MULT
    from_le = int.from_bytes
    while i < limit:
        while True:
            s = padded[i : i + 3]
            h = (int(mult * from_le(s, "little")) >> 19) & 8191
            r = ht[h]
            ht[h] = i
            d = i - r
            if i >= limit:
                break
            i += 1
            if d < 8192 and s == padded[r : r + 3]:
                break
        if i >= limit:
            break
        i -= 1
        if i > a:
            literals(i - a, a)
        # Match extension: the length of the common run from r+3 / i+3 (at most e), plus one when it ends on a
        # mismatch (the reference's l++ after the failing compare). The first differing byte is found with XOR on
        # growing chunks, so a long match costs a few C-speed comparisons instead of a Python loop per byte.
        p = r + 3
        q = i + 3
        e = b - q
        n_match = 0
        step = 32
        while n_match < e:
            k = min(step, e - n_match)
            x = int.from_bytes(ib[p + n_match : p + n_match + k], "big") ^ int.from_bytes(
                ib[q + n_match : q + n_match + k], "big"
            )
            if x:
                n_match += k - ((x.bit_length() + 7) >> 3) + 1
                break
            n_match += k
            step <<= 1
        i += n_match
        d -= 1
        if n_match > 262:
            full = (n_match - 263) // 262 + 1  # the reference emits one 262-byte token per loop turn
            ob.extend(bytes((224 + (d >> 8), 253, d & 255)) * full)
            n_match -= 262 * full
        if n_match < 7:
            ob.append((n_match << 5) + (d >> 8))
            ob.append(d & 255)
        else:
            ob.append(224 + (d >> 8))
            ob.append(n_match - 7)
            ob.append(d & 255)
        ht[(int(mult * (padded[i] | (padded[i + 1] << 8) | (padded[i + 2] << 16))) >> 19) & 8191] = i
        i += 1
        ht[(int(mult * (padded[i] | (padded[i + 1] << 8) | (padded[i + 2] << 16))) >> 19) & 8191] = i
        i += 1
        a = i
    literals(b + 4 - a, a)
    return bytes(ob)


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
