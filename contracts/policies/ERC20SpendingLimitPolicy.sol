// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IPolicy, IActionPolicy, ERC165_INTERFACE_ID} from "../smart-sessions/IPolicy.sol";

/// @title ERC20SpendingLimitPolicy
/// @notice Per-token cumulative limits on ERC-20 spending by a permission. Compatible with ERC20SpendingLimitPolicy
/// of SmartSession 1.0.0 (0x000000000033212e272655d8a22402db819477a6).
///
/// Init data: abi.encode(address[] tokens, uint256[] limits) (same lengths, non-zero tokens and limits); it replaces
/// every token of an earlier init. The action's target is the token. Accepted calls (with zero native value):
/// `approve` and `increaseAllowance` (the amount counts as approved), `transfer` and `transferFrom` (the amount
/// counts as spent; a transferFrom to the account itself spends nothing). A call passes while
/// spent + approved <= limit; anything else returns 1 (validation failed).
contract ERC20SpendingLimitPolicy is IActionPolicy {
    event TokenSpent(
        bytes32 id, address multiplexer, address token, address account, uint256 amount, uint256 remaining
    );

    error InvalidTokenAddress(address token);
    error InvalidLimit(uint256 limit);
    error InvalidInitDataLength();

    bytes4 internal constant APPROVE = 0x095ea7b3; // approve(address,uint256)
    bytes4 internal constant INCREASE_ALLOWANCE = 0x39509351; // increaseAllowance(address,uint256)
    bytes4 internal constant TRANSFER = 0xa9059cbb; // transfer(address,uint256)
    bytes4 internal constant TRANSFER_FROM = 0x23b872dd; // transferFrom(address,address,uint256)
    uint256 internal constant MAX_TOKENS = 256;

    struct TokenPolicyData {
        uint256 alreadySpent;
        uint256 approvedAmount;
        uint256 spendingLimit; // non-zero iff the token is configured
    }

    struct TokenList {
        uint256 count;
        address[256] tokens;
    }

    /// @dev configId => multiplexer => account => configured tokens
    mapping(bytes32 => mapping(address => mapping(address => TokenList))) internal $tokens;
    /// @dev configId => multiplexer => token => account => limits
    mapping(bytes32 => mapping(address => mapping(address => mapping(address => TokenPolicyData)))) internal $data;

    function initializeWithMultiplexer(address account, bytes32 configId, bytes calldata initData) external {
        (address[] memory tokens, uint256[] memory limits) = abi.decode(initData, (address[], uint256[]));
        if (tokens.length != limits.length) revert InvalidInitDataLength();
        mapping(address => mapping(address => TokenPolicyData)) storage data = $data[configId][msg.sender];
        TokenList storage list = $tokens[configId][msg.sender][account];

        uint256 previous = list.count;
        for (uint256 i; i < previous; ++i) {
            delete data[list.tokens[i]][account];
        }
        uint256 count;
        for (uint256 i; i < tokens.length; ++i) {
            address token = tokens[i];
            uint256 limit = limits[i];
            if (token == address(0)) revert InvalidTokenAddress(token);
            if (limit == 0) revert InvalidLimit(limit);
            TokenPolicyData storage entry = data[token][account];
            if (entry.spendingLimit == 0) {
                if (count == MAX_TOKENS) revert InvalidInitDataLength();
                list.tokens[count] = token;
                ++count;
            }
            entry.spendingLimit = limit;
        }
        list.count = count;
        emit PolicySet(configId, msg.sender, account);
    }

    function checkAction(bytes32 id, address account, address target, uint256 value, bytes calldata callData)
        external
        returns (uint256)
    {
        if (value != 0) return 1;
        (bool isTokenCall, bool isApproval, uint256 amount) = _amountOf(account, callData);
        if (!isTokenCall) return 1;
        if (target == address(0)) revert InvalidTokenAddress(target);
        (bool ok, uint256 remaining) = _charge($data[id][msg.sender][target][account], isApproval, amount);
        if (!ok) return 1;
        emit TokenSpent(id, msg.sender, target, account, amount, remaining);
        return 0;
    }

    /// @return isTokenCall whether the call is one of the four accounted functions
    /// @return isApproval whether it approves (instead of transferring)
    /// @return amount the amount it spends or approves
    function _amountOf(address account, bytes calldata callData)
        internal
        pure
        returns (bool isTokenCall, bool isApproval, uint256 amount)
    {
        bytes4 selector = bytes4(callData[0:4]);
        isApproval = selector == APPROVE || selector == INCREASE_ALLOWANCE;
        if (isApproval || selector == TRANSFER) {
            (, amount) = abi.decode(callData[4:], (address, uint256));
            return (true, isApproval, amount);
        }
        if (selector == TRANSFER_FROM) {
            address to;
            (, to, amount) = abi.decode(callData[4:], (address, address, uint256));
            // Tokens coming into the account spend nothing.
            return (true, false, to == account ? 0 : amount);
        }
        return (false, false, 0);
    }

    /// @return ok whether spent + approved stays within the limit (then the entry is updated)
    /// @return remaining the limit left
    function _charge(TokenPolicyData storage entry, bool isApproval, uint256 amount)
        internal
        returns (bool ok, uint256 remaining)
    {
        uint256 spent = entry.alreadySpent;
        uint256 approved = entry.approvedAmount;
        uint256 limit = entry.spendingLimit;
        if (isApproval) approved += amount;
        else spent += amount;
        uint256 total = spent + approved;
        if (total > limit) return (false, 0);
        if (isApproval) entry.approvedAmount = approved;
        else entry.alreadySpent = spent;
        return (true, limit - total);
    }

    function getPolicyData(bytes32 id, address multiplexer, address token, address userOpSender)
        external
        view
        returns (uint256 spendingLimit, uint256 alreadySpent, uint256 approvedAmount)
    {
        TokenPolicyData storage entry = $data[id][multiplexer][token][userOpSender];
        if (token == address(0) || entry.spendingLimit == 0) revert InvalidTokenAddress(token);
        return (entry.spendingLimit, entry.alreadySpent, entry.approvedAmount);
    }

    function supportsInterface(bytes4 interfaceID) external pure returns (bool) {
        return interfaceID == ERC165_INTERFACE_ID || interfaceID == type(IPolicy).interfaceId
            || interfaceID == type(IActionPolicy).interfaceId;
    }
}
