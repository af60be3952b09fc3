// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice FastLZ (level 1) decompression of calldata into memory, with the semantics of solady's
/// `LibZip.flzDecompress` (spec Appendix B).
///
/// The stream is a sequence of tokens; the top 3 bits of a token's first byte `c` give its kind `t = c >> 5`:
///   t == 0        literal run: the next c + 1 bytes (1..32) are copied to the output;
///   1 <= t <= 6   short match: length t + 2, distance 256 * (c & 31) + next byte, 2 bytes in total;
///   t == 7        long match:  length 9 + next byte, distance 256 * (c & 31) + the byte after, 3 bytes in total.
/// A match copies `length` bytes starting `distance + 1` bytes before the current end of the output, byte by byte,
/// so a match may overlap its own output (a run).
///
/// A match that reaches back before the start of the output is malformed and reverts (no data). Truncated tokens
/// read zero bytes past the end of calldata, as `calldataload` does.
function flzDecompressCalldata(bytes calldata data) pure returns (bytes memory out) {
    assembly ("memory-safe") {
        out := mload(0x40)
        let start := add(out, 0x20)
        let op := start
        let ip := data.offset
        let ipEnd := add(ip, data.length)
        for {} lt(ip, ipEnd) {} {
            let w := calldataload(ip)
            let c := byte(0, w)
            let t := shr(5, c)
            if iszero(t) {
                // Literal run of c + 1 <= 32 bytes: one word copy (the tail beyond the run is overwritten later).
                mstore(op, calldataload(add(ip, 1)))
                ip := add(ip, add(c, 2))
                op := add(op, add(c, 1))
                continue
            }
            let len := add(t, 2)
            let dist := add(shl(8, and(c, 31)), byte(1, w))
            ip := add(ip, 2)
            if eq(t, 7) {
                len := add(9, byte(1, w))
                dist := add(shl(8, and(c, 31)), byte(2, w))
                ip := add(ip, 1)
            }
            // The source starts q = dist + 1 bytes back. A byte-by-byte copy makes the match periodic with period
            // q, so a chunk of at most q bytes read from q bytes back is already final. After each such chunk, twice
            // that reach is equally valid (it lands on the source again), so the reach doubles until it covers a
            // word (1, 2, 4, ... bytes per step for a run of one byte); then the copy proceeds 32 bytes at a time.
            let q := add(dist, 1)
            if lt(sub(op, start), q) { revert(0, 0) }
            let matchEnd := add(op, len)
            for {} and(lt(q, 0x20), lt(op, matchEnd)) {} {
                mstore(op, mload(sub(op, q)))
                op := add(op, q)
                q := add(q, q)
            }
            for {} lt(op, matchEnd) { op := add(op, 0x20) } { mstore(op, mload(sub(op, q))) }
            op := matchEnd
        }
        mstore(out, sub(op, start))
        mstore(op, 0) // clean the word after the data
        mstore(0x40, and(add(op, 0x3f), not(0x1f)))
    }
}
