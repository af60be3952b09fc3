// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title RlpLib
/// @notice Reads RLP items in place in calldata: no copies, no allocation, never reverts. Offsets are absolute
///         calldata offsets; every item is checked to end inside the range the caller gives.
/// @dev Item headers (Ethereum Yellow Paper, appendix B): a byte < 0x80 is itself a one-byte string; 0x80–0xb7 a
///      string of 0–55 bytes; 0xb8–0xbf a longer string whose length follows in 1–8 bytes; 0xc0–0xf7 and 0xf8–0xff
///      the same for lists. Canonical-form rules (no leading zeros, shortest header) are not enforced: the
///      signed-transaction reader below hashes the bytes exactly as given, so a non-canonical encoding can only make
///      the recovered signer differ.
library RlpLib {
    /// @notice The item starting at `offset`, which must end no later than `end`.
    /// @return ok False if the header or the payload runs past `end`.
    /// @return isList True for a list, false for a string.
    /// @return payload Calldata offset of the payload (for a one-byte string: the byte itself).
    /// @return length Payload length in bytes; the item ends at `payload + length`.
    function item(uint256 offset, uint256 end)
        internal
        pure
        returns (bool ok, bool isList, uint256 payload, uint256 length)
    {
        assembly ("memory-safe") {
            if lt(offset, end) {
                let b := byte(0, calldataload(offset))
                isList := gt(b, 0xbf)
                switch lt(b, 0x80)
                case 1 {
                    payload := offset
                    length := 1
                }
                default {
                    // 0..63 within the string (0x80) or list (0xc0) range
                    let short := sub(b, add(0x80, shl(6, isList)))
                    switch lt(short, 56)
                    case 1 {
                        payload := add(offset, 1)
                        length := short
                    }
                    default {
                        // 1..8 big-endian length bytes: the length stays below 2^64, so no sum below overflows
                        let n := sub(short, 55)
                        length := shr(sub(256, shl(3, n)), calldataload(add(offset, 1)))
                        payload := add(add(offset, 1), n)
                    }
                }
                ok := iszero(gt(add(payload, length), end))
            }
        }
    }

    /// @notice The big-endian unsigned integer of a string payload of at most 32 bytes (0 for the empty string).
    function toUint(uint256 payload, uint256 length) internal pure returns (uint256 value) {
        assembly ("memory-safe") {
            value := shr(shl(3, sub(32, length)), calldataload(payload))
        }
    }
}

/// @title SignedTxLib
/// @notice Reads a signed Ethereum transaction given as `txType (1 byte) ‖ rlp`, the form the MEE on-chain trigger
///         signature carries (spec §11.2): type 0x00 is a legacy transaction (the 0x00 is not part of the legacy
///         encoding, it is prepended by the node), type 0x02 an EIP-1559 transaction (its EIP-2718 encoding as is).
/// @dev Legacy: `rlp([nonce, gasPrice, gasLimit, to, value, data, v, r, s])`, signed over
///      `keccak256(rlp([nonce, …, data, chainId, 0, 0]))` when `v ≥ 35` (EIP-155) or `keccak256(rlp([nonce, …, data]))`
///      when `v ∈ {27, 28}`. EIP-1559: `rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gasLimit, to, value,
///      data, accessList, yParity, r, s])`, signed over `keccak256(0x02 ‖ rlp([chainId, …, accessList]))`.
///      The unsigned encoding is rebuilt from the signed bytes: the same fields up to `v`, under a new list header.
library SignedTxLib {
    /// @notice What a signed transaction tells: the hash its sender signed, the signature (v normalised to 27/28)
    ///         and the last 32 bytes of its `data`.
    struct SignedTx {
        bytes32 digest;
        uint256 v;
        bytes32 r;
        bytes32 s;
        bytes32 appended;
    }

    /// @notice Decodes the transaction in calldata `[start, end)` (`start` is the type byte).
    /// @return ok False for an unsupported type or anything malformed (including a `data` shorter than 32 bytes,
    ///         trailing bytes, or a v that fits neither the type nor EIP-155).
    function decode(uint256 start, uint256 end) internal pure returns (bool ok, SignedTx memory t) {
        if (start >= end) return (false, t);
        uint256 txType;
        assembly ("memory-safe") {
            txType := byte(0, calldataload(start))
        }
        if (txType != 0x00 && txType != 0x02) return (false, t);
        (bool listOk, bool isList, uint256 payload, uint256 length) = RlpLib.item(start + 1, end);
        if (!listOk || !isList || payload + length != end) return (false, t);
        uint256 vStart;
        (ok, vStart) = _fields(payload, end, txType == 0x02 ? 7 : 5, t);
        if (ok) ok = _signingHash(txType, payload, vStart, t);
    }

    /// @dev Walks the list items in `[payload, end)`: `data` at index `dataIndex`, then (after the access list for
    ///      EIP-1559) v, r and s as the last three items; nothing may follow s. Returns where v starts.
    function _fields(uint256 payload, uint256 end, uint256 dataIndex, SignedTx memory t)
        private
        pure
        returns (bool ok, uint256 vStart)
    {
        // legacy: data is item 5, v item 6; EIP-1559: data is item 7, the access list 8, v item 9
        uint256 vIndex = dataIndex == 5 ? 6 : 9;
        uint256 cursor = payload;
        for (uint256 i; i < vIndex + 3; ++i) {
            (bool itemOk, bool isList, uint256 p, uint256 len) = RlpLib.item(cursor, end);
            if (!itemOk) return (false, 0);
            if (i == dataIndex) {
                if (isList || len < 32) return (false, 0);
                bytes32 appended;
                assembly ("memory-safe") {
                    appended := calldataload(sub(add(p, len), 32))
                }
                t.appended = appended;
            } else if (i >= vIndex) {
                if (isList || len > 32) return (false, 0);
                uint256 value = RlpLib.toUint(p, len);
                if (i == vIndex) {
                    vStart = cursor;
                    t.v = value;
                } else if (i == vIndex + 1) {
                    t.r = bytes32(value);
                } else {
                    t.s = bytes32(value);
                }
            }
            cursor = p + len;
        }
        ok = cursor == end;
    }

    /// @dev Sets `t.digest` from the unsigned fields `[payload, vStart)` and normalises `t.v` to 27/28.
    function _signingHash(uint256 txType, uint256 payload, uint256 vStart, SignedTx memory t)
        private
        pure
        returns (bool)
    {
        uint256 rawV = t.v;
        // suffix: EIP-155's `rlp(chainId) ‖ 0x80 ‖ 0x80`, left-aligned in one word
        uint256 suffix;
        uint256 suffixLength;
        if (txType == 0x02) {
            if (rawV > 1) return false;
            t.v = rawV + 27;
        } else if (rawV != 27 && rawV != 28) {
            if (rawV < 35) return false;
            uint256 chainId = (rawV - 35) >> 1;
            t.v = 27 + ((rawV - 35) & 1);
            assembly ("memory-safe") {
                switch lt(chainId, 0x80)
                case 1 {
                    // a single byte, or 0x80 for zero
                    suffix := or(shl(248, or(chainId, shl(7, iszero(chainId)))), shl(232, 0x8080))
                    suffixLength := 3
                }
                default {
                    let n := 0
                    for {} shr(shl(3, n), chainId) { n := add(n, 1) } {}
                    suffix := or(
                        or(shl(248, add(0x80, n)), shl(sub(248, shl(3, n)), chainId)),
                        shl(sub(232, shl(3, n)), 0x8080)
                    )
                    suffixLength := add(n, 3)
                }
            }
            if (suffixLength > 32) return false; // chain ids beyond 29 bytes: not a real transaction
        }
        bytes32 digest;
        assembly ("memory-safe") {
            let m := mload(0x40)
            let ptr := m
            if eq(txType, 0x02) {
                mstore8(ptr, 0x02)
                ptr := add(ptr, 1)
            }
            let content := sub(vStart, payload)
            let total := add(content, suffixLength)
            switch lt(total, 56)
            case 1 {
                mstore8(ptr, add(0xc0, total))
                ptr := add(ptr, 1)
            }
            default {
                let n := 0
                for {} shr(shl(3, n), total) { n := add(n, 1) } {}
                mstore8(ptr, add(0xf7, n))
                mstore(add(ptr, 1), shl(sub(256, shl(3, n)), total))
                ptr := add(add(ptr, 1), n)
            }
            calldatacopy(ptr, payload, content)
            ptr := add(ptr, content)
            mstore(ptr, suffix)
            ptr := add(ptr, suffixLength)
            digest := keccak256(m, sub(ptr, m))
        }
        t.digest = digest;
        return true;
    }
}
