// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title MerkleProofLib
/// @notice Sorted-pair Merkle proofs, the scheme of OpenZeppelin `MerkleProof.verify` and of the
///         `SimpleMerkleTree` that builds super-transaction roots (spec Appendix C): each step hashes
///         `keccak256(min(a, b) ‖ max(a, b))`; leaves are used as given (no re-hashing here).
library MerkleProofLib {
    /// @notice True if folding the proof (`len` words starting at calldata offset `proofOffset`) over `leaf`
    ///         yields `root`. The caller guarantees the words lie inside its calldata argument.
    function verifyCalldata(uint256 proofOffset, uint256 len, bytes32 root, bytes32 leaf)
        internal
        pure
        returns (bool ok)
    {
        assembly ("memory-safe") {
            let end := add(proofOffset, shl(5, len))
            for {} lt(proofOffset, end) { proofOffset := add(proofOffset, 0x20) } {
                let sibling := calldataload(proofOffset)
                // The smaller word goes first: put `leaf` in the second slot when it is the larger one.
                let slot := shl(5, gt(leaf, sibling))
                mstore(slot, leaf)
                mstore(xor(slot, 0x20), sibling)
                leaf := keccak256(0x00, 0x40)
            }
            ok := eq(leaf, root)
        }
    }
}
