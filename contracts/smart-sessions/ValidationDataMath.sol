// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// ERC-4337 validation data: `aggregator/sigFailed (160) | validUntil (48) << 160 | validAfter (48) << 208`,
// with validUntil 0 meaning "no expiry".

uint256 constant VD_AGGREGATOR_MASK = (1 << 160) - 1;
uint256 constant VD_MAX_UNTIL = (1 << 48) - 1;

/// @dev Packs a policy verdict with its time window (validUntil 0 = no upper bound).
function packValidationData(bool sigFailed, uint48 validUntil, uint48 validAfter) pure returns (uint256) {
    return (sigFailed ? 1 : 0) | (uint256(validUntil) << 160) | (uint256(validAfter) << 208);
}

/// @dev The intersection of two validation data values, with SmartSession 1.0.0's semantics: if the low 160 bits of
/// both are equal or one of them is zero, the result has the OR of those bits, the later validAfter and the earlier
/// validUntil (a zero validUntil counts as 2^48-1 and the result's validUntil is never zero); otherwise it is 1
/// (failed). Note that even intersect(0, 0) yields validUntil = 2^48-1.
function intersectValidationData(uint256 a, uint256 b) pure returns (uint256) {
    uint256 aggA = a & VD_AGGREGATOR_MASK;
    uint256 aggB = b & VD_AGGREGATOR_MASK;
    if (aggA != aggB && aggA != 0 && aggB != 0) return 1;
    uint256 afterA = a >> 208;
    uint256 afterB = b >> 208;
    uint256 untilA = (a >> 160) & VD_MAX_UNTIL;
    uint256 untilB = (b >> 160) & VD_MAX_UNTIL;
    if (untilA == 0) untilA = VD_MAX_UNTIL;
    if (untilB == 0) untilB = VD_MAX_UNTIL;
    uint256 validAfter = afterA > afterB ? afterA : afterB;
    uint256 validUntil = untilA < untilB ? untilA : untilB;
    return (aggA | aggB) | (validUntil << 160) | (validAfter << 208);
}
