// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PackedUserOperation} from "../interfaces/IERC4337.sol";
import {
    PolicyData,
    ActionData,
    ERC7739Context,
    ERC7739Data,
    ERC7739ContextHashes,
    Session,
    SmartSessionMode,
    PolicyType
} from "./SessionTypes.sol";

/// @notice The SmartSession 1.0.0 surface: every function, event and custom error of `SmartSessionAbi` in
/// abstractjs 1.2.3 and module-sdk 0.4.0, with the same selectors. Where the SDK ABI and the
/// deployed contract disagree (the paymaster setter and its event) both spellings are declared.
interface ISmartSession {
    /* ------------------------------------------------------------------ errors */
    error AssociatedArray_OutOfBounds(uint256 index);
    error ChainIdMismatch(uint64 providedChainId);
    error HashIndexOutOfBounds(uint256 index);
    error HashMismatch(bytes32 providedHash, bytes32 computedHash);
    error InvalidData();
    error InvalidActionId();
    error NoExecutionsInBatch();
    error InvalidTarget();
    error InvalidEnableSignature(address account, bytes32 hash);
    error InvalidISessionValidator(address sessionValidator);
    error InvalidSelfCall();
    error InvalidSession(bytes32 permissionId);
    error InvalidSessionKeySignature(bytes32 permissionId, address sessionValidator, address account, bytes32 userOpHash);
    error SmartSessionModuleAlreadyInstalled(address account);
    error InvalidPermissionId(bytes32 permissionId);
    error InvalidCallTarget();
    error InvalidMode();
    error InvalidUserOpSender(address sender);
    error NoPoliciesSet(bytes32 permissionId);
    error PartlyEnabledActions();
    error PartlyEnabledPolicies();
    error PolicyViolation(bytes32 permissionId, address policy);
    error SignerNotFound(bytes32 permissionId, address account);
    error UnsupportedCallType(bytes1 callType);
    error UnsupportedExecutionType();
    error UnsupportedPolicy(address policy);
    error UnsupportedSmartSessionMode(uint8 mode);
    error ForbiddenValidationData();
    error PaymasterValidationNotEnabled(bytes32 permissionId);
    /// @dev A policy call reverted; carries the first word of its revert data (selector 0xf4270752).
    error PolicyCheckReverted(bytes32 reason);
    /// @dev Malformed ERC-7579 batch calldata (selector 0xba597e7e).
    error DecodingError();
    /// @dev A session validator config longer than 1024 bytes.
    error InvalidDataLength();

    /* ------------------------------------------------------------------ events */
    event NonceIterated(bytes32 permissionId, address account, uint256 newValue);
    event SessionValidatorEnabled(bytes32 permissionId, address sessionValidator, address smartAccount);
    event SessionValidatorDisabled(bytes32 permissionId, address sessionValidator, address smartAccount);
    event PolicyDisabled(bytes32 permissionId, PolicyType policyType, address policy, address smartAccount);
    event ActionIdDisabled(bytes32 permissionId, bytes32 actionId, address smartAccount);
    event PolicyEnabled(bytes32 permissionId, PolicyType policyType, address policy, address smartAccount);
    event SessionCreated(bytes32 permissionId, address account);
    event SessionRemoved(bytes32 permissionId, address smartAccount);
    /// @dev Emitted (name of the deployed contract).
    event PermissionIdPermit4337Paymaster(bytes32 permissionId, address smartAccount, bool enabled);
    /// @dev Declared only: the SDK ABI's spelling of the event above.
    event PermissionIdpermitERC4337Paymaster(bytes32 permissionId, address smartAccount, bool enabled);

    /* ------------------------------------------------------------------ ERC-7579 / ERC-4337 */
    function validateUserOp(PackedUserOperation calldata userOp, bytes32 userOpHash) external returns (uint256 vd);
    function onInstall(bytes calldata data) external;
    function onUninstall(bytes calldata) external;
    function isValidSignatureWithSender(address sender, bytes32 hash, bytes calldata signature)
        external
        view
        returns (bytes4 result);
    function isInitialized(address smartAccount) external view returns (bool);
    function isModuleType(uint256 typeID) external pure returns (bool);

    /* ------------------------------------------------------------------ administration (msg.sender = account) */
    function enableSessions(Session[] memory sessions) external returns (bytes32[] memory permissionIds);
    function removeSession(bytes32 permissionId) external;
    function revokeEnableSignature(bytes32 permissionId) external;
    function enableUserOpPolicies(bytes32 permissionId, PolicyData[] memory userOpPolicies) external;
    function disableUserOpPolicies(bytes32 permissionId, address[] calldata policies) external;
    function enableActionPolicies(bytes32 permissionId, ActionData[] memory actionPolicies) external;
    function disableActionPolicies(bytes32 permissionId, bytes32 actionId, address[] calldata policies) external;
    function disableActionId(bytes32 permissionId, bytes32 actionId) external;
    function enableERC1271Policies(bytes32 permissionId, ERC7739Data memory erc1271Policies) external;
    function disableERC1271Policies(bytes32 permissionId, address[] calldata policies, ERC7739Context[] memory contexts)
        external;
    function setPermit4337Paymaster(bytes32 permissionId, bool enabled) external;
    function setpermitERC4337Paymaster(bytes32 permissionId, bool enabled) external;

    /* ------------------------------------------------------------------ views */
    function getNonce(bytes32 permissionId, address account) external view returns (uint256);
    function getSessionDigest(bytes32 permissionId, address account, Session memory data, SmartSessionMode mode)
        external
        view
        returns (bytes32);
    function getPermissionId(Session memory session) external pure returns (bytes32 permissionId);
    function getPermissionIDs(address account) external view returns (bytes32[] memory permissionIds);
    function isPermissionEnabled(bytes32 permissionId, address account) external view returns (bool);
    function isISessionValidatorSet(bytes32 permissionId, address account) external view returns (bool);
    function getSessionValidatorAndConfig(address account, bytes32 permissionId)
        external
        view
        returns (address sessionValidator, bytes memory sessionValidatorData);
    function getUserOpPolicies(address account, bytes32 permissionId) external view returns (address[] memory);
    function getERC1271Policies(address account, bytes32 permissionId) external view returns (address[] memory);
    function getActionPolicies(address account, bytes32 permissionId, bytes32 actionId)
        external
        view
        returns (address[] memory);
    function getEnabledActions(address account, bytes32 permissionId) external view returns (bytes32[] memory);
    function getEnabledERC7739Content(address account, bytes32 permissionId)
        external
        view
        returns (ERC7739ContextHashes[] memory enabledERC7739ContentHashes);
    function isUserOpPolicyEnabled(address account, bytes32 permissionId, address policy) external view returns (bool);
    function isERC1271PolicyEnabled(address account, bytes32 permissionId, address policy)
        external
        view
        returns (bool);
    function isActionPolicyEnabled(address account, bytes32 permissionId, bytes32 actionId, address policy)
        external
        view
        returns (bool);
    function isActionIdEnabled(address account, bytes32 permissionId, bytes32 actionId) external view returns (bool);
    function isERC7739ContentEnabled(
        address account,
        bytes32 permissionId,
        bytes32 appDomainSeparator,
        string memory content
    ) external view returns (bool);
    function areUserOpPoliciesEnabled(address account, bytes32 permissionId, PolicyData[] memory userOpPolicies)
        external
        view
        returns (bool);
    function areERC1271PoliciesEnabled(address account, bytes32 permissionId, PolicyData[] memory erc1271Policies)
        external
        view
        returns (bool);
    function areActionsEnabled(address account, bytes32 permissionId, ActionData[] memory actions)
        external
        view
        returns (bool);
}
