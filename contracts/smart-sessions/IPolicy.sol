// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PackedUserOperation} from "../interfaces/IERC4337.sol";

/// @notice The policy interfaces SmartSession calls (SmartSession 1.0.0 `IPolicy.sol`, same selectors).
///
/// A policy keeps its state per (configId, multiplexer = msg.sender, account), with the account as the innermost
/// mapping key so the storage is associated with the userOp sender (ERC-7562). `initializeWithMultiplexer` may be
/// called again for the same config and must then overwrite the state.
///
/// ERC-165 ids (each interface's own functions only, as `type(I).interfaceId`):
///   IPolicy 0x989c9e46, IUserOpPolicy 0x7129edce, IActionPolicy 0x05c00895, I1271Policy 0xcbf34505, IERC165 0x01ffc9a7.
interface IPolicyERC165 {
    function supportsInterface(bytes4 interfaceID) external view returns (bool);
}

interface IPolicy is IPolicyERC165 {
    event PolicySet(bytes32 id, address multiplexer, address account);

    error PolicyNotInitialized(bytes32 id, address multiplexer, address account);

    function initializeWithMultiplexer(address account, bytes32 configId, bytes calldata initData) external;
}

interface IUserOpPolicy is IPolicy {
    /// @return ERC-4337 validation data: 0 success, 1 failure, or packed validAfter/validUntil (no aggregator).
    function checkUserOpPolicy(bytes32 id, PackedUserOperation calldata userOp) external returns (uint256);
}

interface IActionPolicy is IPolicy {
    function checkAction(bytes32 id, address account, address target, uint256 value, bytes calldata data)
        external
        returns (uint256);
}

interface I1271Policy is IPolicy {
    function check1271SignedAction(
        bytes32 id,
        address requestSender,
        address account,
        bytes32 hash,
        bytes calldata signature
    ) external view returns (bool);
}

bytes4 constant ERC165_INTERFACE_ID = 0x01ffc9a7;
