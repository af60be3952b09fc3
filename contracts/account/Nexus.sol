// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PackedUserOperation} from "../interfaces/IERC4337.sol";
import {
    IValidator,
    IERC7579Module,
    Execution,
    ComposableExecution,
    InputParam,
    OutputParam,
    Constraint,
    ERC1271_MAGIC_VALUE,
    MODULE_TYPE_VALIDATOR,
    MODULE_TYPE_EXECUTOR,
    MODULE_TYPE_FALLBACK,
    MODULE_TYPE_HOOK
} from "../interfaces/IERC7579.sol";
import {NexusBase} from "./NexusBase.sol";

/// @notice The composability `Storage` contract that output params write into.
interface IComposableStorage {
    function writeStorage(bytes32 slot, bytes32 value, address account) external;
}

/// @title Nexus (devnet)
/// @notice A smart account compatible in ABI and behaviour with Biconomy Nexus 1.2.0 on the paths the SDK and the
/// MEE node use: ERC-4337 validation with the validator chosen by the nonce key, ERC-7579 execution and module
/// management, composability 1.0.0 `executeComposable`, ERC-1271 routed by a 20-byte validator prefix, EIP-5267.
/// It runs behind `NexusProxy` (ERC-1967). Written for the smartsessions devnet; see NexusBase for the layout.
contract Nexus is NexusBase {
    string internal constant _ACCOUNT_ID = "biconomy.nexus.1.2.0";

    bytes32 internal constant _ERC1967_IMPLEMENTATION_SLOT =
        0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;

    /// keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    bytes32 internal constant _DOMAIN_TYPEHASH = 0x8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f;
    /// keccak256("Nexus"), keccak256("1.2.0")
    bytes32 internal constant _NAME_HASH = 0xf3fbaf4e62ef217b8151b366cdaba8fa578e78940637d6c1ec320d10a7188772;
    bytes32 internal constant _VERSION_HASH = 0xe374587661e69268352d25204d81b23ce801573f4b09f3545e69536dc085a37a;
    /// keccak256("ModuleEnableMode(address module,uint256 moduleType,bytes32 userOpHash,bytes initData)")
    bytes32 internal constant _MODULE_ENABLE_MODE_TYPE_HASH =
        0xf6c866c1cd985ce61f030431e576c0e82887de0643dfa8a2e6efc3463e638ed0;

    /// ERC-7739 support detection hash: 0x7739 repeated 16 times.
    bytes32 internal constant _ERC7739_DETECTION_HASH =
        0x7739773977397739773977397739773977397739773977397739773977397739;

    address internal immutable _ENTRYPOINT;

    event TryExecuteUnsuccessful(bytes callData, bytes result);
    event TryDelegateCallUnsuccessful(bytes callData, bytes result);
    event Upgraded(address indexed implementation);

    error AccountAccessUnauthorized();
    error UnsupportedExecType(bytes1 execType);
    error ExecutionFailed();
    error NexusInitializationFailed();
    error EntryPointCanNotBeZero();
    error InvalidImplementationAddress();
    error UpgradeFailed();
    error UnauthorizedCallContext();
    error InvalidInitData();
    error InvalidPREP();
    error AccountAlreadyInitialized();
    error AccountNotInitialized();
    error NotInitializable();
    error EnableModeSigError();
    error DecodingError();
    // composability 1.0.0
    error ConstraintNotMet(uint8 constraintType);
    error Output_StaticCallFailed();
    error InvalidParameterEncoding();
    error InvalidOutputParamFetcherType();
    error ComposableExecutionFailed();
    error InvalidConstraintType();

    // anEntryPoint: EntryPoint v0.7. defaultValidator: the K1MeeValidator, used for validator 0.
    // initData: ignored (production passes 20 bytes of 0xee to lock the implementation itself).
    constructor(address anEntryPoint, address defaultValidator, bytes memory /* initData */ )
        NexusBase(defaultValidator)
    {
        if (anEntryPoint == address(0)) revert EntryPointCanNotBeZero();
        _ENTRYPOINT = anEntryPoint;
    }

    modifier onlyEntryPoint() {
        if (msg.sender != _ENTRYPOINT) revert AccountAccessUnauthorized();
        _;
    }

    modifier onlyEntryPointOrSelf() {
        if (msg.sender != _ENTRYPOINT && msg.sender != address(this)) revert AccountAccessUnauthorized();
        _;
    }

    modifier onlyExecutorModule() {
        if (!_isExecutorInstalled(msg.sender)) revert InvalidModule(msg.sender);
        _;
    }

    // ============================================================================================================
    // ERC-4337
    // ============================================================================================================

    /// @notice Validates a userOp with the validator named by its nonce key
    /// (`[3 bytes ignored][1 byte mode][20 bytes validator][8 bytes sequence]`; validator 0 = default validator),
    /// then pays `missingAccountFunds` to the EntryPoint.
    function validateUserOp(PackedUserOperation calldata op, bytes32 userOpHash, uint256 missingAccountFunds)
        external
        returns (uint256 validationData)
    {
        if (msg.sender != _ENTRYPOINT) revert AccountAccessUnauthorized();
        uint256 opNonce = op.nonce;
        uint256 mode = uint8(opNonce >> 224);
        bytes calldata signature = op.signature;
        if (mode == 1) {
            // Module enable mode: install a module authorised by an EIP-712 signature, then validate the rest.
            signature = _enableMode(userOpHash, signature);
        } else if (mode == 2) {
            // PREP mode only applies to uninitialised PREP accounts, which this devnet does not support.
            if (_isAccountInitialized()) revert AccountAlreadyInitialized();
            revert InvalidPREP();
        }
        address validator = _handleValidator(address(uint160(opNonce >> 64)));
        // Forward the userOp as the EntryPoint encoded it, `validateUserOp(op, userOpHash)`, with `signature` as
        // its signature. The op tuple is the last argument and, in the canonical encoding, the signature is the
        // last tail inside it: copy the tuple up to the signature's length word, then append `signature`.
        assembly ("memory-safe") {
            let opStart := add(4, calldataload(4))
            let headLen := calldataload(add(opStart, 0x100))
            let m := mload(0x40)
            mstore(m, shl(224, 0x97003203)) // validateUserOp(PackedUserOperation,bytes32)
            mstore(add(m, 0x04), 0x40)
            mstore(add(m, 0x24), userOpHash)
            calldatacopy(add(m, 0x44), opStart, headLen)
            let p := add(add(m, 0x44), headLen)
            mstore(p, signature.length)
            calldatacopy(add(p, 0x20), signature.offset, signature.length)
            mstore(add(add(p, 0x20), signature.length), 0)
            let len := add(add(0x64, headLen), and(add(signature.length, 0x1f), not(0x1f)))
            if iszero(call(gas(), validator, 0, m, len, 0x00, 0x20)) {
                returndatacopy(m, 0, returndatasize())
                revert(m, returndatasize())
            }
            if lt(returndatasize(), 0x20) { revert(0, 0) }
            validationData := mload(0x00)
        }
        assembly ("memory-safe") {
            if missingAccountFunds {
                // Failure is ignored: the EntryPoint checks the deposit itself.
                pop(call(gas(), caller(), missingAccountFunds, codesize(), 0x00, codesize(), 0x00))
            }
        }
    }

    /// @dev Module enable mode signature:
    /// module(20) ‖ moduleType(32) ‖ len(4) ‖ moduleInitData ‖ len(4) ‖ enableSig(validator(20) ‖ sig) ‖ userOpSig.
    function _enableMode(bytes32 userOpHash, bytes calldata packed) internal returns (bytes calldata userOpSignature) {
        address module = address(bytes20(packed[0:20]));
        uint256 moduleType = uint256(bytes32(packed[20:52]));
        uint256 p = 56 + uint256(uint32(bytes4(packed[52:56])));
        bytes calldata moduleInitData = packed[56:p];
        uint256 q = p + 4 + uint256(uint32(bytes4(packed[p:p + 4])));
        _checkEnableModeSignature(_enableModeDigest(module, moduleType, userOpHash, moduleInitData), packed[p + 4:q]);
        this.installModule(moduleType, module, moduleInitData);
        userOpSignature = packed[q:];
    }

    function _enableModeDigest(address module, uint256 moduleType, bytes32 userOpHash, bytes calldata initData)
        internal
        view
        returns (bytes32)
    {
        return _hashTypedData(
            keccak256(abi.encode(_MODULE_ENABLE_MODE_TYPE_HASH, module, moduleType, userOpHash, keccak256(initData)))
        );
    }

    /// @dev enableSig = validator(20, 0 = default) ‖ signature over the EIP-712 digest, checked through ERC-1271.
    function _checkEnableModeSignature(bytes32 digest, bytes calldata enableSig) internal view {
        address validator = _handleValidator(address(bytes20(enableSig[0:20])));
        bool ok;
        try IValidator(validator).isValidSignatureWithSender(address(this), digest, enableSig[20:]) returns (
            bytes4 res
        ) {
            ok = res == ERC1271_MAGIC_VALUE;
        } catch {}
        if (!ok) revert EnableModeSigError();
    }

    /// @notice EntryPoint v0.7 `executeUserOp` path: runs `userOp.callData[4:]` on this account.
    function executeUserOp(PackedUserOperation calldata userOp, bytes32) external payable onlyEntryPoint withHook {
        bytes calldata callData = userOp.callData[4:];
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, callData.offset, callData.length)
            ok := delegatecall(gas(), address(), m, callData.length, codesize(), 0x00)
        }
        if (!ok) revert ExecutionFailed();
    }

    // ============================================================================================================
    // ERC-7579 execution
    // ============================================================================================================

    /// @notice mode byte 0 = callType (0x00 single, 0x01 batch, 0xff delegatecall), byte 1 = execType (0x00 revert,
    /// 0x01 try). Single: target(20) ‖ value(32) ‖ callData. Batch: abi.encode(Execution[]).
    /// Delegatecall: target(20) ‖ callData.
    function execute(bytes32 mode, bytes calldata executionCalldata) external payable onlyEntryPoint withHook {
        _execute(mode, executionCalldata, false);
    }

    /// @notice Execution by an installed executor module; returns each call's return data.
    function executeFromExecutor(bytes32 mode, bytes calldata executionCalldata)
        external
        payable
        onlyExecutorModule
        withHook
        returns (bytes[] memory returnData)
    {
        return _execute(mode, executionCalldata, true);
    }

    /// @dev Shared by execute (collect = false: no return data kept) and executeFromExecutor (collect = true).
    function _execute(bytes32 mode, bytes calldata ec, bool collect) internal returns (bytes[] memory returnData) {
        bytes1 callType = mode[0];
        bytes1 execType = mode[1];
        bool isTry = execType == _EXECTYPE_TRY;
        if (callType == _CALLTYPE_SINGLE) {
            (address target, uint256 value, bytes calldata callData) = _decodeSingle(ec);
            if (!isTry && execType != _EXECTYPE_DEFAULT) revert UnsupportedExecType(execType);
            if (collect) returnData = new bytes[](1);
            _exec(target, value, callData, isTry, collect, returnData, 0);
        } else if (callType == _CALLTYPE_BATCH) {
            Execution[] calldata executions = _decodeBatch(ec);
            if (!isTry && execType != _EXECTYPE_DEFAULT) revert UnsupportedExecType(execType);
            uint256 n = executions.length;
            if (collect) returnData = new bytes[](n);
            for (uint256 i; i < n; ++i) {
                Execution calldata e = executions[i];
                _exec(e.target, e.value, e.callData, isTry, collect, returnData, i);
            }
        } else if (callType == _CALLTYPE_DELEGATECALL) {
            address target = address(bytes20(ec[0:20]));
            bytes calldata callData = ec[20:];
            if (!isTry && execType != _EXECTYPE_DEFAULT) revert UnsupportedExecType(execType);
            if (!isTry && !collect) {
                _delegate(target, callData);
            } else {
                (bool ok, bytes memory result) = _tryDelegate(target, callData);
                if (!ok) {
                    if (!isTry) _bubble(result);
                    emit TryDelegateCallUnsuccessful(callData, result);
                }
                if (collect) {
                    returnData = new bytes[](1);
                    returnData[0] = result;
                }
            }
        } else {
            revert UnsupportedCallType(callType);
        }
    }

    /// @dev One call. Default mode reverts with the callee's revert data; try mode emits TryExecuteUnsuccessful.
    function _exec(
        address target,
        uint256 value,
        bytes calldata callData,
        bool isTry,
        bool collect,
        bytes[] memory returnData,
        uint256 index
    ) internal {
        if (!isTry && !collect) {
            _call(target, value, callData);
            return;
        }
        (bool ok, bytes memory result) = _tryCall(target, value, callData);
        if (!ok) {
            if (!isTry) _bubble(result);
            emit TryExecuteUnsuccessful(callData, result);
        }
        if (collect) returnData[index] = result;
    }

    function _decodeSingle(bytes calldata ec)
        internal
        pure
        returns (address target, uint256 value, bytes calldata callData)
    {
        target = address(bytes20(ec[0:20]));
        value = uint256(bytes32(ec[20:52]));
        callData = ec[52:];
    }

    /// @dev Calldata view of abi.encode(Execution[]) with every offset and length checked against the slice.
    function _decodeBatch(bytes calldata ec) internal pure returns (Execution[] calldata executions) {
        assembly ("memory-safe") {
            let end := add(ec.offset, ec.length)
            let u := calldataload(ec.offset)
            let s := add(ec.offset, u)
            let n := calldataload(s)
            executions.offset := add(s, 0x20)
            executions.length := n
            let bad := or(lt(ec.length, 0x20), or(shr(64, u), shr(64, n)))
            bad := or(bad, gt(add(executions.offset, shl(5, n)), end))
            for { let i := 0 } and(iszero(bad), lt(i, n)) { i := add(i, 1) } {
                let p := calldataload(add(executions.offset, shl(5, i)))
                let c := add(executions.offset, p)
                let q := calldataload(add(c, 0x40))
                let o := add(c, q)
                let l := calldataload(o)
                bad := or(shr(64, or(p, or(q, l))), or(gt(add(c, 0x60), end), gt(add(add(o, 0x20), l), end)))
            }
            if bad {
                mstore(0x00, 0xba597e7e) // DecodingError()
                revert(0x1c, 0x04)
            }
        }
    }

    /// @dev Call; on failure revert with the callee's revert data.
    function _call(address target, uint256 value, bytes calldata data) internal {
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, data.offset, data.length)
            if iszero(call(gas(), target, value, m, data.length, codesize(), 0x00)) {
                returndatacopy(m, 0x00, returndatasize())
                revert(m, returndatasize())
            }
        }
    }

    function _tryCall(address target, uint256 value, bytes calldata data)
        internal
        returns (bool ok, bytes memory result)
    {
        assembly ("memory-safe") {
            result := mload(0x40)
            calldatacopy(result, data.offset, data.length)
            ok := call(gas(), target, value, result, data.length, codesize(), 0x00)
            mstore(result, returndatasize())
            returndatacopy(add(result, 0x20), 0x00, returndatasize())
            mstore(0x40, and(add(add(result, 0x3f), returndatasize()), not(0x1f)))
        }
    }

    function _delegate(address target, bytes calldata data) internal {
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, data.offset, data.length)
            if iszero(delegatecall(gas(), target, m, data.length, codesize(), 0x00)) {
                returndatacopy(m, 0x00, returndatasize())
                revert(m, returndatasize())
            }
        }
    }

    function _tryDelegate(address target, bytes calldata data) internal returns (bool ok, bytes memory result) {
        assembly ("memory-safe") {
            result := mload(0x40)
            calldatacopy(result, data.offset, data.length)
            ok := delegatecall(gas(), target, result, data.length, codesize(), 0x00)
            mstore(result, returndatasize())
            returndatacopy(add(result, 0x20), 0x00, returndatasize())
            mstore(0x40, and(add(add(result, 0x3f), returndatasize()), not(0x1f)))
        }
    }

    function _bubble(bytes memory revertData) internal pure {
        assembly ("memory-safe") {
            revert(add(revertData, 0x20), mload(revertData))
        }
    }

    // ============================================================================================================
    // Composability 1.0.0
    // ============================================================================================================

    /// @notice For each execution: call `to` with `value` and calldata `functionSig ‖ processed inputs`
    /// (RAW_BYTES: paramData as is; STATIC_CALL: the return data of `staticcall(abi.decode(paramData,(address,bytes)))`),
    /// after checking each input's constraints word by word. Then process the output params.
    function executeComposable(ComposableExecution[] calldata executions) external payable onlyEntryPoint withHook {
        uint256 n = executions.length;
        for (uint256 i; i < n; ++i) {
            ComposableExecution calldata execution = executions[i];
            uint256 freePtr;
            assembly ("memory-safe") {
                freePtr := mload(0x40)
            }
            (uint256 start, uint256 end) = _composeCalldata(execution.functionSig, execution.inputParams);
            address to = execution.to;
            bytes memory returnData;
            if (to != address(0)) {
                uint256 value = execution.value;
                assembly ("memory-safe") {
                    if iszero(call(gas(), to, value, start, sub(end, start), codesize(), 0x00)) {
                        returndatacopy(start, 0x00, returndatasize())
                        revert(start, returndatasize())
                    }
                    returnData := start
                    mstore(returnData, returndatasize())
                    returndatacopy(add(returnData, 0x20), 0x00, returndatasize())
                    mstore(0x40, and(add(add(returnData, 0x3f), returndatasize()), not(0x1f)))
                }
            }
            if (execution.outputParams.length != 0) _processOutputs(execution.outputParams, returnData);
            assembly ("memory-safe") {
                mstore(0x40, freePtr) // nothing built for this execution is needed any more
            }
        }
    }

    /// @dev Builds `functionSig ‖ inputs` in one contiguous buffer at the free memory pointer.
    function _composeCalldata(bytes4 functionSig, InputParam[] calldata params)
        internal
        view
        returns (uint256 start, uint256 end)
    {
        assembly ("memory-safe") {
            start := mload(0x40)
            mstore(start, functionSig)
            end := add(start, 4)
            mstore(0x40, add(start, 0x20))
        }
        uint256 n = params.length;
        for (uint256 i; i < n; ++i) {
            InputParam calldata param = params[i];
            uint8 fetcherType = param.fetcherType;
            bytes calldata paramData = param.paramData;
            uint256 len;
            if (fetcherType == 0) {
                // RAW_BYTES
                len = paramData.length;
                assembly ("memory-safe") {
                    calldatacopy(end, paramData.offset, len)
                }
            } else if (fetcherType == 1) {
                // STATIC_CALL: (address target, bytes callData)
                (address target, bytes memory callData) = abi.decode(paramData, (address, bytes));
                bool ok;
                assembly ("memory-safe") {
                    ok := staticcall(gas(), target, add(callData, 0x20), mload(callData), codesize(), 0x00)
                    len := returndatasize()
                    if ok { returndatacopy(end, 0x00, len) }
                }
                if (!ok) revert ComposableExecutionFailed();
            } else {
                revert InvalidParameterEncoding();
            }
            if (param.constraints.length != 0) _checkConstraints(end, len, param.constraints);
            end += len;
            assembly ("memory-safe") {
                mstore(0x40, and(add(end, 0x1f), not(0x1f)))
            }
        }
    }

    /// @dev Word j of the value (zero-padded past its end) is checked against constraint j.
    function _checkConstraints(uint256 ptr, uint256 len, Constraint[] calldata constraints) internal pure {
        uint256 n = constraints.length;
        for (uint256 j; j < n; ++j) {
            Constraint calldata c = constraints[j];
            bytes32 word;
            assembly ("memory-safe") {
                let off := shl(5, j)
                if lt(off, len) {
                    word := mload(add(ptr, off))
                    let rem := sub(len, off)
                    if lt(rem, 0x20) { word := and(word, not(sub(shl(mul(8, sub(0x20, rem)), 1), 1))) }
                }
            }
            uint8 t = c.constraintType;
            bytes calldata ref = c.referenceData;
            if (t == 0) {
                if (word != bytes32(ref)) revert ConstraintNotMet(0);
            } else if (t == 1) {
                if (word < bytes32(ref)) revert ConstraintNotMet(1);
            } else if (t == 2) {
                if (word > bytes32(ref)) revert ConstraintNotMet(2);
            } else if (t == 3) {
                (bytes32 lower, bytes32 upper) = abi.decode(ref, (bytes32, bytes32));
                if (word < lower || word > upper) revert ConstraintNotMet(3);
            } else {
                revert InvalidConstraintType();
            }
        }
    }

    /// @dev EXEC_RESULT: paramData = (uint256 count, address storage, bytes32 slot), words of the call's return data.
    /// STATIC_CALL: paramData = (uint256 count, address source, bytes callData, address storage, bytes32 slot).
    /// Word k is written with `writeStorage(keccak256(slot ‖ k), word, this)`.
    function _processOutputs(OutputParam[] calldata outputs, bytes memory returnData) internal {
        for (uint256 i; i < outputs.length; ++i) {
            OutputParam calldata param = outputs[i];
            uint8 fetcherType = param.fetcherType;
            if (fetcherType == 0) {
                (uint256 count, address store, bytes32 slot) = abi.decode(param.paramData, (uint256, address, bytes32));
                _writeOutputs(count, returnData, store, slot);
            } else if (fetcherType == 1) {
                (uint256 count, address source, bytes memory callData, address store, bytes32 slot) =
                    abi.decode(param.paramData, (uint256, address, bytes, address, bytes32));
                (bool ok, bytes memory data) = source.staticcall(callData);
                if (!ok) revert Output_StaticCallFailed();
                _writeOutputs(count, data, store, slot);
            } else {
                revert InvalidOutputParamFetcherType();
            }
        }
    }

    function _writeOutputs(uint256 count, bytes memory data, address store, bytes32 slot) internal {
        for (uint256 k; k < count; ++k) {
            bytes32 word;
            assembly ("memory-safe") {
                let off := shl(5, k)
                let len := mload(data)
                if lt(off, len) {
                    word := mload(add(add(data, 0x20), off))
                    let rem := sub(len, off)
                    if lt(rem, 0x20) { word := and(word, not(sub(shl(mul(8, sub(0x20, rem)), 1), 1))) }
                }
            }
            IComposableStorage(store).writeStorage(keccak256(abi.encodePacked(slot, k)), word, address(this));
        }
    }

    // ============================================================================================================
    // Module management
    // ============================================================================================================

    /// @notice Installs a module: 1 validator, 2 executor, 3 fallback (initData = selector(4) ‖ callType(1) ‖ data),
    /// 4 hook, 0 multi-type (abi.encode(uint256[] types, bytes[] initDatas)).
    function installModule(uint256 moduleTypeId, address module, bytes calldata initData)
        external
        payable
        onlyEntryPointOrSelf
    {
        _installModule(moduleTypeId, module, initData);
        emit ModuleInstalled(moduleTypeId, module);
    }

    /// @notice Uninstalls a module. Validators/executors: deInitData = abi.encode(address prev, bytes data);
    /// fallbacks: selector(4) ‖ data.
    function uninstallModule(uint256 moduleTypeId, address module, bytes calldata deInitData)
        external
        payable
        onlyEntryPointOrSelf
        withHook
    {
        if (!_isModuleInstalled(moduleTypeId, module, deInitData)) revert ModuleNotInstalled(moduleTypeId, module);
        if (moduleTypeId == MODULE_TYPE_VALIDATOR) {
            _uninstallValidator(module, deInitData);
            _checkInitializedValidators();
        } else if (moduleTypeId == MODULE_TYPE_EXECUTOR) {
            _uninstallExecutor(module, deInitData);
        } else if (moduleTypeId == MODULE_TYPE_FALLBACK) {
            _uninstallFallbackHandler(module, deInitData);
        } else if (moduleTypeId == MODULE_TYPE_HOOK) {
            _uninstallHook(module, deInitData);
        }
        emit ModuleUninstalled(moduleTypeId, module);
    }

    function isModuleInstalled(uint256 moduleTypeId, address module, bytes calldata additionalContext)
        external
        view
        returns (bool)
    {
        return _isModuleInstalled(moduleTypeId, module, additionalContext);
    }

    function supportsModule(uint256 moduleTypeId) external pure returns (bool) {
        return moduleTypeId <= MODULE_TYPE_HOOK; // multi (0), validator, executor, fallback, hook
    }

    function supportsExecutionMode(bytes32 mode) external pure returns (bool) {
        bytes1 callType = mode[0];
        bytes1 execType = mode[1];
        return (callType == _CALLTYPE_SINGLE || callType == _CALLTYPE_BATCH || callType == _CALLTYPE_DELEGATECALL)
            && (execType == _EXECTYPE_DEFAULT || execType == _EXECTYPE_TRY);
    }

    function getValidatorsPaginated(address cursor, uint256 size)
        external
        view
        returns (address[] memory array, address next)
    {
        return _listPage(_$().validators, cursor, size);
    }

    function getExecutorsPaginated(address cursor, uint256 size)
        external
        view
        returns (address[] memory array, address next)
    {
        return _listPage(_$().executors, cursor, size);
    }

    function getActiveHook() external view returns (address hook) {
        return _$().hook;
    }

    function getFallbackHandlerBySelector(bytes4 selector) external view returns (bytes1 callType, address handler) {
        FallbackHandler storage h = _$().fallbacks[selector];
        return (h.callType, h.handler);
    }

    // ============================================================================================================
    // Initialisation
    // ============================================================================================================

    /// @notice initData = abi.encode(address bootstrap, bytes bootstrapCall); delegatecalls the bootstrap once.
    /// Callable while the proxy is being constructed (the account has no code yet) or by the account itself.
    function initializeAccount(bytes calldata initData) external payable {
        if (msg.sender != address(this) && address(this).code.length != 0) revert NotInitializable();
        if (_isAccountInitialized()) revert AccountAlreadyInitialized();
        address bootstrap;
        bytes calldata bootstrapCall;
        bool bad;
        assembly ("memory-safe") {
            bootstrap := and(calldataload(initData.offset), 0xffffffffffffffffffffffffffffffffffffffff)
            let s := calldataload(add(initData.offset, 0x20))
            let u := add(initData.offset, s)
            bootstrapCall.offset := add(u, 0x20)
            bootstrapCall.length := calldataload(u)
            bad := or(lt(initData.length, 0x40), shr(64, or(s, bootstrapCall.length)))
            bad := or(bad, gt(add(bootstrapCall.offset, bootstrapCall.length), add(initData.offset, initData.length)))
        }
        if (bad) revert InvalidInitData();
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, bootstrapCall.offset, bootstrapCall.length)
            ok := delegatecall(gas(), bootstrap, m, bootstrapCall.length, codesize(), 0x00)
        }
        if (!ok) revert NexusInitializationFailed();
        if (!_isAccountInitialized()) revert AccountNotInitialized();
    }

    function isInitialized() external view returns (bool) {
        return _isAccountInitialized();
    }

    // ============================================================================================================
    // ERC-1271, EIP-712
    // ============================================================================================================

    /// @notice signature = validator(20, 0 = default validator) ‖ validator signature. An uninstalled validator
    /// reverts `ValidatorNotInstalled`; a reverting validator yields 0xffffffff.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (signature.length == 0 && hash == _ERC7739_DETECTION_HASH) return checkERC7739Support(hash, signature);
        address validator = _handleValidator(address(bytes20(signature[0:20])));
        try IValidator(validator).isValidSignatureWithSender(msg.sender, hash, signature[20:]) returns (bytes4 res) {
            return res;
        } catch {
            return bytes4(0xffffffff);
        }
    }

    /// @notice ERC-7739 detection: the highest 0x7739xxxx answer of the installed validators and the default one.
    function checkERC7739Support(bytes32 hash, bytes calldata signature) public view returns (bytes4) {
        bytes4 result;
        mapping(address => address) storage list = _$().validators;
        address next = list[_SENTINEL];
        while (next != address(0) && next != _SENTINEL) {
            result = _erc7739Version(next, result, hash, signature);
            next = list[next];
        }
        result = _erc7739Version(_DEFAULT_VALIDATOR, result, hash, signature);
        return result == bytes4(0) ? bytes4(0xffffffff) : result;
    }

    function _erc7739Version(address validator, bytes4 previous, bytes32 hash, bytes calldata signature)
        internal
        view
        returns (bytes4)
    {
        bytes4 support = IValidator(validator).isValidSignatureWithSender(msg.sender, hash, signature);
        if (bytes2(support) == bytes2(0x7739) && support > previous) return support;
        return previous;
    }

    /// @notice EIP-5267. verifyingContract is the account (computed at run time).
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", "Nexus", "1.2.0", block.chainid, address(this), bytes32(0), new uint256[](0));
    }

    function _hashTypedData(bytes32 structHash) internal view returns (bytes32 digest) {
        bytes32 separator = keccak256(abi.encode(_DOMAIN_TYPEHASH, _NAME_HASH, _VERSION_HASH, block.chainid, address(this)));
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 0x1901)
            mstore(add(m, 0x20), separator)
            mstore(add(m, 0x40), structHash)
            digest := keccak256(add(m, 0x1e), 0x42)
        }
    }

    // ============================================================================================================
    // Account info, deposit, upgrade
    // ============================================================================================================

    function accountId() external pure returns (string memory) {
        return _ACCOUNT_ID;
    }

    function entryPoint() external view returns (address) {
        return _ENTRYPOINT;
    }

    function nonce(uint192 key) external view returns (uint256 result) {
        address ep = _ENTRYPOINT;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, shl(224, 0x35567e1a)) // getNonce(address,uint192)
            mstore(add(m, 0x04), address())
            mstore(add(m, 0x24), key)
            if iszero(staticcall(gas(), ep, m, 0x44, 0x00, 0x20)) {
                returndatacopy(m, 0x00, returndatasize())
                revert(m, returndatasize())
            }
            result := mload(0x00)
        }
    }

    function getDeposit() external view returns (uint256 result) {
        address ep = _ENTRYPOINT;
        assembly ("memory-safe") {
            mstore(0x20, address())
            mstore(0x00, 0x70a08231) // balanceOf(address)
            result := mul(mload(0x20), and(gt(returndatasize(), 0x1f), staticcall(gas(), ep, 0x1c, 0x24, 0x20, 0x20)))
        }
    }

    function addDeposit() external payable {
        address ep = _ENTRYPOINT;
        assembly ("memory-safe") {
            if iszero(call(gas(), ep, callvalue(), codesize(), 0x00, codesize(), 0x00)) { revert(codesize(), 0x00) }
        }
    }

    function withdrawDepositTo(address to, uint256 amount) external payable onlyEntryPointOrSelf {
        address ep = _ENTRYPOINT;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, shl(224, 0x205c2878)) // withdrawTo(address,uint256)
            mstore(add(m, 0x04), to)
            mstore(add(m, 0x24), amount)
            if iszero(call(gas(), ep, 0, m, 0x44, codesize(), 0x00)) {
                returndatacopy(m, 0x00, returndatasize())
                revert(m, returndatasize())
            }
        }
    }

    function getImplementation() external view returns (address implementation) {
        assembly ("memory-safe") {
            implementation := sload(_ERC1967_IMPLEMENTATION_SLOT)
            if iszero(implementation) { implementation := sload(address()) }
        }
    }

    /// @notice ERC-1822; reverts when called through a proxy (the implementation slot is set there).
    function proxiableUUID() external view returns (bytes32) {
        uint256 impl;
        assembly ("memory-safe") {
            impl := sload(_ERC1967_IMPLEMENTATION_SLOT)
        }
        if (impl != 0) revert UnauthorizedCallContext();
        return _ERC1967_IMPLEMENTATION_SLOT;
    }

    /// @notice UUPS upgrade (EntryPoint or self). Also mirrors the implementation into slot `address(this)`,
    /// as Nexus does for accounts upgraded from Biconomy v2.
    function upgradeToAndCall(address newImplementation, bytes calldata data)
        external
        payable
        onlyEntryPointOrSelf
        withHook
    {
        uint256 current;
        assembly ("memory-safe") {
            current := sload(_ERC1967_IMPLEMENTATION_SLOT)
        }
        if (current == 0) revert UnauthorizedCallContext();
        if (newImplementation == address(0) || newImplementation.code.length == 0) {
            revert InvalidImplementationAddress();
        }
        (bool ok, bytes memory ret) = newImplementation.staticcall(abi.encodeWithSelector(0x52d1902d)); // proxiableUUID()
        if (!ok || ret.length < 32 || abi.decode(ret, (bytes32)) != _ERC1967_IMPLEMENTATION_SLOT) revert UpgradeFailed();
        assembly ("memory-safe") {
            sstore(address(), newImplementation)
            sstore(_ERC1967_IMPLEMENTATION_SLOT, newImplementation)
        }
        emit Upgraded(newImplementation);
        if (data.length != 0) {
            (ok, ret) = newImplementation.delegatecall(data);
            if (!ok) _bubble(ret);
        }
    }

    // ============================================================================================================
    // receive / fallback
    // ============================================================================================================

    receive() external payable {}

    /// @dev Routes to the fallback handler installed for msg.sig, appending msg.sender (ERC-2771 style).
    /// Without a handler, answers the ERC-721/1155 receiver hooks and otherwise reverts MissingFallbackHandler.
    fallback() external payable {
        FallbackHandler storage h = _$().fallbacks[msg.sig];
        address handler = h.handler;
        if (handler != address(0)) {
            bytes1 callType = h.callType;
            (address hook, bytes memory hookData) = _hookPreCheck();
            bool ok;
            bytes memory result;
            assembly ("memory-safe") {
                let m := mload(0x40)
                calldatacopy(m, 0x00, calldatasize())
                mstore(add(m, calldatasize()), shl(96, caller()))
                let len := add(calldatasize(), 0x14)
                switch callType
                case 0x00 { ok := call(gas(), handler, callvalue(), m, len, codesize(), 0x00) }
                default { ok := staticcall(gas(), handler, m, len, codesize(), 0x00) }
                result := m
                mstore(result, returndatasize())
                returndatacopy(add(result, 0x20), 0x00, returndatasize())
                mstore(0x40, and(add(add(result, 0x3f), returndatasize()), not(0x1f)))
            }
            if (!ok) _bubble(result);
            if (hook != address(0)) _hookPostCheck(hook, hookData);
            assembly ("memory-safe") {
                return(add(result, 0x20), mload(result))
            }
        }
        assembly ("memory-safe") {
            let s := shr(224, calldataload(0x00))
            // onERC721Received, onERC1155Received, onERC1155BatchReceived
            if or(eq(s, 0x150b7a02), or(eq(s, 0xf23a6e61), eq(s, 0xbc197c81))) {
                mstore(0x20, s)
                return(0x3c, 0x20)
            }
        }
        revert MissingFallbackHandler(msg.sig);
    }
}
