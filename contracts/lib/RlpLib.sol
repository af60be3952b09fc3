// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title RlpLib
/// @notice Reads RLP item headers in place in calldata: no copies, no allocation, never reverts. Offsets are absolute
///         calldata offsets; bounds are the caller's business.
/// @dev Item headers (Ethereum Yellow Paper, appendix B): a byte < 0x80 is itself a one-byte string; 0x80–0xb7 a
///      string of 0–55 bytes; 0xb8–0xbf a longer string whose length follows in 1–8 bytes; 0xc0–0xf7 and 0xf8–0xff
///      the same for lists. Canonical-form rules (no leading zeros, shortest header) are not enforced: the
///      signed-transaction reader below hashes the bytes exactly as given, so a non-canonical encoding can only make
///      the recovered signer differ.
library RlpLib {
    /// @notice The header of the item starting at `offset`.
    /// @return isList True for a list, false for a string.
    /// @return payload Calldata offset of the payload (for a one-byte string: the byte itself).
    /// @return size Length of the whole item, header included: it ends at `offset + size`. Below 2^64 + 9.
    function header(uint256 offset) internal pure returns (bool isList, uint256 payload, uint256 size) {
        assembly ("memory-safe") {
            let b := byte(0, calldataload(offset))
            isList := gt(b, 0xbf)
            switch lt(b, 0x80)
            case 1 {
                payload := offset
                size := 1
            }
            default {
                // 0..63 within the string (0x80) or list (0xc0) range
                let short := sub(b, add(0x80, shl(6, isList)))
                switch lt(short, 56)
                case 1 {
                    payload := add(offset, 1)
                    size := add(short, 1)
                }
                default {
                    // 1..8 big-endian length bytes
                    let n := sub(short, 55)
                    payload := add(add(offset, 1), n)
                    size := add(add(n, 1), shr(sub(256, shl(3, n)), calldataload(add(offset, 1))))
                }
            }
        }
    }

    /// @notice The big-endian unsigned integer of a payload of at most 32 bytes (0 for the empty string).
    function toUint(uint256 payload, uint256 length) internal pure returns (uint256 value) {
        assembly ("memory-safe") {
            value := shr(shl(3, sub(32, length)), calldataload(payload))
        }
    }
}

/// @title SignedTxLib
/// @notice Reads the MEE on-chain trigger payload (spec §11.2/§11.4): `txType (1 byte) ‖ rlpSignedTx ‖ proof items
///         (32 bytes each) ‖ uint8 proofCount ‖ trailer` (the trailer is the two uint48 timestamps of the full
///         layout, absent from the short one). Type 0x00 is a legacy transaction (the 0x00 is not part of the legacy
///         encoding, it is prepended by the node), type 0x02 an EIP-1559 transaction (its EIP-2718 encoding as is).
/// @dev Legacy: `rlp([nonce, gasPrice, gasLimit, to, value, data, v, r, s])`, signed over
///      `keccak256(rlp([nonce, …, data, chainId, 0, 0]))` when `v ≥ 35` (EIP-155) or `keccak256(rlp([nonce, …, data]))`
///      when `v ∈ {27, 28}`. EIP-1559: `rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gasLimit, to, value,
///      data, accessList, yParity, r, s])`, signed over `keccak256(0x02 ‖ rlp([chainId, …, accessList]))`.
///      The unsigned encoding is rebuilt from the signed bytes: the same fields up to `v`, under a new list header.
///
///      Malformed payloads revert with the revert data of production's K1MeeValidator 1.0.1 (`TxValidatorLib`, which
///      copies the RLP to memory and walks it with a lenient reader), checked in its order, so that a userOp carrying
///      one fails validation the same way (AA23) on the devnet and in production:
///      1. empty payload: Panic(0x32) (the type byte is read first);
///      2. payload shorter than the trailer plus the count byte, or than the count's proof items: Panic(0x11);
///      3. no byte before the proof for the type (it is the count byte itself), an RLP part that is empty or not a
///         list, or one whose items (read one after the other from the list's payload up to the end of the RLP part,
///         whatever length the list header declares) do not end exactly there: empty revert data;
///      4. a type other than 0x00 and 0x02: `Error("TxValidatorLib:: unsupported evm tx type")`;
///      5. for v, then r, then s: fewer items than its position (Panic(0x32)), or an item longer than 33 bytes
///         (empty revert data);
///      6. a `data` payload shorter than 32 bytes: `Error("TxDecoder:: callData length too short")`.
///      Anything else decodes, and is reported as unusable (`ok = false`) when it is not a transaction: items after
///      s, a list where a string belongs, or an EIP-155 chain id longer than 29 bytes. v is read as production does
///      for both types: 0 and 1 are the parity, 37 and above EIP-155 (the chain id counts in a legacy transaction's
///      hash only), other values as they are; so an EIP-1559 transaction with v 27 or 28, or a legacy one with v 0
///      or 1 (unprotected), recovers its signer too. A well-formed transaction signed by anyone never reverts.
library SignedTxLib {
    /// @notice What a signed transaction tells: the hash its sender signed, the signature (v as production
    ///         normalises it: 27/28 for a parity, see above) and the last 32 bytes of its `data`.
    struct SignedTx {
        bytes32 digest;
        uint256 v;
        bytes32 r;
        bytes32 s;
        bytes32 appended;
    }

    /// @dev Solidity panic codes production's checked arithmetic and index accesses raise.
    uint256 private constant PANIC_ARITHMETIC = 0x11;
    uint256 private constant PANIC_INDEX_OUT_OF_BOUNDS = 0x32;

    /// @notice Splits the payload `[start, start + length)` (after the 4-byte signature type) whose last `trailer`
    ///         bytes follow the proof count; reverts for checks 1 and 2 and the first of 3 (see above). Production
    ///         then copies the RLP part to memory, with the checks of a calldata-to-memory copy (the caller's).
    /// @return rlpEnd Where the RLP part (and the proof) ends; the transaction is `[start, rlpEnd)`.
    /// @return proofCount The number of 32-byte proof items at `rlpEnd`.
    function split(uint256 start, uint256 length, uint256 trailer)
        internal
        pure
        returns (uint256 rlpEnd, uint256 proofCount)
    {
        if (length == 0) _panic(PANIC_INDEX_OUT_OF_BOUNDS);
        if (length <= trailer) _panic(PANIC_ARITHMETIC);
        assembly ("memory-safe") {
            proofCount := byte(0, calldataload(sub(add(start, length), add(trailer, 1))))
        }
        uint256 appended = (proofCount << 5) + 1 + trailer;
        if (length < appended) _panic(PANIC_ARITHMETIC);
        if (length == appended) revert();
        // modulo 2^256, as production's calldata slices: an ERC-6492-unwrapped signature may claim any length
        unchecked {
            rlpEnd = start + length - appended;
        }
    }

    /// @notice Decodes the transaction in calldata `[start, end)` (`start` is the type byte, `start < end`); reverts
    ///         for checks 3 to 6 (see above).
    /// @return ok False if the bytes are not a signed transaction of the type (see above).
    function decode(uint256 start, uint256 end) internal pure returns (bool ok, SignedTx memory t) {
        uint256 txType;
        uint256 first;
        uint256 dataAt;
        uint256 vAt;
        uint256 count;
        assembly ("memory-safe") {
            txType := byte(0, calldataload(start))
            let cursor := add(start, 1)
            // an empty RLP or a string: not a list
            let b := byte(0, calldataload(cursor))
            if or(eq(cursor, end), lt(b, 0xc0)) { revert(0x00, 0x00) }
            // skip the list header without reading the length it declares
            cursor := add(cursor, add(1, mul(gt(b, 0xf7), sub(b, 0xf7))))
            first := cursor
            // legacy: data is item 5, v item 6; EIP-1559: data is item 7, the access list 8, v item 9
            let eip1559 := eq(txType, 0x02)
            let dataIndex := add(5, shl(1, eip1559))
            let vIndex := add(6, mul(3, eip1559))
            // the items one after the other up to `end` (sizes as in `RlpLib.header`; a header whose length bytes
            // cross `end` overshoots it whatever they say)
            for {} lt(cursor, end) { count := add(count, 1) } {
                if eq(count, dataIndex) { dataAt := cursor }
                if eq(count, vIndex) { vAt := cursor }
                b := byte(0, calldataload(cursor))
                let size := 1
                if gt(b, 0x7f) {
                    let short := sub(b, add(0x80, shl(6, gt(b, 0xbf))))
                    switch lt(short, 56)
                    case 1 { size := add(short, 1) }
                    default {
                        let n := sub(short, 55)
                        size := add(add(n, 1), shr(sub(256, shl(3, n)), calldataload(add(cursor, 1))))
                    }
                }
                cursor := add(cursor, size)
            }
            if iszero(eq(cursor, end)) { revert(0x00, 0x00) }
        }
        if (txType != 0x00 && txType != 0x02) revert("TxValidatorLib:: unsupported evm tx type");
        ok = _fields(txType == 0x02 ? 9 : 6, count, dataAt, vAt, t);
        if (ok) ok = _signingHash(txType, first, vAt, t);
    }

    /// @dev Checks 5 and 6 on the list of `count` items whose v item (index `vIndex`) is at `vAt` and data item at
    ///      `dataAt`, and reads v, r, s and the root into `t`. False if anything follows s or an item has the wrong
    ///      kind.
    function _fields(uint256 vIndex, uint256 count, uint256 dataAt, uint256 vAt, SignedTx memory t)
        private
        pure
        returns (bool ok)
    {
        ok = count == vIndex + 3;
        uint256 at;
        uint256 value;
        (ok, at, value) = _uintItem(vAt, count > vIndex, ok);
        t.v = value;
        (ok, at, value) = _uintItem(at, count > vIndex + 1, ok);
        t.r = bytes32(value);
        (ok, at, value) = _uintItem(at, count > vIndex + 2, ok);
        t.s = bytes32(value);
        (bool isList, uint256 payload, uint256 size) = RlpLib.header(dataAt);
        uint256 dataEnd = dataAt + size;
        if (dataEnd - payload < 32) revert("TxDecoder:: callData length too short");
        bytes32 appended;
        assembly ("memory-safe") {
            appended := calldataload(sub(dataEnd, 32))
        }
        t.appended = appended;
        ok = ok && !isList;
    }

    /// @dev Reads v, r or s at `at` as production does (check 5): `present` is whether the list has the item.
    ///      `ok` is cleared for a list item. Returns where the next item starts.
    function _uintItem(uint256 at, bool present, bool ok) private pure returns (bool, uint256 next, uint256 value) {
        if (!present) _panic(PANIC_INDEX_OUT_OF_BOUNDS);
        (bool isList, uint256 payload, uint256 size) = RlpLib.header(at);
        if (size > 33) revert();
        next = at + size;
        value = RlpLib.toUint(payload, next - payload);
        return (ok && !isList, next, value);
    }

    /// @dev Reverts with `Panic(code)`, the revert data of a failed Solidity check.
    function _panic(uint256 code) private pure {
        assembly ("memory-safe") {
            mstore(0x00, 0x4e487b71)
            mstore(0x20, code)
            revert(0x1c, 0x24)
        }
    }
    /// @dev Sets `t.digest` from the unsigned fields `[payload, vStart)` and normalises `t.v` as production does.
    function _signingHash(uint256 txType, uint256 payload, uint256 vStart, SignedTx memory t)
        private
        pure
        returns (bool)
    {
        uint256 rawV = t.v;
        // suffix: EIP-155's `rlp(chainId) ‖ 0x80 ‖ 0x80`, left-aligned in one word
        uint256 suffix;
        uint256 suffixLength;
        // v as production's `_adjustV`, whatever the type: 0 and 1 are a parity (27, 28), 37 and above EIP-155
        // (27 + the parity of v - 35; its chain id in the hash of a legacy transaction), anything else is used as
        // is (27 and 28 recover, other values do not)
        if (rawV < 2) {
            t.v = rawV + 27;
        } else if (rawV < 37) {
            t.v = rawV;
        } else {
            t.v = 27 + ((rawV - 35) & 1);
        }
        if (txType == 0x00 && rawV >= 37) {
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
            // chain ids beyond 29 bytes (production hashes them; no wallet signs them): not a transaction here
            if (suffixLength > 32) return false;
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
