// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title EcdsaLib
/// @notice secp256k1 signature checks that never revert: every failure is reported as `address(0)` / `false`.
/// @dev Two rule sets:
///      - `tryRecover` (used by the token): 65-byte `r ‖ s ‖ v` and 64-byte EIP-2098 `r ‖ yParityAndS` signatures with
///        s ≤ n/2 only; v must be 27 or 28 (the ecrecover precompile returns nothing for other values).
///      - `isValidSignature` (used by the K1MeeValidator): the rules of production's K1MeeValidator 1.0.1, which
///        compares the result of Solady's `ECDSA.tryRecover` with the expected signer: the same two encodings, any s
///        (a high s recovers the same signer as its low twin), and a failed recovery counts as `address(0)`, so it
///        matches a zero signer.
library EcdsaLib {
    /// @dev floor(n / 2) for the secp256k1 group order n.
    uint256 internal constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    /// @notice Recovers the signer of `hash` from a calldata signature; `address(0)` if it is malformed or invalid.
    function tryRecover(bytes32 hash, bytes calldata sig) internal view returns (address signer) {
        assembly ("memory-safe") {
            let v := 0
            let r := 0
            let s := 0
            switch sig.length
            case 65 {
                r := calldataload(sig.offset)
                s := calldataload(add(sig.offset, 0x20))
                v := byte(0, calldataload(add(sig.offset, 0x40)))
            }
            case 64 {
                r := calldataload(sig.offset)
                let vs := calldataload(add(sig.offset, 0x20))
                s := shr(1, shl(1, vs))
                v := add(27, shr(255, vs))
            }
            // Malformed length leaves v = 0, which the precompile rejects; a high s is rejected here.
            if iszero(gt(s, HALF_N)) {
                // Precompile input in the unallocated memory after the free memory pointer.
                let m := mload(0x40)
                mstore(m, hash)
                mstore(add(m, 0x20), v)
                mstore(add(m, 0x40), r)
                mstore(add(m, 0x60), s)
                // The precompile writes 32 bytes on success and nothing on failure.
                if staticcall(gas(), 0x01, m, 0x80, 0x00, 0x20) {
                    signer := mul(mload(0x00), eq(returndatasize(), 0x20))
                }
            }
        }
    }

    /// @notice Recovers the signer of `hash` from split `(v, r, s)`; `address(0)` if invalid.
    function tryRecover(bytes32 hash, uint256 v, bytes32 r, bytes32 s) internal view returns (address signer) {
        assembly ("memory-safe") {
            if iszero(gt(s, HALF_N)) {
                let m := mload(0x40)
                mstore(m, hash)
                mstore(add(m, 0x20), v)
                mstore(add(m, 0x40), r)
                mstore(add(m, 0x60), s)
                if staticcall(gas(), 0x01, m, 0x80, 0x00, 0x20) {
                    signer := mul(mload(0x00), eq(returndatasize(), 0x20))
                }
            }
        }
    }

    /// @notice `keccak256("\x19Ethereum Signed Message:\n32" ‖ hash)` (EIP-191 version 0x45 over 32 raw bytes).
    function toEthSignedMessageHash(bytes32 hash) internal pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            mstore(0x20, hash)
            mstore(0x00, "\x00\x00\x00\x00\x19Ethereum Signed Message:\n32")
            digest := keccak256(0x04, 0x3c)
        }
    }

    /// @notice True if `signer` signed `hash` directly or as an EIP-191 personal message (K1MeeValidator rules, see
    ///         above: any s; an encoding other than 64 or 65 bytes, or any failed recovery, recovers `address(0)`).
    /// @dev The raw digest is tried first, then the personal-message digest (the K1MeeValidator order).
    ///      Gas parity for estimation: any failing signature (malformed, bad v, wrong signer) runs both precompile
    ///      calls, so it costs at least as much as the dearest valid one (the EIP-191 case). Callers that simulate
    ///      with placeholder signatures therefore never under-estimate.
    function isValidSignature(address signer, bytes32 hash, bytes calldata sig) internal view returns (bool) {
        uint256 v;
        bytes32 r;
        bytes32 s;
        assembly ("memory-safe") {
            switch sig.length
            case 65 {
                r := calldataload(sig.offset)
                s := calldataload(add(sig.offset, 0x20))
                v := byte(0, calldataload(add(sig.offset, 0x40)))
            }
            case 64 {
                r := calldataload(sig.offset)
                let vs := calldataload(add(sig.offset, 0x20))
                s := shr(1, shl(1, vs))
                v := add(27, shr(255, vs))
            }
        }
        return _recoverEither(signer, hash, v, r, s);
    }

    /// @notice As `isValidSignature`, for a signature given as `(v, r, s)`.
    function isValidSignature(address signer, bytes32 hash, uint256 v, bytes32 r, bytes32 s)
        internal
        view
        returns (bool)
    {
        return _recoverEither(signer, hash, v, r, s);
    }

    /// @dev Raw digest, then EIP-191 digest; both precompile calls run unless the first one matches. A call that
    ///      returns nothing (v other than 27/28, r or s out of range, no solution) recovers `address(0)`.
    function _recoverEither(address signer, bytes32 hash, uint256 v, bytes32 r, bytes32 s)
        private
        view
        returns (bool ok)
    {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, hash)
            mstore(add(m, 0x20), v)
            mstore(add(m, 0x40), r)
            mstore(add(m, 0x60), s)
            pop(staticcall(gas(), 0x01, m, 0x80, 0x00, 0x20))
            ok := eq(mul(mload(0x00), eq(returndatasize(), 0x20)), signer)
            if iszero(ok) {
                mstore(0x20, hash)
                mstore(0x00, "\x00\x00\x00\x00\x19Ethereum Signed Message:\n32")
                mstore(m, keccak256(0x04, 0x3c))
                pop(staticcall(gas(), 0x01, m, 0x80, 0x00, 0x20))
                ok := eq(mul(mload(0x00), eq(returndatasize(), 0x20)), signer)
            }
        }
    }
}
