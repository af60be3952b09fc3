// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PackedUserOperation} from "../interfaces/IERC4337.sol";
import {IPolicy, IUserOpPolicy, IActionPolicy, I1271Policy, ERC165_INTERFACE_ID} from "../smart-sessions/IPolicy.sol";

/// @title TimeFramePolicy
/// @notice Limits a userOp, an action or an ERC-1271 signature to a time window. Compatible with TimeFramePolicy of
/// SmartSession 1.0.0 (0x0000000000D30f611fA3bf652ac6879428586930).
///
/// Init data: abi.encodePacked(uint48 validUntil, uint48 validAfter) (12 bytes; validUntil 0 = no upper bound).
/// The config word is uint96(initData[0:12]): validUntil in bits 48..95, validAfter in bits 0..47. The userOp and
/// action checks do not compare with the clock: they return the window as ERC-4337 validation data for the
/// EntryPoint to enforce. A config with both bounds 0 is not initialised.
contract TimeFramePolicy is IUserOpPolicy, IActionPolicy, I1271Policy {
    /// @dev configId => multiplexer => account => uint96(validUntil ‖ validAfter)
    mapping(bytes32 => mapping(address => mapping(address => uint256))) public timeFrameConfigs;

    function initializeWithMultiplexer(address account, bytes32 configId, bytes calldata initData) external {
        uint256 config = uint96(bytes12(initData[0:12]));
        (uint48 validUntil, uint48 validAfter) = _split(config);
        if (validUntil != 0 && validAfter > validUntil) revert PolicyNotInitialized(configId, msg.sender, account);
        timeFrameConfigs[configId][msg.sender][account] = config;
        emit PolicySet(configId, msg.sender, account);
    }

    function checkUserOpPolicy(bytes32 id, PackedUserOperation calldata userOp) external view returns (uint256) {
        return _validationData(id, userOp.sender);
    }

    function checkAction(bytes32 id, address account, address, uint256, bytes calldata)
        external
        view
        returns (uint256)
    {
        return _validationData(id, account);
    }

    function check1271SignedAction(bytes32 id, address, address smartAccount, bytes32, bytes calldata)
        external
        view
        returns (bool)
    {
        (uint48 validUntil, uint48 validAfter) = _load(id, smartAccount);
        return (validUntil == 0 || block.timestamp < validUntil) && block.timestamp >= validAfter;
    }

    function getTimeFrameConfig(bytes32 id, address multiplexer, address smartAccount)
        external
        view
        returns (uint256)
    {
        return timeFrameConfigs[id][multiplexer][smartAccount];
    }

    function supportsInterface(bytes4 interfaceID) external pure returns (bool) {
        return interfaceID == ERC165_INTERFACE_ID || interfaceID == type(IPolicy).interfaceId
            || interfaceID == type(IActionPolicy).interfaceId || interfaceID == type(I1271Policy).interfaceId
            || interfaceID == type(IUserOpPolicy).interfaceId;
    }

    /// @dev sigFailed 0 | validUntil << 160 | validAfter << 208
    function _validationData(bytes32 id, address account) internal view returns (uint256) {
        (uint48 validUntil, uint48 validAfter) = _load(id, account);
        return (uint256(validUntil) << 160) | (uint256(validAfter) << 208);
    }

    function _load(bytes32 id, address account) internal view returns (uint48 validUntil, uint48 validAfter) {
        (validUntil, validAfter) = _split(timeFrameConfigs[id][msg.sender][account]);
        if (validUntil == 0 && validAfter == 0) revert PolicyNotInitialized(id, msg.sender, account);
    }

    function _split(uint256 config) internal pure returns (uint48 validUntil, uint48 validAfter) {
        validUntil = uint48(config >> 48);
        validAfter = uint48(config);
    }
}
