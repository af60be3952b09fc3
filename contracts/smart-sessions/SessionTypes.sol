// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// The Smart Sessions data structures (spec §1). Field order is the ABI tuple order, so the ABI of every
// function taking these structs matches SmartSession 1.0.0. The identifiers (permission id, action id, config ids)
// are plain bytes32 in the ABI.

struct PolicyData {
    address policy;
    bytes initData;
}

struct ActionData {
    bytes4 actionTargetSelector;
    address actionTarget;
    PolicyData[] actionPolicies;
}

/// @dev The EIP-712 member name is `contentName` (spec §1.4); only the Solidity name differs.
struct ERC7739Context {
    bytes32 appDomainSeparator;
    string[] contentNames;
}

struct ERC7739Data {
    ERC7739Context[] allowedERC7739Content;
    PolicyData[] erc1271Policies;
}

struct Session {
    address sessionValidator;
    bytes sessionValidatorInitData;
    bytes32 salt;
    PolicyData[] userOpPolicies;
    ERC7739Data erc7739Policies;
    ActionData[] actions;
    bool permitERC4337Paymaster;
}

struct ChainDigest {
    uint64 chainId;
    bytes32 sessionDigest;
}

struct EnableSession {
    uint8 chainDigestIndex;
    ChainDigest[] hashesAndChainIds;
    Session sessionToEnable;
    bytes permissionEnableSig;
}

struct ERC7739ContextHashes {
    bytes32 appDomainSeparator;
    bytes32[] contentNameHashes;
}

enum SmartSessionMode {
    USE,
    ENABLE,
    UNSAFE_ENABLE
}

enum PolicyType {
    NA,
    USER_OP,
    ACTION,
    ERC1271
}

// Fallback actions (spec §1.3, §2.2): target 0x…01 with selector 0x00000001 (any action without its own policies) or
// 0x00000002 (calls to SmartSession itself).
address constant FALLBACK_TARGET_FLAG = address(1);
bytes4 constant FALLBACK_TARGET_SELECTOR_FLAG = 0x00000001;
bytes4 constant FALLBACK_TARGET_SELECTOR_FLAG_PERMITTED_TO_CALL_SMARTSESSION = 0x00000002;
bytes32 constant FALLBACK_ACTIONID = 0xd884b6afa19f8ace90a388daca691e4e28f20cdac5aeefd46ad8bd1c074d28cf;
bytes32 constant FALLBACK_ACTIONID_SMARTSESSION_CALL = 0x986126569d6396d837d7adeb3ca726199afaf83546f38726e6f331bb92d8e9d6;

/// @dev The selector used for the action id of a call whose calldata is shorter than 4 bytes.
bytes4 constant VALUE_SELECTOR = 0xffffffff;

uint256 constant MODULE_TYPE_VALIDATOR_ID = 1;
uint256 constant MODULE_TYPE_STATELESS_VALIDATOR_ID = 7;

/// @dev ERC-4337 validation data returned for a bad session signature.
uint256 constant VALIDATION_FAILED_VD = 1;
uint256 constant VALIDATION_SUCCESS_VD = 0;

bytes4 constant SELECTOR_EXECUTE = 0xe9ae5c53; // execute(bytes32,bytes)
bytes4 constant SELECTOR_EXECUTE_USER_OP = 0x8dd7712f; // executeUserOp(PackedUserOperation,bytes32)
