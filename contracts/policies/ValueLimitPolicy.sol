// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PackedUserOperation} from "../interfaces/IERC4337.sol";
import {IPolicy, IUserOpPolicy, IActionPolicy, ERC165_INTERFACE_ID} from "../smart-sessions/IPolicy.sol";
import {SELECTOR_EXECUTE} from "../smart-sessions/SessionTypes.sol";
import {
    executionCalldataOf,
    decodeSingleExecution,
    batchLength,
    batchExecution
} from "../smart-sessions/ExecutionDecoding.sol";

/// @title ValueLimitPolicy
/// @notice A cumulative limit on the native value a permission may move. Compatible with ValueLimitPolicy of
/// SmartSession 1.0.0 (0x000000000021dC45451291BCDfc9f0B46d6f0278).
///
/// Init data: abi.encode(uint256 limit) (limit > 0). As an action policy it counts the action's value; as a userOp
/// policy it counts the value of an ERC-7579 `execute` (single: the value, batch: the sum of the values; other
/// call types revert UnsupportedCallType; userOps that are not `execute` pass without counting). A check that would
/// exceed the limit returns 1 (validation failed) and counts nothing.
contract ValueLimitPolicy is IUserOpPolicy, IActionPolicy {
    error UnsupportedCallType(bytes1 callType);

    struct ValueLimitConfig {
        uint256 valueLimit;
        uint256 limitUsed;
    }

    /// @dev configId => multiplexer => account => config
    mapping(bytes32 => mapping(address => mapping(address => ValueLimitConfig))) public valueLimitConfigs;

    function initializeWithMultiplexer(address account, bytes32 configId, bytes calldata initData) external {
        uint256 valueLimit = uint256(bytes32(initData[0:32]));
        if (valueLimit == 0) revert PolicyNotInitialized(configId, msg.sender, account);
        valueLimitConfigs[configId][msg.sender][account] = ValueLimitConfig({valueLimit: valueLimit, limitUsed: 0});
    }

    function checkUserOpPolicy(bytes32 id, PackedUserOperation calldata userOp) external returns (uint256) {
        bytes calldata callData = userOp.callData;
        if (bytes4(callData[0:4]) != SELECTOR_EXECUTE) return 0;
        bytes1 callType = bytes32(callData[4:36])[0];
        uint256 value;
        if (callType == 0x00) {
            (, value,) = decodeSingleExecution(executionCalldataOf(callData));
        } else if (callType == 0x01) {
            bytes calldata exec = executionCalldataOf(callData);
            (uint256 n, uint256 table) = batchLength(exec);
            for (uint256 i; i < n; ++i) {
                (, uint256 v,) = batchExecution(exec, table, i);
                value += v;
            }
        } else {
            revert UnsupportedCallType(callType);
        }
        return _spend(id, userOp.sender, value);
    }

    function checkAction(bytes32 id, address account, address, uint256 value, bytes calldata)
        external
        returns (uint256)
    {
        return _spend(id, account, value);
    }

    function getUsed(bytes32 configId, address msgSender, address userOpSender) external view returns (uint256) {
        return valueLimitConfigs[configId][msgSender][userOpSender].limitUsed;
    }

    function getValueLimit(bytes32 configId, address msgSender, address userOpSender)
        external
        view
        returns (uint256)
    {
        return valueLimitConfigs[configId][msgSender][userOpSender].valueLimit;
    }

    function supportsInterface(bytes4 interfaceID) external pure returns (bool) {
        return interfaceID == ERC165_INTERFACE_ID || interfaceID == type(IPolicy).interfaceId
            || interfaceID == type(IActionPolicy).interfaceId || interfaceID == type(IUserOpPolicy).interfaceId;
    }

    function _spend(bytes32 id, address account, uint256 value) internal returns (uint256) {
        ValueLimitConfig storage config = valueLimitConfigs[id][msg.sender][account];
        uint256 used = config.limitUsed + value;
        if (used > config.valueLimit) return 1;
        config.limitUsed = used;
        return 0;
    }
}
