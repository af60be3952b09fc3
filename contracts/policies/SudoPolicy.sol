// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PackedUserOperation} from "../interfaces/IERC4337.sol";
import {IPolicy, IUserOpPolicy, IActionPolicy, I1271Policy, ERC165_INTERFACE_ID} from "../smart-sessions/IPolicy.sol";

/// @title SudoPolicy
/// @notice Allows everything: every userOp, action and ERC-1271 check passes. Its init data is ignored.
/// Compatible with the SudoPolicy of SmartSession 1.0.0 (0x0000000000FEEc8D74e3143fBaBbca515358d869).
contract SudoPolicy is IUserOpPolicy, IActionPolicy, I1271Policy {
    function initializeWithMultiplexer(address account, bytes32 configId, bytes calldata) external {
        emit PolicySet(configId, msg.sender, account);
    }

    function checkUserOpPolicy(bytes32, PackedUserOperation calldata) external pure returns (uint256) {
        return 0;
    }

    function checkAction(bytes32, address, address, uint256, bytes calldata) external pure returns (uint256) {
        return 0;
    }

    function check1271SignedAction(bytes32, address, address, bytes32, bytes calldata) external pure returns (bool) {
        return true;
    }

    function supportsInterface(bytes4 interfaceID) external pure returns (bool) {
        return interfaceID == ERC165_INTERFACE_ID || interfaceID == type(IPolicy).interfaceId
            || interfaceID == type(IUserOpPolicy).interfaceId || interfaceID == type(IActionPolicy).interfaceId
            || interfaceID == type(I1271Policy).interfaceId;
    }
}
