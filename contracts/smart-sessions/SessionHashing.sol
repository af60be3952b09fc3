// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {
    PolicyData,
    ActionData,
    ERC7739Context,
    ERC7739Data,
    Session,
    ChainDigest,
    FALLBACK_TARGET_FLAG,
    FALLBACK_TARGET_SELECTOR_FLAG,
    FALLBACK_TARGET_SELECTOR_FLAG_PERMITTED_TO_CALL_SMARTSESSION
} from "./SessionTypes.sol";

// Identifiers and EIP-712 hashes of Smart Sessions (spec §2.1-§2.3, §2.7, §2.8). The session digest is
// `hashStruct(SignedSession)`; the multichain digest is the EIP-712 digest of `MultiChainSession` under the domain
// {name: "SmartSession", version: "1"}. The Python twin is `smartsessions.encoding.eip712`.

// keccak256 of the EIP-712 type strings of spec §3.6.
bytes32 constant POLICY_DATA_TYPEHASH = 0xdddac12cd8b10a071bea04226e97ac9490698394e19224abc47a5cfeeeb6ee97;
bytes32 constant ACTION_DATA_TYPEHASH = 0x35809859dccf8877c407a59527c2f00fb81ca9c198ebcb0c832c3deaa38d3502;
bytes32 constant ERC7739_CONTEXT_TYPEHASH = 0x006166b2b3a1edaf1da1ce02715d02d4979a4ab93755bff9ec054b0e6a96a1da;
bytes32 constant ERC7739_DATA_TYPEHASH = 0xdfd9b5718eebaa2484740b4ea6939e96189024c15848f16ccce901118114e152;
bytes32 constant SIGNED_PERMISSIONS_TYPEHASH = 0x871289c05e426554eb0f843c9aa542f9c2bc4eba7742ada6a5c014d3568674d4;
bytes32 constant SESSION_TYPEHASH = 0xd44896e3cb83d70abc949a38dd6f9f75e675dc329dfe958617f066f79ff88f05;
bytes32 constant CHAIN_SESSION_TYPEHASH = 0x1ea7e4bc398fa0ccd68d92b5d8931a3fd93eebe1cf0391b4ba28935801af7c80;
bytes32 constant MULTICHAIN_SESSION_TYPEHASH = 0x0c9d02fb89a1da34d66ea2088dc9ee6a58efee71cef6f1bb849ed74fc6003d98;
/// @dev keccak256(abi.encode(keccak256("EIP712Domain(string name,string version)"), keccak256("SmartSession"), keccak256("1")))
bytes32 constant SMART_SESSION_DOMAIN_SEPARATOR = 0x057501e891776d1482927e5f094ae44049a4d893ba2d7b334dd7db8d38d3a0e1;

/* ---------------------------------------------------------------------- identifiers */

/// @dev keccak256(abi.encode(sessionValidator, sessionValidatorInitData, salt)).
function permissionIdOf(Session memory session) pure returns (bytes32) {
    return keccak256(abi.encode(session.sessionValidator, session.sessionValidatorInitData, session.salt));
}

/// @dev keccak256(abi.encodePacked(target, selector)): a 24-byte preimage.
function actionIdOf(address target, bytes4 selector) pure returns (bytes32 id) {
    assembly ("memory-safe") {
        mstore(0x00, shl(96, target))
        mstore(0x14, selector)
        id := keccak256(0x00, 0x18)
    }
}

/// @dev keccak256(abi.encodePacked(a, b)) of two words.
function hashPair(bytes32 a, bytes32 b) pure returns (bytes32 h) {
    assembly ("memory-safe") {
        mstore(0x00, a)
        mstore(0x20, b)
        h := keccak256(0x00, 0x40)
    }
}

/// @dev keccak256(abi.encodePacked(account, id)): the config id a policy receives (spec §2.3).
function configIdOf(address account, bytes32 id) pure returns (bytes32 h) {
    assembly ("memory-safe") {
        mstore(0x00, shl(96, account))
        mstore(0x14, id)
        h := keccak256(0x00, 0x34)
    }
}

/// @dev The ERC-1271 policy id: keccak256(abi.encodePacked("ERC1271: ", permissionId)).
function erc1271PolicyIdOf(bytes32 permissionId) pure returns (bytes32) {
    return keccak256(abi.encodePacked("ERC1271: ", permissionId));
}

/* ---------------------------------------------------------------------- EIP-712 */

/// @dev keccak256 of the concatenation of the words of `a`.
function hashWords(bytes32[] memory a) pure returns (bytes32 h) {
    assembly ("memory-safe") {
        h := keccak256(add(a, 0x20), shl(5, mload(a)))
    }
}

function hashPolicyData(PolicyData memory p) pure returns (bytes32) {
    return keccak256(abi.encode(POLICY_DATA_TYPEHASH, p.policy, keccak256(p.initData)));
}

function hashPolicyDataArray(PolicyData[] memory ps) pure returns (bytes32) {
    uint256 n = ps.length;
    bytes32[] memory hs = new bytes32[](n);
    for (uint256 i; i < n; ++i) {
        hs[i] = hashPolicyData(ps[i]);
    }
    return hashWords(hs);
}

/// @dev The selector is a bytes4, left-aligned in its word (abi.encode of bytes4).
function hashActionData(ActionData memory a) pure returns (bytes32) {
    return keccak256(
        abi.encode(ACTION_DATA_TYPEHASH, a.actionTargetSelector, a.actionTarget, hashPolicyDataArray(a.actionPolicies))
    );
}

/// @return permitGenericPolicy some action is the generic fallback (target 0x…01, selector 0x00000001)
/// @return permitAdminAccess some action is the SmartSession-call fallback (target 0x…01, selector 0x00000002)
/// @return h hash of the array of ActionData hashes
function hashActionDataArray(ActionData[] memory actions)
    pure
    returns (bool permitGenericPolicy, bool permitAdminAccess, bytes32 h)
{
    uint256 n = actions.length;
    bytes32[] memory hs = new bytes32[](n);
    for (uint256 i; i < n; ++i) {
        ActionData memory a = actions[i];
        if (a.actionTarget == FALLBACK_TARGET_FLAG) {
            if (a.actionTargetSelector == FALLBACK_TARGET_SELECTOR_FLAG) permitGenericPolicy = true;
            if (a.actionTargetSelector == FALLBACK_TARGET_SELECTOR_FLAG_PERMITTED_TO_CALL_SMARTSESSION) {
                permitAdminAccess = true;
            }
        }
        hs[i] = hashActionData(a);
    }
    h = hashWords(hs);
}

function hashStringArray(string[] memory names) pure returns (bytes32) {
    uint256 n = names.length;
    bytes32[] memory hs = new bytes32[](n);
    for (uint256 i; i < n; ++i) {
        hs[i] = keccak256(bytes(names[i]));
    }
    return hashWords(hs);
}

function hashERC7739Context(ERC7739Context memory c) pure returns (bytes32) {
    return keccak256(abi.encode(ERC7739_CONTEXT_TYPEHASH, c.appDomainSeparator, hashStringArray(c.contentNames)));
}

function hashERC7739Data(ERC7739Data memory d) pure returns (bytes32) {
    uint256 n = d.allowedERC7739Content.length;
    bytes32[] memory hs = new bytes32[](n);
    for (uint256 i; i < n; ++i) {
        hs[i] = hashERC7739Context(d.allowedERC7739Content[i]);
    }
    return keccak256(abi.encode(ERC7739_DATA_TYPEHASH, hashWords(hs), hashPolicyDataArray(d.erc1271Policies)));
}

/// @dev hashStruct(SignedPermissions); the two fallback flags are derived from the actions.
function hashPermissions(Session memory s, bool ignoreSecurityAttestations) pure returns (bytes32) {
    (bool permitGenericPolicy, bool permitAdminAccess, bytes32 actionsHash) = hashActionDataArray(s.actions);
    return keccak256(
        abi.encode(
            SIGNED_PERMISSIONS_TYPEHASH,
            permitGenericPolicy,
            permitAdminAccess,
            ignoreSecurityAttestations,
            s.permitERC4337Paymaster,
            hashPolicyDataArray(s.userOpPolicies),
            hashERC7739Data(s.erc7739Policies),
            actionsHash
        )
    );
}

/// @dev hashStruct(SignedSession): the per-chain session digest (spec §2.7).
function sessionDigestOf(
    Session memory s,
    address account,
    address smartSession,
    bool ignoreSecurityAttestations,
    uint256 nonce
) pure returns (bytes32) {
    bytes32 permissionsHash = hashPermissions(s, ignoreSecurityAttestations);
    return keccak256(
        abi.encode(
            SESSION_TYPEHASH,
            account,
            permissionsHash,
            s.sessionValidator,
            keccak256(s.sessionValidatorInitData),
            s.salt,
            smartSession,
            nonce
        )
    );
}

/// @dev The EIP-712 digest of MultiChainSession rebuilt from (chainId, sessionDigest) pairs (spec §2.8).
function multichainDigestOf(ChainDigest[] memory digests) pure returns (bytes32) {
    uint256 n = digests.length;
    bytes32[] memory hs = new bytes32[](n);
    for (uint256 i; i < n; ++i) {
        hs[i] = keccak256(abi.encode(CHAIN_SESSION_TYPEHASH, digests[i].chainId, digests[i].sessionDigest));
    }
    bytes32 structHash = keccak256(abi.encode(MULTICHAIN_SESSION_TYPEHASH, hashWords(hs)));
    return keccak256(abi.encodePacked(hex"1901", SMART_SESSION_DOMAIN_SEPARATOR, structHash));
}
