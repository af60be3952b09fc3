// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PackedUserOperation} from "./IERC4337.sol";

uint256 constant MODULE_TYPE_VALIDATOR = 1;
uint256 constant MODULE_TYPE_EXECUTOR = 2;
uint256 constant MODULE_TYPE_FALLBACK = 3;
uint256 constant MODULE_TYPE_HOOK = 4;
uint256 constant MODULE_TYPE_STATELESS_VALIDATOR = 7;

bytes4 constant ERC1271_MAGIC_VALUE = 0x1626ba7e;
bytes4 constant ERC1271_INVALID = 0xffffffff;

interface IERC7579Module {
    function onInstall(bytes calldata data) external;
    function onUninstall(bytes calldata data) external;
    function isModuleType(uint256 moduleTypeId) external view returns (bool);
    function isInitialized(address smartAccount) external view returns (bool);
}

interface IValidator is IERC7579Module {
    /// @return validation data (ERC-4337 packing); a bad signature returns SIG_VALIDATION_FAILED, never reverts.
    function validateUserOp(PackedUserOperation calldata userOp, bytes32 userOpHash) external returns (uint256);

    function isValidSignatureWithSender(address sender, bytes32 hash, bytes calldata data)
        external
        view
        returns (bytes4);
}

/// @notice SmartSessions' session validator interface (also ERC-7780 stateless validator, module type 7).
interface ISessionValidator is IERC7579Module {
    function validateSignatureWithData(bytes32 hash, bytes calldata sig, bytes calldata data)
        external
        view
        returns (bool validSig);
}

interface IERC7579Account {
    function execute(bytes32 mode, bytes calldata executionCalldata) external payable;
    function executeFromExecutor(bytes32 mode, bytes calldata executionCalldata)
        external
        payable
        returns (bytes[] memory returnData);
    function installModule(uint256 moduleTypeId, address module, bytes calldata initData) external payable;
    function uninstallModule(uint256 moduleTypeId, address module, bytes calldata deInitData) external payable;
    function isModuleInstalled(uint256 moduleTypeId, address module, bytes calldata additionalContext)
        external
        view
        returns (bool);
    function supportsExecutionMode(bytes32 encodedMode) external view returns (bool);
    function supportsModule(uint256 moduleTypeId) external view returns (bool);
    function accountId() external view returns (string memory);
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4);
}

/// @notice One call of an ERC-7579 batch: abi.encode(Execution[]).
struct Execution {
    address target;
    uint256 value;
    bytes callData;
}

/// @notice Composability 1.0.0 (MEE 2.0.0 / 2.1.0): executeComposable(ComposableExecution[]) — selector 0xea5a6d91.
struct Constraint {
    uint8 constraintType; // 0 EQ, 1 GTE, 2 LTE, 3 IN
    bytes referenceData;
}

struct InputParam {
    uint8 fetcherType; // 0 RAW_BYTES, 1 STATIC_CALL
    bytes paramData;
    Constraint[] constraints;
}

struct OutputParam {
    uint8 fetcherType;
    bytes paramData;
}

struct ComposableExecution {
    address to;
    uint256 value;
    bytes4 functionSig;
    InputParam[] inputParams;
    OutputParam[] outputParams;
}

interface IComposableExecution {
    function executeComposable(ComposableExecution[] calldata executions) external payable;
}
