// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PackedUserOperation} from "../interfaces/IERC4337.sol";
import {IERC7579Account, ISessionValidator, ERC1271_MAGIC_VALUE, ERC1271_INVALID} from "../interfaces/IERC7579.sol";
import {flzDecompressCalldata} from "../lib/FastLzDecompress.sol";
import {ISmartSession} from "./ISmartSession.sol";
import {IPolicy, IUserOpPolicy, IActionPolicy, I1271Policy} from "./IPolicy.sol";
import {
    PolicyData,
    ActionData,
    ERC7739Context,
    ERC7739Data,
    ERC7739ContextHashes,
    Session,
    ChainDigest,
    EnableSession,
    SmartSessionMode,
    PolicyType,
    FALLBACK_TARGET_FLAG,
    FALLBACK_ACTIONID,
    FALLBACK_ACTIONID_SMARTSESSION_CALL,
    VALUE_SELECTOR,
    MODULE_TYPE_VALIDATOR_ID,
    MODULE_TYPE_STATELESS_VALIDATOR_ID,
    VALIDATION_FAILED_VD,
    SELECTOR_EXECUTE,
    SELECTOR_EXECUTE_USER_OP
} from "./SessionTypes.sol";
import {
    permissionIdOf,
    actionIdOf,
    hashPair,
    configIdOf,
    erc1271PolicyIdOf,
    sessionDigestOf,
    multichainDigestOf
} from "./SessionHashing.sol";
import {intersectValidationData, VD_AGGREGATOR_MASK} from "./ValidationDataMath.sol";
import {executionCalldataOf, decodeSingleExecution, batchLength, batchExecution} from "./ExecutionDecoding.sol";

/// @title SmartSession
/// @notice An ERC-7579 validator that lets a smart account delegate narrow, policy-limited permissions ("sessions")
/// to session keys. Compatible with SmartSession 1.0.0 (erc7579/smartsessions, deployed at
/// 0x00000000008bDABA73cD9815d79069c247Eb4bDA): same ABI, same permission/action/config ids, same EIP-712 digests,
/// same userOp signature modes (USE, ENABLE, UNSAFE_ENABLE) and the same checks during validation.
///
/// Storage is keyed by (permissionId, account) with the account as the innermost mapping key, and every list is a
/// fixed region inside that record, so everything validateUserOp touches is associated with the userOp sender.
/// Layout of a session record (one per permissionId and account):
///   slot 0      header: sessionValidator | configLength | enabled | permitERC4337Paymaster | actionCount | domainCount
///   slot 1..32  the session validator config (at most 1024 bytes)
///   then        the userOp and ERC-1271 policy lists, the enabled action ids and the ERC-7739 domains.
/// A policy list is "packed": word 0 holds the count in its top 96 bits and the first policy in its low 160 bits, so
/// a one-policy list costs a single slot.
///
/// The contract never refers to a deployment-time address: it uses address(this) at runtime, so its runtime code can
/// be copied to any address (the devnet places it at the production address with anvil_setCode).
contract SmartSession is ISmartSession {
    /* ================================================================== storage */

    uint256 internal constant POLICY_LIST_CAPACITY = 32;
    uint256 internal constant SET_CAPACITY = 256;
    uint256 internal constant PERMISSION_ID_CAPACITY = 65536;
    uint256 internal constant CONFIG_WORDS = 32;

    struct SessionRecord {
        address sessionValidator;
        uint32 configLength;
        bool enabled;
        bool permitERC4337Paymaster;
        uint16 actionCount;
        uint16 domainCount;
        bytes32[32] config;
        uint256[32] userOpPolicies;
        uint256[32] erc1271Policies;
        bytes32[256] actionIds;
        bytes32[256] domains;
    }

    struct AccountRecord {
        uint256 count;
        bytes32[65536] permissionIds;
    }

    struct ContentNameSet {
        uint256 count;
        bytes32[256] names;
    }

    /// @dev permissionId => account => session
    mapping(bytes32 => mapping(address => SessionRecord)) internal $sessions;
    /// @dev account => enabled permission ids, in insertion order (swap-and-pop on removal)
    mapping(address => AccountRecord) internal $accounts;
    /// @dev actionPolicyId = keccak256(permissionId ‖ actionId) => account => packed policy list
    mapping(bytes32 => mapping(address => uint256[32])) internal $actionPolicies;
    /// @dev permissionId => appDomainSeparator => account => keccak256(content name) set
    mapping(bytes32 => mapping(bytes32 => mapping(address => ContentNameSet))) internal $contentNames;
    /// @dev permissionId => account => enable-signature nonce (survives removeSession)
    mapping(bytes32 => mapping(address => uint256)) internal $nonces;

    /* ================================================================== ERC-4337 validation */

    /// @notice Validates a userOp of `msg.sender` signed with a session (spec §4.1, §4.2, §4.6).
    /// @dev signature = 0x00 ‖ permissionId ‖ sessionValidatorSig                                (USE)
    ///                = 0x01|0x02 ‖ FastLZ(abi.encode(EnableSession, sessionValidatorSig))       (ENABLE, UNSAFE_ENABLE)
    /// Policy violations and malformed data revert; a bad session-key signature returns 1 (SIG_VALIDATION_FAILED).
    function validateUserOp(PackedUserOperation calldata userOp, bytes32 userOpHash) external returns (uint256) {
        address account = userOp.sender;
        if (account != msg.sender) revert InvalidUserOpSender(account);
        bytes calldata sig = userOp.signature;
        uint8 mode = uint8(bytes1(sig[:1]));
        if (mode == uint8(SmartSessionMode.USE)) {
            return _enforcePolicies(bytes32(sig[1:33]), userOpHash, userOp, sig[33:], account);
        }
        if (mode > uint8(SmartSessionMode.UNSAFE_ENABLE)) revert UnsupportedSmartSessionMode(mode);

        (EnableSession memory enableData, bytes memory useSig) =
            abi.decode(flzDecompressCalldata(sig[1:]), (EnableSession, bytes));
        bytes32 permissionId = permissionIdOf(enableData.sessionToEnable);
        _enableWithOwnerSignature(enableData, permissionId, account, mode == uint8(SmartSessionMode.UNSAFE_ENABLE));
        return _enforcePolicies(permissionId, userOpHash, userOp, useSig, account);
    }

    /// @dev ENABLE / UNSAFE_ENABLE: check the owner's multichain signature over the session, then store it.
    function _enableWithOwnerSignature(
        EnableSession memory enableData,
        bytes32 permissionId,
        address account,
        bool ignoreSecurityAttestations
    ) internal {
        // The digest binds the current nonce; consuming it makes the enable signature single-use on this chain.
        uint256 nonce = $nonces[permissionId][account]++;
        bytes32 computed =
            sessionDigestOf(enableData.sessionToEnable, account, address(this), ignoreSecurityAttestations, nonce);
        ChainDigest memory provided = enableData.hashesAndChainIds[enableData.chainDigestIndex];
        if (provided.chainId != block.chainid) revert ChainIdMismatch(provided.chainId);
        if (provided.sessionDigest != computed) revert HashMismatch(provided.sessionDigest, computed);

        bytes32 digest = multichainDigestOf(enableData.hashesAndChainIds);
        if (IERC7579Account(account).isValidSignature(digest, enableData.permissionEnableSig) != ERC1271_MAGIC_VALUE) {
            revert InvalidEnableSignature(account, digest);
        }
        _enableSession(enableData.sessionToEnable, permissionId, account, false);
    }

    function _enforcePolicies(
        bytes32 permissionId,
        bytes32 userOpHash,
        PackedUserOperation calldata userOp,
        bytes memory sessionValidatorSig,
        address account
    ) internal returns (uint256 vd) {
        SessionRecord storage rec = $sessions[permissionId][account];
        if (!rec.enabled) revert InvalidPermissionId(permissionId);

        // A userOp with a paymaster needs the session's paymaster permission and at least one userOp policy.
        uint256 minUserOpPolicies;
        if (userOp.paymasterAndData.length != 0) {
            if (!rec.permitERC4337Paymaster) revert PaymasterValidationNotEnabled(permissionId);
            minUserOpPolicies = 1;
        }
        uint256 userOpPolicyCount = _listCount(rec.userOpPolicies);
        if (userOpPolicyCount < minUserOpPolicies) revert NoPoliciesSet(permissionId);
        if (userOpPolicyCount != 0) {
            vd = _runPolicies(
                rec.userOpPolicies,
                permissionId,
                abi.encodeCall(IUserOpPolicy.checkUserOpPolicy, (configIdOf(account, permissionId), userOp)),
                0
            );
        }
        vd = intersectValidationData(vd, _checkCallData(permissionId, account, userOp.callData));

        address sessionValidator = rec.sessionValidator;
        if (sessionValidator == address(0)) revert SignerNotFound(permissionId, account);
        bool validSig = ISessionValidator(sessionValidator).validateSignatureWithData(
            userOpHash, sessionValidatorSig, _loadConfig(rec)
        );
        if (!validSig) return VALIDATION_FAILED_VD;
    }

    /// @dev The action checks for the userOp's callData (spec §4.6 step 5).
    function _checkCallData(bytes32 permissionId, address account, bytes calldata callData)
        internal
        returns (uint256 vd)
    {
        bytes4 selector = bytes4(callData[:4]);
        if (selector == SELECTOR_EXECUTE) {
            bytes32 mode = bytes32(callData[4:36]);
            if (mode[1] != 0x00) revert UnsupportedExecutionType();
            bytes1 callType = mode[0];
            if (callType == 0x01) {
                bytes calldata exec = executionCalldataOf(callData);
                (uint256 n, uint256 table) = batchLength(exec);
                if (n == 0) revert NoExecutionsInBatch();
                for (uint256 i; i < n; ++i) {
                    vd = intersectValidationData(vd, _checkBatchItem(permissionId, account, exec, table, i));
                }
                return vd;
            }
            if (callType == 0x00) {
                (address target, uint256 value, bytes calldata data) =
                    decodeSingleExecution(executionCalldataOf(callData));
                return _checkExecution(permissionId, account, target, value, data);
            }
            revert UnsupportedCallType(callType);
        }
        if (selector == SELECTOR_EXECUTE_USER_OP) revert UnsupportedExecutionType();

        // Any other account function is an action on the account itself (no fallback action applies).
        bytes32 actionPolicyId = hashPair(permissionId, actionIdOf(account, selector));
        return _runPolicies(
            $actionPolicies[actionPolicyId][account],
            permissionId,
            abi.encodeCall(
                IActionPolicy.checkAction, (configIdOf(account, actionPolicyId), account, account, 0, callData)
            ),
            1
        );
    }

    function _checkBatchItem(bytes32 permissionId, address account, bytes calldata exec, uint256 table, uint256 i)
        internal
        returns (uint256)
    {
        (address target, uint256 value, bytes calldata data) = batchExecution(exec, table, i);
        return _checkExecution(permissionId, account, target, value, data);
    }

    /// @dev One execution of an ERC-7579 `execute`: the policies of its action id, else of the fallback action.
    function _checkExecution(
        bytes32 permissionId,
        address account,
        address target,
        uint256 value,
        bytes calldata data
    ) internal returns (uint256) {
        bytes4 targetSelector = data.length < 4 ? VALUE_SELECTOR : bytes4(data[:4]);
        // A nested execute on the account itself would bypass the per-action checks.
        if (targetSelector == SELECTOR_EXECUTE && target == account) revert InvalidSelfCall();
        if (target == FALLBACK_TARGET_FLAG) revert InvalidTarget();

        bytes32 actionPolicyId;
        if (target == address(this)) {
            // Calls to SmartSession itself need the dedicated fallback action (permitAdminAccess).
            actionPolicyId = hashPair(permissionId, FALLBACK_ACTIONID_SMARTSESSION_CALL);
        } else {
            actionPolicyId = hashPair(permissionId, actionIdOf(target, targetSelector));
            if (_listCount($actionPolicies[actionPolicyId][account]) == 0) {
                actionPolicyId = hashPair(permissionId, FALLBACK_ACTIONID);
            }
        }
        return _runPolicies(
            $actionPolicies[actionPolicyId][account],
            permissionId,
            abi.encodeCall(
                IActionPolicy.checkAction, (configIdOf(account, actionPolicyId), account, target, value, data)
            ),
            1
        );
    }

    /// @dev Calls every policy of `list` with `callData` and intersects their validation data.
    function _runPolicies(uint256[32] storage list, bytes32 permissionId, bytes memory callData, uint256 minPolicies)
        internal
        returns (uint256 vd)
    {
        uint256 word0 = list[0];
        uint256 n = word0 >> 160;
        if (n < minPolicies) revert NoPoliciesSet(permissionId);
        for (uint256 i; i < n; ++i) {
            address policy = address(uint160(i == 0 ? word0 : list[i]));
            vd = intersectValidationData(vd, _callPolicy(policy, permissionId, callData));
        }
    }

    /// @dev A policy's verdict: its first return word. A revert becomes PolicyCheckReverted(first revert word); a
    /// verdict with any of the low 160 bits set (failure or an aggregator) becomes PolicyViolation.
    function _callPolicy(address policy, bytes32 permissionId, bytes memory callData) internal returns (uint256 vd) {
        assembly ("memory-safe") {
            mstore(0x00, 0)
            let ok := call(gas(), policy, 0, add(callData, 0x20), mload(callData), 0x00, 0x20)
            vd := mload(0x00)
            if iszero(ok) {
                mstore(0x00, 0xf4270752) // PolicyCheckReverted(bytes32)
                mstore(0x20, vd)
                revert(0x1c, 0x24)
            }
        }
        if (vd & VD_AGGREGATOR_MASK != 0) revert PolicyViolation(permissionId, policy);
    }

    /* ================================================================== ERC-1271 */

    /// @notice Session-key ERC-1271 (ERC-7739) signing is not supported by this build: always 0xffffffff.
    /// @dev The ERC-1271 policy and ERC-7739 content administration is fully available.
    function isValidSignatureWithSender(address sender, bytes32, bytes calldata) external view returns (bytes4) {
        // As in the original, a session can never authorise for SmartSession itself; beyond that, session-key
        // signing is not implemented yet.
        if (sender == address(this)) return ERC1271_INVALID;
        return ERC1271_INVALID;
    }

    /* ================================================================== module lifecycle */

    /// @param data empty, or abi.encodePacked(uint8 mode (ENABLE or UNSAFE_ENABLE), abi.encode(Session[]))
    function onInstall(bytes calldata data) external {
        // Sessions left over from an earlier installation would silently come back to life.
        if ($accounts[msg.sender].count != 0) revert SmartSessionModuleAlreadyInstalled(msg.sender);
        if (data.length == 0) return;
        uint8 mode = uint8(data[0]);
        if (mode != uint8(SmartSessionMode.ENABLE) && mode != uint8(SmartSessionMode.UNSAFE_ENABLE)) {
            revert InvalidMode();
        }
        _enableSessions(abi.decode(data[1:], (Session[])));
    }

    /// @notice Removes every session of the caller.
    function onUninstall(bytes calldata) external {
        AccountRecord storage acc = $accounts[msg.sender];
        uint256 n = acc.count;
        for (uint256 i; i < n; ++i) {
            removeSession(acc.permissionIds[0]);
        }
    }

    function isInitialized(address smartAccount) external view returns (bool) {
        return $accounts[smartAccount].count != 0;
    }

    function isModuleType(uint256 typeID) external pure returns (bool) {
        return typeID == MODULE_TYPE_VALIDATOR_ID;
    }

    /* ================================================================== sessions */

    /// @notice Enables sessions for the caller (the account); returns their permission ids.
    function enableSessions(Session[] memory sessions) external returns (bytes32[] memory permissionIds) {
        return _enableSessions(sessions);
    }

    function _enableSessions(Session[] memory sessions) internal returns (bytes32[] memory permissionIds) {
        uint256 n = sessions.length;
        if (n == 0) revert InvalidData();
        permissionIds = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            bytes32 permissionId = permissionIdOf(sessions[i]);
            _enableSession(sessions[i], permissionId, msg.sender, true);
            permissionIds[i] = permissionId;
        }
    }

    /// @dev Stores a session; policies already present are re-initialised with the new init data. The session
    /// validator and its config are only set if the permission has none yet.
    function _enableSession(Session memory session, bytes32 permissionId, address account, bool emitCreated) internal {
        SessionRecord storage rec = $sessions[permissionId][account];
        _enablePolicies(
            rec.userOpPolicies,
            PolicyType.USER_OP,
            permissionId,
            configIdOf(account, permissionId),
            session.userOpPolicies,
            account
        );
        _enablePolicies(
            rec.erc1271Policies,
            PolicyType.ERC1271,
            permissionId,
            configIdOf(account, erc1271PolicyIdOf(permissionId)),
            session.erc7739Policies.erc1271Policies,
            account
        );
        _enableERC7739Content(rec, permissionId, session.erc7739Policies.allowedERC7739Content, account);
        _enableActions(rec, permissionId, session.actions, account);

        if (!rec.enabled) {
            rec.enabled = true;
            AccountRecord storage acc = $accounts[account];
            uint256 count = acc.count;
            if (count == PERMISSION_ID_CAPACITY) revert AssociatedArray_OutOfBounds(count);
            acc.permissionIds[count] = permissionId;
            acc.count = count + 1;
        }
        _setPaymasterPermission(rec, permissionId, session.permitERC4337Paymaster, account);

        if (rec.sessionValidator == address(0)) {
            _setSessionValidator(
                rec, permissionId, session.sessionValidator, session.sessionValidatorInitData, account
            );
        }
        if (emitCreated) emit SessionCreated(permissionId, account);
    }

    /// @notice Removes a session of the caller: its policies, actions, ERC-7739 content, validator and paymaster
    /// permission. The enable-signature nonce is kept.
    function removeSession(bytes32 permissionId) public {
        if (permissionId == bytes32(0)) revert InvalidSession(permissionId);
        address account = msg.sender;
        SessionRecord storage rec = $sessions[permissionId][account];

        rec.userOpPolicies[0] = 0;
        rec.erc1271Policies[0] = 0;
        uint256 actions = rec.actionCount;
        for (uint256 i; i < actions; ++i) {
            $actionPolicies[hashPair(permissionId, rec.actionIds[i])][account][0] = 0;
        }
        uint256 domains = rec.domainCount;
        for (uint256 i; i < domains; ++i) {
            $contentNames[permissionId][rec.domains[i]][account].count = 0;
        }
        emit SessionValidatorDisabled(permissionId, rec.sessionValidator, account);

        if (rec.enabled) _removePermissionId(account, permissionId);
        // Clears the whole header: validator, config length, enabled, paymaster permission and the list counts.
        rec.sessionValidator = address(0);
        rec.configLength = 0;
        rec.enabled = false;
        rec.permitERC4337Paymaster = false;
        rec.actionCount = 0;
        rec.domainCount = 0;
        emit SessionRemoved(permissionId, account);
    }

    function _removePermissionId(address account, bytes32 permissionId) internal {
        AccountRecord storage acc = $accounts[account];
        uint256 last = acc.count - 1;
        for (uint256 i; i <= last; ++i) {
            if (acc.permissionIds[i] == permissionId) {
                if (i != last) acc.permissionIds[i] = acc.permissionIds[last];
                acc.permissionIds[last] = bytes32(0);
                acc.count = last;
                return;
            }
        }
    }

    /// @notice Invalidates pending enable signatures of a permission for the caller by consuming the nonce.
    function revokeEnableSignature(bytes32 permissionId) external {
        uint256 next = ++$nonces[permissionId][msg.sender];
        emit NonceIterated(permissionId, msg.sender, next);
    }

    /* ================================================================== policy administration */

    modifier enableWithPermissionId(bytes32 permissionId) {
        _requireEnabled(permissionId);
        _;
        _requireEnabled(permissionId);
    }

    modifier disableWithPermissionId(bytes32 permissionId) {
        _requireEnabled(permissionId);
        _;
    }

    function _requireEnabled(bytes32 permissionId) internal view {
        if (!$sessions[permissionId][msg.sender].enabled) revert InvalidPermissionId(permissionId);
    }

    function enableUserOpPolicies(bytes32 permissionId, PolicyData[] memory userOpPolicies)
        external
        enableWithPermissionId(permissionId)
    {
        _enablePolicies(
            $sessions[permissionId][msg.sender].userOpPolicies,
            PolicyType.USER_OP,
            permissionId,
            configIdOf(msg.sender, permissionId),
            userOpPolicies,
            msg.sender
        );
    }

    function disableUserOpPolicies(bytes32 permissionId, address[] calldata policies)
        external
        disableWithPermissionId(permissionId)
    {
        _disablePolicies($sessions[permissionId][msg.sender].userOpPolicies, PolicyType.USER_OP, permissionId, policies);
    }

    function enableERC1271Policies(bytes32 permissionId, ERC7739Data memory erc1271Policies)
        external
        enableWithPermissionId(permissionId)
    {
        SessionRecord storage rec = $sessions[permissionId][msg.sender];
        _enableERC7739Content(rec, permissionId, erc1271Policies.allowedERC7739Content, msg.sender);
        _enablePolicies(
            rec.erc1271Policies,
            PolicyType.ERC1271,
            permissionId,
            configIdOf(msg.sender, erc1271PolicyIdOf(permissionId)),
            erc1271Policies.erc1271Policies,
            msg.sender
        );
    }

    function disableERC1271Policies(bytes32 permissionId, address[] calldata policies, ERC7739Context[] memory contexts)
        external
        disableWithPermissionId(permissionId)
    {
        SessionRecord storage rec = $sessions[permissionId][msg.sender];
        for (uint256 i; i < contexts.length; ++i) {
            bytes32 domain = contexts[i].appDomainSeparator;
            ContentNameSet storage set = $contentNames[permissionId][domain][msg.sender];
            string[] memory names = contexts[i].contentNames;
            for (uint256 j; j < names.length; ++j) {
                set.count = _setRemove(set.names, set.count, keccak256(bytes(names[j])));
            }
            if (set.count == 0) rec.domainCount = uint16(_setRemove(rec.domains, rec.domainCount, domain));
        }
        _disablePolicies(rec.erc1271Policies, PolicyType.ERC1271, permissionId, policies);
    }

    function enableActionPolicies(bytes32 permissionId, ActionData[] memory actionPolicies)
        external
        enableWithPermissionId(permissionId)
    {
        _enableActions($sessions[permissionId][msg.sender], permissionId, actionPolicies, msg.sender);
    }

    function disableActionPolicies(bytes32 permissionId, bytes32 actionId, address[] calldata policies)
        external
        disableWithPermissionId(permissionId)
    {
        uint256[32] storage list = $actionPolicies[hashPair(permissionId, actionId)][msg.sender];
        _disablePolicies(list, PolicyType.ACTION, permissionId, policies);
        if (_listCount(list) == 0) {
            _removeActionId($sessions[permissionId][msg.sender], actionId);
            emit ActionIdDisabled(permissionId, actionId, msg.sender);
        }
    }

    function disableActionId(bytes32 permissionId, bytes32 actionId) external disableWithPermissionId(permissionId) {
        $actionPolicies[hashPair(permissionId, actionId)][msg.sender][0] = 0;
        _removeActionId($sessions[permissionId][msg.sender], actionId);
        emit ActionIdDisabled(permissionId, actionId, msg.sender);
    }

    /// @notice Allows or forbids userOps of this permission to use a paymaster (SmartSession 1.0.0 name).
    function setPermit4337Paymaster(bytes32 permissionId, bool enabled) external {
        _requireEnabled(permissionId);
        _setPaymasterPermission($sessions[permissionId][msg.sender], permissionId, enabled, msg.sender);
    }

    /// @notice The same as setPermit4337Paymaster, under the name the SDK ABIs carry.
    function setpermitERC4337Paymaster(bytes32 permissionId, bool enabled) external {
        _requireEnabled(permissionId);
        _setPaymasterPermission($sessions[permissionId][msg.sender], permissionId, enabled, msg.sender);
    }

    function _setPaymasterPermission(SessionRecord storage rec, bytes32 permissionId, bool enabled, address account)
        internal
    {
        rec.permitERC4337Paymaster = enabled;
        emit PermissionIdPermit4337Paymaster(permissionId, account, enabled);
    }

    /* ================================================================== enabling helpers */

    function _enablePolicies(
        uint256[32] storage list,
        PolicyType policyType,
        bytes32 permissionId,
        bytes32 configId,
        PolicyData[] memory policies,
        address account
    ) internal {
        bytes4 interfaceId = policyType == PolicyType.USER_OP
            ? type(IUserOpPolicy).interfaceId
            : (policyType == PolicyType.ACTION ? type(IActionPolicy).interfaceId : type(I1271Policy).interfaceId);
        uint256 n = policies.length;
        for (uint256 i; i < n; ++i) {
            address policy = policies[i].policy;
            if (!_supportsInterface(policy, interfaceId)) revert UnsupportedPolicy(policy);
            _listAdd(list, policy);
            // Overwrites any earlier config of this policy for (configId, account).
            IPolicy(policy).initializeWithMultiplexer(account, configId, policies[i].initData);
            emit PolicyEnabled(permissionId, policyType, policy, account);
        }
    }

    function _disablePolicies(
        uint256[32] storage list,
        PolicyType policyType,
        bytes32 permissionId,
        address[] calldata policies
    ) internal {
        for (uint256 i; i < policies.length; ++i) {
            if (_listRemove(list, policies[i])) emit PolicyDisabled(permissionId, policyType, policies[i], msg.sender);
        }
    }

    /// @dev ERC-165 query with the standard 30k gas stipend: true iff it succeeds and returns a non-zero word.
    function _supportsInterface(address target, bytes4 interfaceId) internal view returns (bool ok) {
        assembly ("memory-safe") {
            mstore(0x00, shl(224, 0x01ffc9a7))
            mstore(0x04, interfaceId)
            let success := staticcall(30000, target, 0x00, 0x24, 0x00, 0x20)
            ok := and(and(success, iszero(lt(returndatasize(), 0x20))), iszero(iszero(mload(0x00))))
        }
    }

    function _enableActions(SessionRecord storage rec, bytes32 permissionId, ActionData[] memory actions, address account)
        internal
    {
        if (permissionId == bytes32(0)) revert InvalidPermissionId(permissionId);
        uint256 n = actions.length;
        for (uint256 i; i < n; ++i) {
            ActionData memory action = actions[i];
            address target = action.actionTarget;
            bytes32 actionId = actionIdOf(target, action.actionTargetSelector);
            // No actions on address(0) or on SmartSession itself (a session could escalate its own rights).
            if (target == address(0) || target == address(this) || actionId == bytes32(0)) revert InvalidActionId();
            bytes32 actionPolicyId = hashPair(permissionId, actionId);
            _enablePolicies(
                $actionPolicies[actionPolicyId][account],
                PolicyType.ACTION,
                permissionId,
                configIdOf(account, actionPolicyId),
                action.actionPolicies,
                account
            );
            _addActionId(rec, actionId);
        }
    }

    function _addActionId(SessionRecord storage rec, bytes32 actionId) internal {
        rec.actionCount = uint16(_setAdd(rec.actionIds, rec.actionCount, actionId));
    }

    function _removeActionId(SessionRecord storage rec, bytes32 actionId) internal {
        rec.actionCount = uint16(_setRemove(rec.actionIds, rec.actionCount, actionId));
    }

    function _enableERC7739Content(
        SessionRecord storage rec,
        bytes32 permissionId,
        ERC7739Context[] memory contexts,
        address account
    ) internal {
        for (uint256 i; i < contexts.length; ++i) {
            string[] memory names = contexts[i].contentNames;
            if (names.length == 0) continue;
            bytes32 domain = contexts[i].appDomainSeparator;
            rec.domainCount = uint16(_setAdd(rec.domains, rec.domainCount, domain));
            ContentNameSet storage set = $contentNames[permissionId][domain][account];
            for (uint256 j; j < names.length; ++j) {
                set.count = _setAdd(set.names, set.count, keccak256(bytes(names[j])));
            }
        }
    }

    /* ---- bytes32 sets: `count` items at the start of a fixed region, in insertion order, swap-and-pop removal */

    function _setIndexOf(bytes32[256] storage items, uint256 count, bytes32 value) internal view returns (uint256) {
        for (uint256 i; i < count; ++i) {
            if (items[i] == value) return i;
        }
        return count;
    }

    /// @return the new count (unchanged if `value` was present)
    function _setAdd(bytes32[256] storage items, uint256 count, bytes32 value) internal returns (uint256) {
        if (_setIndexOf(items, count, value) != count) return count;
        if (count == SET_CAPACITY) revert AssociatedArray_OutOfBounds(count);
        items[count] = value;
        return count + 1;
    }

    /// @return the new count (unchanged if `value` was absent)
    function _setRemove(bytes32[256] storage items, uint256 count, bytes32 value) internal returns (uint256) {
        uint256 i = _setIndexOf(items, count, value);
        if (i == count) return count;
        uint256 last = count - 1;
        if (i != last) items[i] = items[last];
        items[last] = bytes32(0);
        return last;
    }

    function _setSessionValidator(
        SessionRecord storage rec,
        bytes32 permissionId,
        address sessionValidator,
        bytes memory config,
        address account
    ) internal {
        if (
            sessionValidator == address(0)
                || !ISessionValidator(sessionValidator).isModuleType(MODULE_TYPE_STATELESS_VALIDATOR_ID)
        ) revert InvalidISessionValidator(sessionValidator);
        uint256 len = config.length;
        if (len > CONFIG_WORDS * 32) revert InvalidDataLength();
        rec.sessionValidator = sessionValidator;
        rec.configLength = uint32(len);
        uint256 words = (len + 31) >> 5;
        for (uint256 i; i < words; ++i) {
            bytes32 w;
            assembly ("memory-safe") {
                w := mload(add(add(config, 0x20), shl(5, i)))
            }
            uint256 rest = len - (i << 5);
            if (rest < 32) w &= bytes32(~(type(uint256).max >> (rest << 3)));
            rec.config[i] = w;
        }
        emit SessionValidatorEnabled(permissionId, sessionValidator, account);
    }

    function _loadConfig(SessionRecord storage rec) internal view returns (bytes memory config) {
        uint256 len = rec.configLength;
        config = new bytes(len);
        uint256 words = (len + 31) >> 5;
        for (uint256 i; i < words; ++i) {
            bytes32 w = rec.config[i];
            assembly ("memory-safe") {
                mstore(add(add(config, 0x20), shl(5, i)), w)
            }
        }
    }

    /* ================================================================== packed policy lists */

    function _listCount(uint256[32] storage list) internal view returns (uint256) {
        return list[0] >> 160;
    }

    function _listContains(uint256[32] storage list, address policy) internal view returns (bool) {
        uint256 word0 = list[0];
        uint256 n = word0 >> 160;
        for (uint256 i; i < n; ++i) {
            if (address(uint160(i == 0 ? word0 : list[i])) == policy) return true;
        }
        return false;
    }

    function _listAdd(uint256[32] storage list, address policy) internal {
        uint256 word0 = list[0];
        uint256 n = word0 >> 160;
        for (uint256 i; i < n; ++i) {
            if (address(uint160(i == 0 ? word0 : list[i])) == policy) return;
        }
        if (n == POLICY_LIST_CAPACITY) revert AssociatedArray_OutOfBounds(n);
        if (n == 0) {
            list[0] = (1 << 160) | uint160(policy);
        } else {
            list[n] = uint160(policy);
            list[0] = word0 + (1 << 160);
        }
    }

    /// @dev Swap-and-pop; returns whether `policy` was in the list.
    function _listRemove(uint256[32] storage list, address policy) internal returns (bool) {
        uint256 word0 = list[0];
        uint256 n = word0 >> 160;
        for (uint256 i; i < n; ++i) {
            if (address(uint160(i == 0 ? word0 : list[i])) != policy) continue;
            uint256 last = n - 1;
            uint256 lastItem = uint160(last == 0 ? word0 : list[last]);
            if (last != 0) list[last] = 0;
            if (i != 0 && i != last) list[i] = lastItem;
            // The first item changes only if it was the one removed (then the last item takes its place).
            uint256 first = i == 0 ? (last == 0 ? 0 : lastItem) : uint160(word0);
            list[0] = (last << 160) | first;
            return true;
        }
        return false;
    }

    function _listLoad(uint256[32] storage list) internal view returns (address[] memory policies) {
        uint256 word0 = list[0];
        uint256 n = word0 >> 160;
        policies = new address[](n);
        for (uint256 i; i < n; ++i) {
            policies[i] = address(uint160(i == 0 ? word0 : list[i]));
        }
    }

    /* ================================================================== views */

    function getNonce(bytes32 permissionId, address account) external view returns (uint256) {
        return $nonces[permissionId][account];
    }

    /// @notice The digest the owner signs for `data` on `account` (spec §2.7), with the current nonce of
    /// `permissionId`. Note that `permissionId` only selects the nonce.
    function getSessionDigest(bytes32 permissionId, address account, Session memory data, SmartSessionMode mode)
        external
        view
        returns (bytes32)
    {
        return sessionDigestOf(
            data, account, address(this), mode == SmartSessionMode.UNSAFE_ENABLE, $nonces[permissionId][account]
        );
    }

    function getPermissionId(Session memory session) external pure returns (bytes32 permissionId) {
        return permissionIdOf(session);
    }

    function getPermissionIDs(address account) external view returns (bytes32[] memory permissionIds) {
        AccountRecord storage acc = $accounts[account];
        uint256 n = acc.count;
        permissionIds = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            permissionIds[i] = acc.permissionIds[i];
        }
    }

    function isPermissionEnabled(bytes32 permissionId, address account) external view returns (bool) {
        return $sessions[permissionId][account].enabled;
    }

    function isISessionValidatorSet(bytes32 permissionId, address account) external view returns (bool) {
        return $sessions[permissionId][account].sessionValidator != address(0);
    }

    function getSessionValidatorAndConfig(address account, bytes32 permissionId)
        external
        view
        returns (address sessionValidator, bytes memory sessionValidatorData)
    {
        SessionRecord storage rec = $sessions[permissionId][account];
        return (rec.sessionValidator, _loadConfig(rec));
    }

    function getUserOpPolicies(address account, bytes32 permissionId) external view returns (address[] memory) {
        return _listLoad($sessions[permissionId][account].userOpPolicies);
    }

    function getERC1271Policies(address account, bytes32 permissionId) external view returns (address[] memory) {
        return _listLoad($sessions[permissionId][account].erc1271Policies);
    }

    function getActionPolicies(address account, bytes32 permissionId, bytes32 actionId)
        external
        view
        returns (address[] memory)
    {
        return _listLoad($actionPolicies[hashPair(permissionId, actionId)][account]);
    }

    function getEnabledActions(address account, bytes32 permissionId) external view returns (bytes32[] memory ids) {
        SessionRecord storage rec = $sessions[permissionId][account];
        uint256 n = rec.actionCount;
        ids = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            ids[i] = rec.actionIds[i];
        }
    }

    function getEnabledERC7739Content(address account, bytes32 permissionId)
        external
        view
        returns (ERC7739ContextHashes[] memory enabledERC7739ContentHashes)
    {
        SessionRecord storage rec = $sessions[permissionId][account];
        uint256 n = rec.domainCount;
        enabledERC7739ContentHashes = new ERC7739ContextHashes[](n);
        for (uint256 i; i < n; ++i) {
            bytes32 domain = rec.domains[i];
            ContentNameSet storage set = $contentNames[permissionId][domain][account];
            bytes32[] memory names = new bytes32[](set.count);
            for (uint256 j; j < names.length; ++j) {
                names[j] = set.names[j];
            }
            enabledERC7739ContentHashes[i] = ERC7739ContextHashes(domain, names);
        }
    }

    function isUserOpPolicyEnabled(address account, bytes32 permissionId, address policy)
        external
        view
        returns (bool)
    {
        return _listContains($sessions[permissionId][account].userOpPolicies, policy);
    }

    function isERC1271PolicyEnabled(address account, bytes32 permissionId, address policy)
        external
        view
        returns (bool)
    {
        return _listContains($sessions[permissionId][account].erc1271Policies, policy);
    }

    function isActionPolicyEnabled(address account, bytes32 permissionId, bytes32 actionId, address policy)
        external
        view
        returns (bool)
    {
        return _listContains($actionPolicies[hashPair(permissionId, actionId)][account], policy);
    }

    function isActionIdEnabled(address account, bytes32 permissionId, bytes32 actionId)
        external
        view
        returns (bool)
    {
        SessionRecord storage rec = $sessions[permissionId][account];
        return _setIndexOf(rec.actionIds, rec.actionCount, actionId) != rec.actionCount;
    }

    function isERC7739ContentEnabled(
        address account,
        bytes32 permissionId,
        bytes32 appDomainSeparator,
        string memory content
    ) external view returns (bool) {
        ContentNameSet storage set = $contentNames[permissionId][appDomainSeparator][account];
        return _setIndexOf(set.names, set.count, keccak256(bytes(content))) != set.count;
    }

    /// @notice True iff every policy listed is enabled (true for an empty list).
    function areUserOpPoliciesEnabled(address account, bytes32 permissionId, PolicyData[] memory userOpPolicies)
        external
        view
        returns (bool)
    {
        return _allEnabled($sessions[permissionId][account].userOpPolicies, userOpPolicies);
    }

    function areERC1271PoliciesEnabled(address account, bytes32 permissionId, PolicyData[] memory erc1271Policies)
        external
        view
        returns (bool)
    {
        return _allEnabled($sessions[permissionId][account].erc1271Policies, erc1271Policies);
    }

    function areActionsEnabled(address account, bytes32 permissionId, ActionData[] memory actions)
        external
        view
        returns (bool)
    {
        for (uint256 i; i < actions.length; ++i) {
            bytes32 actionId = actionIdOf(actions[i].actionTarget, actions[i].actionTargetSelector);
            uint256[32] storage list = $actionPolicies[hashPair(permissionId, actionId)][account];
            if (!_allEnabled(list, actions[i].actionPolicies)) return false;
        }
        return true;
    }

    function _allEnabled(uint256[32] storage list, PolicyData[] memory policies) internal view returns (bool) {
        for (uint256 i; i < policies.length; ++i) {
            if (!_listContains(list, policies[i].policy)) return false;
        }
        return true;
    }
}
