// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IPolicy, IActionPolicy, ERC165_INTERFACE_ID} from "../smart-sessions/IPolicy.sol";

// The universal action policy's configuration (spec §8.2). `abi.encode(ActionConfig)` is its 3136-byte init data.

enum ParamCondition {
    EQUAL,
    GREATER_THAN,
    LESS_THAN,
    GREATER_THAN_OR_EQUAL,
    LESS_THAN_OR_EQUAL,
    NOT_EQUAL,
    IN_RANGE
}

struct LimitUsage {
    uint256 limit;
    uint256 used;
}

struct ParamRule {
    ParamCondition condition;
    uint64 offset;
    bool isLimited;
    bytes32 ref;
    LimitUsage usage;
}

struct ParamRules {
    uint256 length;
    ParamRule[16] rules;
}

struct ActionConfig {
    uint256 valueLimitPerUse;
    ParamRules paramRules;
}

/// @title UniActionPolicy
/// @notice The universal action policy: up to 16 rules on the 32-byte arguments of an action's calldata, plus a
/// per-call limit on the native value. Compatible with UniActionPolicy of SmartSession 1.0.0
/// (0x0000000000714Cf48FcF88A0bFBa70d313415032).
///
/// Rule i reads the word at `calldata[4 + offset : 36 + offset]` (after the selector) and compares it, as an unsigned
/// integer, with `ref`: EQUAL, GREATER_THAN, LESS_THAN, GREATER_THAN_OR_EQUAL, LESS_THAN_OR_EQUAL, NOT_EQUAL, or
/// IN_RANGE (ref = uint128 min ‖ uint128 max, inclusive). A limited rule also accumulates the argument:
/// `used + argument <= limit`, then `used += argument`. A failed rule returns 1 (validation failed); a value above
/// valueLimitPerUse reverts ValueLimitExceeded; a config with no rules reverts PolicyNotInitialized. A rule whose word
/// is not in the calldata reverts as in the original: Panic(0x11) for an offset of 2^64 - 36 or more (the original
/// sums the bounds in uint64), empty revert data for a word past the end (an out-of-range calldata slice); a `used`
/// that would overflow is Panic(0x11) as well.
///
/// State per (configId, multiplexer, account). Only the first `length` rules are stored on initialisation (rules of an
/// earlier, longer config stay behind unused, as in the original). Storage packs the rule count into the first
/// rule's slot, so a check reads one slot less; `actionConfigs` returns the ABI shape of the original getter.
contract UniActionPolicy is IActionPolicy {
    error ValueLimitExceeded(bytes32 id, uint256 value, uint256 limit);

    uint256 internal constant MAX_RULES = 16;

    struct StoredRule {
        ParamCondition condition;
        uint64 offset;
        bool isLimited;
        uint8 ruleCount; // meaningful in rules[0] only: the number of active rules
        bytes32 ref;
        uint256 limit;
        uint256 used;
    }

    struct StoredConfig {
        uint256 valueLimitPerUse;
        StoredRule[16] rules;
    }

    /// @dev configId => multiplexer => account => config
    mapping(bytes32 => mapping(address => mapping(address => StoredConfig))) internal $configs;

    function initializeWithMultiplexer(address account, bytes32 configId, bytes calldata initData) external {
        ActionConfig memory config = abi.decode(initData, (ActionConfig));
        uint256 length = config.paramRules.length;
        StoredConfig storage stored = $configs[configId][msg.sender][account];
        stored.valueLimitPerUse = config.valueLimitPerUse;
        if (length == 0) {
            stored.rules[0].ruleCount = 0;
        }
        for (uint256 i; i < length; ++i) {
            ParamRule memory rule = config.paramRules.rules[i]; // reverts past 16 rules
            StoredRule storage s = stored.rules[i];
            s.condition = rule.condition;
            s.offset = rule.offset;
            s.isLimited = rule.isLimited;
            s.ruleCount = i == 0 ? uint8(length) : 0;
            s.ref = rule.ref;
            s.limit = rule.usage.limit;
            s.used = rule.usage.used;
        }
        emit PolicySet(configId, msg.sender, account);
    }

    function checkAction(bytes32 id, address account, address, uint256 value, bytes calldata data)
        external
        returns (uint256)
    {
        StoredConfig storage config = $configs[id][msg.sender][account];
        uint256 length = config.rules[0].ruleCount;
        if (length == 0) revert PolicyNotInitialized(id, msg.sender, account);
        if (value != 0) {
            uint256 valueLimit = config.valueLimitPerUse;
            if (value > valueLimit) revert ValueLimitExceeded(id, value, valueLimit);
        }
        for (uint256 i; i < length; ++i) {
            if (!_checkRule(config.rules[i], data)) return 1;
        }
        return 0;
    }

    function _checkRule(StoredRule storage rule, bytes calldata data) internal returns (bool) {
        uint256 offset = rule.offset;
        uint256 param;
        assembly ("memory-safe") {
            // The word ends at `offset + 36`, a uint64 sum in the original: from an offset of 2^64 - 36 on it
            // overflows (Panic(0x11)); a word past the end of `data` is an out-of-range slice (empty revert data).
            let end := add(offset, 36)
            if shr(64, end) {
                mstore(0x00, 0x4e487b71)
                mstore(0x20, 0x11)
                revert(0x1c, 0x24)
            }
            if gt(end, data.length) { revert(0x00, 0x00) }
            param := calldataload(add(data.offset, sub(end, 32)))
        }
        uint256 ref = uint256(rule.ref);
        ParamCondition condition = rule.condition;
        if (condition == ParamCondition.EQUAL) {
            if (param != ref) return false;
        } else if (condition == ParamCondition.GREATER_THAN) {
            if (param <= ref) return false;
        } else if (condition == ParamCondition.LESS_THAN) {
            if (param >= ref) return false;
        } else if (condition == ParamCondition.GREATER_THAN_OR_EQUAL) {
            if (param < ref) return false;
        } else if (condition == ParamCondition.LESS_THAN_OR_EQUAL) {
            if (param > ref) return false;
        } else if (condition == ParamCondition.NOT_EQUAL) {
            if (param == ref) return false;
        } else {
            // IN_RANGE: ref = uint128(min) ‖ uint128(max)
            if (param < (ref >> 128) || param > uint128(ref)) return false;
        }
        if (rule.isLimited) {
            uint256 used = rule.used + param;
            if (used > rule.limit) return false;
            rule.used = used;
        }
        return true;
    }

    /// @notice The stored configuration, in the ABI shape of the original public mapping getter.
    function actionConfigs(bytes32 id, address multiplexer, address account)
        external
        view
        returns (uint256 valueLimitPerUse, ParamRules memory paramRules)
    {
        StoredConfig storage config = $configs[id][multiplexer][account];
        valueLimitPerUse = config.valueLimitPerUse;
        paramRules.length = config.rules[0].ruleCount;
        for (uint256 i; i < MAX_RULES; ++i) {
            StoredRule storage s = config.rules[i];
            paramRules.rules[i] = ParamRule({
                condition: s.condition,
                offset: s.offset,
                isLimited: s.isLimited,
                ref: s.ref,
                usage: LimitUsage({limit: s.limit, used: s.used})
            });
        }
    }

    function supportsInterface(bytes4 interfaceID) external pure returns (bool) {
        return interfaceID == ERC165_INTERFACE_ID || interfaceID == type(IPolicy).interfaceId
            || interfaceID == type(IActionPolicy).interfaceId;
    }
}
