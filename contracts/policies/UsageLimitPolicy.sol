// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PackedUserOperation} from "../interfaces/IERC4337.sol";
import {IPolicy, IUserOpPolicy, IActionPolicy, ERC165_INTERFACE_ID} from "../smart-sessions/IPolicy.sol";

/// @title UsageLimitPolicy
/// @notice Limits how many times a userOp policy or an action may pass. Compatible with UsageLimitPolicy of
/// SmartSession 1.0.0 (0x00000000001d4479FA2A947026204d0283ceDe4B).
///
/// Init data: abi.encodePacked(uint128 limit) (16 bytes, limit > 0). Each check counts one use; a check that would
/// exceed the limit returns 1 (validation failed) and counts nothing.
contract UsageLimitPolicy is IUserOpPolicy, IActionPolicy {
    struct UsageLimitConfig {
        uint128 limit;
        uint128 used;
    }

    /// @dev configId => multiplexer => account => config
    mapping(bytes32 => mapping(address => mapping(address => UsageLimitConfig))) public usageLimitConfigs;

    function initializeWithMultiplexer(address account, bytes32 configId, bytes calldata initData) external {
        uint128 limit = uint128(bytes16(initData[0:16]));
        if (limit == 0) revert PolicyNotInitialized(configId, msg.sender, account);
        usageLimitConfigs[configId][msg.sender][account] = UsageLimitConfig({limit: limit, used: 0});
    }

    function checkUserOpPolicy(bytes32 id, PackedUserOperation calldata userOp) external returns (uint256) {
        return _use(id, userOp.sender);
    }

    function checkAction(bytes32 id, address account, address, uint256, bytes calldata) external returns (uint256) {
        return _use(id, account);
    }

    function getUsageLimit(bytes32 id, address mxer, address smartAccount) external view returns (uint128 limit) {
        return usageLimitConfigs[id][mxer][smartAccount].limit;
    }

    function getUsed(bytes32 id, address mxer, address smartAccount) external view returns (uint128 used) {
        return usageLimitConfigs[id][mxer][smartAccount].used;
    }

    function supportsInterface(bytes4 interfaceID) external pure returns (bool) {
        return interfaceID == ERC165_INTERFACE_ID || interfaceID == type(IPolicy).interfaceId
            || interfaceID == type(IUserOpPolicy).interfaceId || interfaceID == type(IActionPolicy).interfaceId;
    }

    function _use(bytes32 id, address account) internal returns (uint256) {
        UsageLimitConfig storage config = usageLimitConfigs[id][msg.sender][account];
        UsageLimitConfig memory current = config;
        uint128 used = current.used + 1;
        if (used > current.limit) return 1;
        config.used = used;
        return 0;
    }
}
