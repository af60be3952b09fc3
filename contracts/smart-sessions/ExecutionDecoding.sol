// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// Reading ERC-7579 `execute(bytes32 mode, bytes executionCalldata)` userOp calldata in place (calldata
// slices, no copies), with bounds checks. Used by SmartSession and ValueLimitPolicy.
//
// Single: executionCalldata = abi.encodePacked(address target, uint256 value, bytes callData).
// Batch:  executionCalldata = abi.encode(Execution[]), Execution = (address target, uint256 value, bytes callData).

// Malformed batch calldata reverts with `DecodingError()` (selector 0xba597e7e), as the reference decoder does.

/// @dev The `bytes executionCalldata` argument of execute(bytes32,bytes). Reverts (no data) if `userOpCallData` is
/// shorter than 68 bytes or the argument does not lie inside it.
function executionCalldataOf(bytes calldata userOpCallData) pure returns (bytes calldata exec) {
    assembly ("memory-safe") {
        if lt(userOpCallData.length, 68) { revert(0, 0) }
        // The offset word of the bytes argument follows the 4-byte selector and the 32-byte mode; it is relative to
        // the start of the arguments, so the data starts at (offset word position) + offset.
        let base := add(userOpCallData.offset, 0x24)
        let rel := calldataload(base)
        if gt(rel, 0xffffffffffffffff) { revert(0, 0) }
        exec.offset := add(base, rel)
        exec.length := calldataload(sub(exec.offset, 0x20))
        if gt(exec.length, 0xffffffffffffffff) { revert(0, 0) }
        let bound := add(userOpCallData.offset, userOpCallData.length)
        if gt(add(exec.offset, exec.length), bound) { revert(0, 0) }
    }
}

/// @dev Splits single-execution calldata. Reverts (no data) if it is shorter than 52 bytes.
function decodeSingleExecution(bytes calldata exec)
    pure
    returns (address target, uint256 value, bytes calldata callData)
{
    if (exec.length < 52) revert();
    target = address(bytes20(exec[0:20]));
    value = uint256(bytes32(exec[20:52]));
    callData = exec[52:];
}

/// @dev The number of executions in batch calldata and the calldata position of its offset table; checks that the
/// table lies inside `exec`.
function batchLength(bytes calldata exec) pure returns (uint256 n, uint256 table) {
    assembly ("memory-safe") {
        let end := add(exec.offset, exec.length)
        if lt(exec.length, 0x20) {
            mstore(0x00, 0xba597e7e)
            revert(0x1c, 0x04)
        }
        let u := calldataload(exec.offset)
        let s := add(exec.offset, u)
        if or(shr(64, u), gt(add(s, 0x20), end)) {
            mstore(0x00, 0xba597e7e)
            revert(0x1c, 0x04)
        }
        n := calldataload(s)
        table := add(s, 0x20)
        if or(shr(64, n), gt(add(table, shl(5, n)), end)) {
            mstore(0x00, 0xba597e7e)
            revert(0x1c, 0x04)
        }
    }
}

/// @dev The i-th execution of a batch (see `batchLength`), bounds-checked against `exec`.
function batchExecution(bytes calldata exec, uint256 table, uint256 i)
    pure
    returns (address target, uint256 value, bytes calldata callData)
{
    assembly ("memory-safe") {
        let end := add(exec.offset, exec.length)
        let p := calldataload(add(table, shl(5, i)))
        let c := add(table, p)
        if or(shr(64, p), gt(add(c, 0x60), end)) {
            mstore(0x00, 0xba597e7e)
            revert(0x1c, 0x04)
        }
        let q := calldataload(add(c, 0x40))
        let o := add(c, q)
        if or(shr(64, q), gt(add(o, 0x20), end)) {
            mstore(0x00, 0xba597e7e)
            revert(0x1c, 0x04)
        }
        let len := calldataload(o)
        if or(shr(64, len), gt(add(add(o, 0x20), len), end)) {
            mstore(0x00, 0xba597e7e)
            revert(0x1c, 0x04)
        }
        target := and(calldataload(c), 0xffffffffffffffffffffffffffffffffffffffff)
        value := calldataload(add(c, 0x20))
        callData.offset := add(o, 0x20)
        callData.length := len
    }
}
