// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {
    IERC7579Module,
    MODULE_TYPE_VALIDATOR,
    MODULE_TYPE_EXECUTOR,
    MODULE_TYPE_FALLBACK,
    MODULE_TYPE_HOOK
} from "../interfaces/IERC7579.sol";

/// @notice ERC-7579 hook module (module type 4).
interface IAccountHook {
    function preCheck(address msgSender, uint256 msgValue, bytes calldata msgData) external returns (bytes memory hookData);
    function postCheck(bytes calldata hookData) external;
}

/// @title NexusBase
/// @notice Storage layout and module bookkeeping shared by the devnet `Nexus` implementation and `NexusBootstrap`.
/// Both run in the account's context (the bootstrap through `delegatecall`), so they must agree on every slot:
/// all account state lives in one ERC-7201 namespace, `smartsessions.devnet.nexus`.
///
/// Behaviour follows Nexus 1.2.0 (module lists, fallback routing, hooks, custom error names). Differences in
/// layout: the validator and executor lists are sentinel lists that need no initialisation write (an unset
/// sentinel entry reads as an empty list), so deploying an account costs no list-initialisation SSTOREs.
/// No constructor writes storage and no immutable depends on `address(this)`: the runtime code is copied to
/// its production address with `anvil_setCode`.
abstract contract NexusBase {
    /// @custom:storage-location erc7201:smartsessions.devnet.nexus
    struct AccountStorage {
        // Sentinel-linked lists: entries[SENTINEL] is the head; 0 at the head means an empty, never-used list.
        mapping(address => address) validators;
        mapping(address => address) executors;
        mapping(bytes4 selector => FallbackHandler) fallbacks;
        address hook;
    }

    struct FallbackHandler {
        address handler;
        bytes1 callType; // 0x00 call, 0xfe staticcall
    }

    /// keccak256(abi.encode(uint256(keccak256("smartsessions.devnet.nexus")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 internal constant _STORAGE_LOCATION = 0x640f76faa616d159379f8b28bb0fe3a859cfd749942bb413dbc79924e728ef00;

    address internal constant _SENTINEL = address(0x1);

    bytes1 internal constant _CALLTYPE_SINGLE = 0x00;
    bytes1 internal constant _CALLTYPE_BATCH = 0x01;
    bytes1 internal constant _CALLTYPE_STATIC = 0xfe;
    bytes1 internal constant _CALLTYPE_DELEGATECALL = 0xff;
    bytes1 internal constant _EXECTYPE_DEFAULT = 0x00;
    bytes1 internal constant _EXECTYPE_TRY = 0x01;

    uint256 internal constant _MODULE_TYPE_MULTI = 0;

    /// The default validator (K1MeeValidator), always usable as validator 0 and never in the validator list.
    address internal immutable _DEFAULT_VALIDATOR;

    event ModuleInstalled(uint256 moduleTypeId, address module);
    event ModuleUninstalled(uint256 moduleTypeId, address module);

    error ValidatorNotInstalled(address module);
    error InvalidModule(address module);
    error InvalidModuleTypeId(uint256 moduleTypeId);
    error ModuleNotInstalled(uint256 moduleTypeId, address module);
    error ModuleAddressCanNotBeZero();
    error HookAlreadyInstalled(address currentHook);
    error FallbackAlreadyInstalledForSelector(bytes4 selector);
    error MissingFallbackHandler(bytes4 selector);
    error MismatchModuleTypeId();
    error FallbackSelectorForbidden();
    error FallbackCallTypeInvalid();
    error UnsupportedCallType(bytes1 callType);
    error DefaultValidatorAlreadyInstalled();
    error CanNotRemoveLastValidator();
    error InvalidInput();
    error LinkedList_InvalidPage();
    error LinkedList_InvalidEntry(address entry);
    error LinkedList_EntryAlreadyInList(address entry);

    constructor(address defaultValidator) {
        _DEFAULT_VALIDATOR = defaultValidator;
    }

    function _$() internal pure returns (AccountStorage storage $) {
        assembly ("memory-safe") {
            $.slot := _STORAGE_LOCATION
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Hooks
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Runs the installed hook's preCheck before the function body and its postCheck after it.
    modifier withHook() {
        (address hook, bytes memory hookData) = _hookPreCheck();
        _;
        if (hook != address(0)) _hookPostCheck(hook, hookData);
    }

    function _hookPreCheck() internal returns (address hook, bytes memory hookData) {
        hook = _$().hook;
        if (hook != address(0)) hookData = IAccountHook(hook).preCheck(msg.sender, msg.value, msg.data);
    }

    function _hookPostCheck(address hook, bytes memory hookData) internal {
        IAccountHook(hook).postCheck(hookData);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Sentinel lists
    // ------------------------------------------------------------------------------------------------------------

    function _listContains(mapping(address => address) storage list, address entry) internal view returns (bool) {
        return entry != _SENTINEL && list[entry] != address(0);
    }

    function _listIsEmpty(mapping(address => address) storage list) internal view returns (bool) {
        address head = list[_SENTINEL];
        return head == address(0) || head == _SENTINEL;
    }

    function _listPush(mapping(address => address) storage list, address entry) internal {
        if (entry == address(0) || entry == _SENTINEL) revert LinkedList_InvalidEntry(entry);
        if (list[entry] != address(0)) revert LinkedList_EntryAlreadyInList(entry);
        address head = list[_SENTINEL];
        list[entry] = head == address(0) ? _SENTINEL : head;
        list[_SENTINEL] = entry;
    }

    function _listPop(mapping(address => address) storage list, address prev, address entry) internal {
        if (entry == address(0) || entry == _SENTINEL) revert LinkedList_InvalidEntry(prev);
        if (list[prev] != entry) revert LinkedList_InvalidEntry(entry);
        list[prev] = list[entry];
        list[entry] = address(0);
    }

    function _listPage(mapping(address => address) storage list, address start, uint256 pageSize)
        internal
        view
        returns (address[] memory array, address next)
    {
        if (start != _SENTINEL && !_listContains(list, start)) revert LinkedList_InvalidEntry(start);
        if (pageSize == 0) revert LinkedList_InvalidPage();
        array = new address[](pageSize);
        uint256 count;
        next = list[start];
        while (next != address(0) && next != _SENTINEL && count < pageSize) {
            array[count] = next;
            next = list[next];
            unchecked {
                ++count;
            }
        }
        if (next == address(0)) next = _SENTINEL; // never-used list
        if (next != _SENTINEL) next = array[count - 1];
        assembly ("memory-safe") {
            mstore(array, count)
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Queries
    // ------------------------------------------------------------------------------------------------------------

    function _isValidatorInstalled(address validator) internal view returns (bool) {
        return _listContains(_$().validators, validator);
    }

    function _isExecutorInstalled(address executor) internal view returns (bool) {
        return _listContains(_$().executors, executor);
    }

    /// @dev Validator 0 means the default validator; any other validator must be installed.
    function _handleValidator(address validator) internal view returns (address) {
        if (validator == address(0)) return _DEFAULT_VALIDATOR;
        if (!_isValidatorInstalled(validator)) revert ValidatorNotInstalled(validator);
        return validator;
    }

    function _isModuleInstalled(uint256 moduleTypeId, address module, bytes calldata additionalContext)
        internal
        view
        returns (bool)
    {
        if (moduleTypeId == MODULE_TYPE_VALIDATOR) return _isValidatorInstalled(module);
        if (moduleTypeId == MODULE_TYPE_EXECUTOR) return _isExecutorInstalled(module);
        if (moduleTypeId == MODULE_TYPE_FALLBACK) {
            bytes4 selector = additionalContext.length >= 4 ? bytes4(additionalContext[0:4]) : bytes4(0);
            return _$().fallbacks[selector].handler == module;
        }
        if (moduleTypeId == MODULE_TYPE_HOOK) return _$().hook == module;
        return false;
    }

    /// @dev `IValidator(validator).isInitialized(address(this))`, false for a failing or codeless validator.
    function _validatorInitialized(address validator) internal view returns (bool ok) {
        assembly ("memory-safe") {
            mstore(0x00, 0xd60b347f) // isInitialized(address)
            mstore(0x20, address())
            ok := staticcall(gas(), validator, 0x1c, 0x24, 0x00, 0x20)
            ok := and(ok, and(gt(returndatasize(), 0x1f), iszero(iszero(mload(0x00)))))
        }
    }

    /// @dev Initialised = the default validator is set up for this account, or some module list is in use.
    function _isAccountInitialized() internal view returns (bool) {
        return _validatorInitialized(_DEFAULT_VALIDATOR) || !_listIsEmpty(_$().validators)
            || !_listIsEmpty(_$().executors);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Installation (each step hooked, as in Nexus)
    // ------------------------------------------------------------------------------------------------------------

    function _requireModuleType(address module, uint256 moduleTypeId) internal view {
        if (!IERC7579Module(module).isModuleType(moduleTypeId)) revert MismatchModuleTypeId();
    }

    function _installModule(uint256 moduleTypeId, address module, bytes calldata initData) internal {
        if (module == address(0)) revert ModuleAddressCanNotBeZero();
        if (moduleTypeId == MODULE_TYPE_VALIDATOR) _installValidator(module, initData);
        else if (moduleTypeId == MODULE_TYPE_EXECUTOR) _installExecutor(module, initData);
        else if (moduleTypeId == MODULE_TYPE_FALLBACK) _installFallbackHandler(module, initData);
        else if (moduleTypeId == MODULE_TYPE_HOOK) _installHook(module, initData);
        else if (moduleTypeId == _MODULE_TYPE_MULTI) _multiTypeInstall(module, initData);
        else revert InvalidModuleTypeId(moduleTypeId);
    }

    function _installValidator(address validator, bytes calldata data) internal withHook {
        _requireModuleType(validator, MODULE_TYPE_VALIDATOR);
        if (validator == _DEFAULT_VALIDATOR) revert DefaultValidatorAlreadyInstalled();
        _listPush(_$().validators, validator);
        IERC7579Module(validator).onInstall(data);
    }

    function _installExecutor(address executor, bytes calldata data) internal withHook {
        _requireModuleType(executor, MODULE_TYPE_EXECUTOR);
        _listPush(_$().executors, executor);
        IERC7579Module(executor).onInstall(data);
    }

    function _installHook(address hook, bytes calldata data) internal withHook {
        _requireModuleType(hook, MODULE_TYPE_HOOK);
        address current = _$().hook;
        if (current != address(0)) revert HookAlreadyInstalled(current);
        _$().hook = hook;
        IERC7579Module(hook).onInstall(data);
    }

    /// @dev params = bytes4 selector ‖ bytes1 callType ‖ handler init data.
    function _installFallbackHandler(address handler, bytes calldata params) internal withHook {
        _requireModuleType(handler, MODULE_TYPE_FALLBACK);
        bytes4 selector = bytes4(params[0:4]);
        bytes1 callType = params[4];
        if (callType != _CALLTYPE_SINGLE && callType != _CALLTYPE_STATIC) revert FallbackCallTypeInvalid();
        // onInstall(bytes) / onUninstall(bytes) / 0 would let anyone re-initialise modules through the fallback.
        if (selector == bytes4(0x6d61fe70) || selector == bytes4(0x8a91b0e3) || selector == bytes4(0)) {
            revert FallbackSelectorForbidden();
        }
        FallbackHandler storage slot = _$().fallbacks[selector];
        if (slot.handler != address(0)) revert FallbackAlreadyInstalledForSelector(selector);
        slot.handler = handler;
        slot.callType = callType;
        IERC7579Module(handler).onInstall(params[5:]);
    }

    /// @dev initData = abi.encode(uint256[] types, bytes[] initDatas); unknown types are skipped, as in Nexus.
    function _multiTypeInstall(address module, bytes calldata initData) internal {
        uint256[] calldata types;
        bytes[] calldata initDatas;
        assembly ("memory-safe") {
            let p := add(initData.offset, calldataload(initData.offset))
            types.offset := add(p, 0x20)
            types.length := calldataload(p)
            p := add(initData.offset, calldataload(add(initData.offset, 0x20)))
            initDatas.offset := add(p, 0x20)
            initDatas.length := calldataload(p)
        }
        uint256 n = types.length;
        if (initDatas.length != n) revert InvalidInput();
        for (uint256 i; i < n; ++i) {
            uint256 t = types[i];
            if (t == MODULE_TYPE_VALIDATOR) _installValidator(module, initDatas[i]);
            else if (t == MODULE_TYPE_EXECUTOR) _installExecutor(module, initDatas[i]);
            else if (t == MODULE_TYPE_FALLBACK) _installFallbackHandler(module, initDatas[i]);
            else if (t == MODULE_TYPE_HOOK) _installHook(module, initDatas[i]);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Removal
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Calls `module.onUninstall(data)` and ignores the outcome (a module cannot block its removal).
    function _safeOnUninstall(address module, bytes memory data) internal {
        bytes memory cd = abi.encodeWithSelector(IERC7579Module.onUninstall.selector, data);
        assembly ("memory-safe") {
            pop(call(gas(), module, 0, add(cd, 0x20), mload(cd), 0x00, 0x00))
        }
    }

    /// @dev data = abi.encode(address prev, bytes disableData).
    function _uninstallValidator(address validator, bytes calldata data) internal {
        (address prev, bytes memory disableData) = abi.decode(data, (address, bytes));
        _listPop(_$().validators, prev, validator);
        _safeOnUninstall(validator, disableData);
    }

    function _uninstallExecutor(address executor, bytes calldata data) internal {
        (address prev, bytes memory disableData) = abi.decode(data, (address, bytes));
        _listPop(_$().executors, prev, executor);
        _safeOnUninstall(executor, disableData);
    }

    function _uninstallHook(address hook, bytes calldata data) internal {
        _$().hook = address(0);
        _safeOnUninstall(hook, data);
    }

    /// @dev data = bytes4 selector ‖ handler de-init data.
    function _uninstallFallbackHandler(address handler, bytes calldata data) internal {
        delete _$().fallbacks[bytes4(data[0:4])];
        _safeOnUninstall(handler, data[4:]);
    }

    /// @dev After removing a validator, some validator must still be initialised for this account.
    function _checkInitializedValidators() internal view {
        if (_validatorInitialized(_DEFAULT_VALIDATOR)) return;
        mapping(address => address) storage list = _$().validators;
        address next = list[_SENTINEL];
        while (next != address(0) && next != _SENTINEL) {
            if (_validatorInitialized(next)) return;
            next = list[next];
        }
        revert CanNotRemoveLastValidator();
    }
}
