// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {
    IERC7579Module,
    MODULE_TYPE_VALIDATOR,
    MODULE_TYPE_EXECUTOR,
    MODULE_TYPE_FALLBACK,
    MODULE_TYPE_HOOK
} from "../interfaces/IERC7579.sol";
import {NexusBase} from "./NexusBase.sol";

/// @notice (module, init data) entry of a bootstrap configuration.
struct BootstrapConfig {
    address module;
    bytes data;
}

/// @notice Pre-validation hook entry (module types 8 and 9; not supported by the devnet account).
struct BootstrapPreValidationHookConfig {
    uint256 hookType;
    address module;
    bytes data;
}

/// @title NexusBootstrap (devnet)
/// @notice Initialises a Nexus account. Its functions run in the account's context (delegatecall from
/// `Nexus.initializeAccount`) and share the account's storage layout through NexusBase. Entries with a zero
/// module address are skipped; the SDK passes empty arrays and a zero hook.
contract NexusBootstrap is NexusBase {
    // defaultValidator must equal the implementation's default validator; initData is ignored (production uses it
    // to lock the contract itself).
    constructor(address defaultValidator, bytes memory /* initData */ ) NexusBase(defaultValidator) {}

    /// @notice selector 0x41bede03 — what the SDK uses for Nexus 1.2.0.
    function initNexusWithDefaultValidatorAndOtherModulesNoRegistry(
        bytes calldata defaultValidatorInitData,
        BootstrapConfig[] calldata validators,
        BootstrapConfig[] calldata executors,
        BootstrapConfig calldata hook,
        BootstrapConfig[] calldata fallbacks,
        BootstrapPreValidationHookConfig[] calldata preValidationHooks
    ) external payable {
        IERC7579Module(_DEFAULT_VALIDATOR).onInstall(defaultValidatorInitData);
        _installAll(validators, executors, hook, fallbacks, preValidationHooks);
    }

    /// @notice Only sets up the default validator.
    function initNexusWithDefaultValidator(bytes calldata data) external payable {
        IERC7579Module(_DEFAULT_VALIDATOR).onInstall(data);
    }

    function initNexusNoRegistry(
        BootstrapConfig[] calldata validators,
        BootstrapConfig[] calldata executors,
        BootstrapConfig calldata hook,
        BootstrapConfig[] calldata fallbacks,
        BootstrapPreValidationHookConfig[] calldata preValidationHooks
    ) external payable {
        _installAll(validators, executors, hook, fallbacks, preValidationHooks);
    }

    function initNexusWithSingleValidatorNoRegistry(address validator, bytes calldata data) external payable {
        _installValidator(validator, data);
        emit ModuleInstalled(MODULE_TYPE_VALIDATOR, validator);
    }

    function initNexusScopedNoRegistry(BootstrapConfig[] calldata validators, BootstrapConfig calldata hook)
        external
        payable
    {
        _installList(MODULE_TYPE_VALIDATOR, validators);
        if (hook.module != address(0)) {
            _installHook(hook.module, hook.data);
            emit ModuleInstalled(MODULE_TYPE_HOOK, hook.module);
        }
    }

    function _installAll(
        BootstrapConfig[] calldata validators,
        BootstrapConfig[] calldata executors,
        BootstrapConfig calldata hook,
        BootstrapConfig[] calldata fallbacks,
        BootstrapPreValidationHookConfig[] calldata preValidationHooks
    ) internal {
        _installList(MODULE_TYPE_VALIDATOR, validators);
        _installList(MODULE_TYPE_EXECUTOR, executors);
        if (hook.module != address(0)) {
            _installHook(hook.module, hook.data);
            emit ModuleInstalled(MODULE_TYPE_HOOK, hook.module);
        }
        _installList(MODULE_TYPE_FALLBACK, fallbacks);
        for (uint256 i; i < preValidationHooks.length; ++i) {
            if (preValidationHooks[i].module != address(0)) revert InvalidModuleTypeId(preValidationHooks[i].hookType);
        }
    }

    function _installList(uint256 moduleTypeId, BootstrapConfig[] calldata configs) internal {
        for (uint256 i; i < configs.length; ++i) {
            address module = configs[i].module;
            if (module == address(0)) continue;
            if (moduleTypeId == MODULE_TYPE_VALIDATOR) _installValidator(module, configs[i].data);
            else if (moduleTypeId == MODULE_TYPE_EXECUTOR) _installExecutor(module, configs[i].data);
            else _installFallbackHandler(module, configs[i].data);
            emit ModuleInstalled(moduleTypeId, module);
        }
    }
}
