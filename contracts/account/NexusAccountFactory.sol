// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {NexusProxy} from "./NexusProxy.sol";

interface IStakeManager {
    function addStake(uint32 unstakeDelaySec) external payable;
    function unlockStake() external;
    function withdrawStake(address payable withdrawAddress) external;
}

/// @title NexusAccountFactory (devnet)
/// @notice Deploys Nexus accounts as `NexusProxy` with CREATE2:
/// address = CREATE2(this, salt, keccak256(NexusProxy.creationCode ‖ abi.encode(implementation,
/// initializeAccount(initData)))). `address(this)` is read at run time, so the runtime code works at any address.
contract NexusAccountFactory {
    address public immutable ACCOUNT_IMPLEMENTATION;
    address internal immutable _OWNER;

    event AccountCreated(address indexed account, bytes indexed initData, bytes32 indexed salt);

    error ImplementationAddressCanNotBeZero();
    error ZeroAddressNotAllowed();
    error EthTransferFailed();
    error InvalidEntryPointAddress();
    error Unauthorized();

    constructor(address implementation, address owner_) {
        if (implementation == address(0)) revert ImplementationAddressCanNotBeZero();
        if (owner_ == address(0)) revert ZeroAddressNotAllowed();
        ACCOUNT_IMPLEMENTATION = implementation;
        _OWNER = owner_;
    }

    /// @notice Deploys the account (or returns it if it exists, forwarding any ETH sent).
    function createAccount(bytes calldata initData, bytes32 salt) external payable returns (address payable account) {
        bytes memory initCall = abi.encodeWithSelector(0x4b6a1419, initData); // initializeAccount(bytes)
        account = _predict(initCall, salt);
        if (account.code.length == 0) {
            new NexusProxy{salt: salt, value: msg.value}(ACCOUNT_IMPLEMENTATION, initCall);
            emit AccountCreated(account, initData, salt);
        } else if (msg.value != 0) {
            (bool ok,) = account.call{value: msg.value}("");
            if (!ok) revert EthTransferFailed();
        }
    }

    function computeAccountAddress(bytes calldata initData, bytes32 salt)
        external
        view
        returns (address payable expectedAddress)
    {
        return _predict(abi.encodeWithSelector(0x4b6a1419, initData), salt);
    }

    function _predict(bytes memory initCall, bytes32 salt) internal view returns (address payable predicted) {
        bytes32 initCodeHash =
            keccak256(abi.encodePacked(type(NexusProxy).creationCode, abi.encode(ACCOUNT_IMPLEMENTATION, initCall)));
        predicted = payable(address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), salt, initCodeHash))))));
    }

    // Stake management at an EntryPoint (bundler reputation rules for factories), owner only.

    function owner() external view returns (address) {
        return _OWNER;
    }

    modifier onlyOwner() {
        if (msg.sender != _OWNER) revert Unauthorized();
        _;
    }

    function addStake(address epAddress, uint32 unstakeDelaySec) external payable onlyOwner {
        if (epAddress == address(0)) revert InvalidEntryPointAddress();
        IStakeManager(epAddress).addStake{value: msg.value}(unstakeDelaySec);
    }

    function unlockStake(address epAddress) external onlyOwner {
        if (epAddress == address(0)) revert InvalidEntryPointAddress();
        IStakeManager(epAddress).unlockStake();
    }

    function withdrawStake(address epAddress, address payable withdrawAddress) external onlyOwner {
        if (epAddress == address(0)) revert InvalidEntryPointAddress();
        IStakeManager(epAddress).withdrawStake(withdrawAddress);
    }
}
