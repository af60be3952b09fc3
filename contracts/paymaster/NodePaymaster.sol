// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEntryPoint, IPaymaster, PackedUserOperation} from "../interfaces/IERC4337.sol";

/// @dev The EntryPoint v0.7 stake functions that `IEntryPoint` in IERC4337.sol does not declare.
interface IEntryPointStakeExit {
    function unlockStake() external;
    function withdrawStake(address payable withdrawAddress) external;
}

/// @title NodePaymaster (devnet)
/// @notice The local MEE node's ERC-4337 v0.7 paymaster: it pays the gas of every userOp in a bundle that the node's
///         own EOA submitted (`tx.origin == node`), from its EntryPoint deposit. The node recovers the cost through
///         the super-transaction's payment userOp, so there is no context and no postOp work.
/// @dev `paymasterAndData` = paymaster (20) ‖ pmVerificationGasLimit (16) ‖ pmPostOpGasLimit (16) ‖ optional node data
///      (refund mode, premium mode, premium, refund receiver in production; all ignored here). A postOp gas limit of 0
///      works: the context is always empty, so the EntryPoint never calls postOp.
///      Deployed once and its runtime code copied to the production address: state lives in immutables only.
contract NodePaymaster is IPaymaster {
    /// @notice The EntryPoint this paymaster serves.
    IEntryPoint public immutable entryPoint;

    /// @dev The node's EOA: the only bundle submitter it sponsors, and the admin of the deposit and stake.
    address private immutable _node;

    /// @notice A function restricted to the node's EOA was called by someone else.
    error OwnableUnauthorizedAccount(address account);

    /// @dev No storage writes and no deposit here: the runtime code is copied to the production address, and a
    ///      deposit made by the constructor would belong to the scratch address. Fund with `deposit()` afterwards.
    constructor(IEntryPoint entryPoint_, address node_) {
        entryPoint = entryPoint_;
        _node = node_;
    }

    modifier onlyOwner() {
        if (msg.sender != _node) revert OwnableUnauthorizedAccount(msg.sender);
        _;
    }

    /// @notice The node's EOA (owner of the paymaster).
    function owner() external view returns (address) {
        return _node;
    }

    /// @notice Sponsors the userOp if the node's EOA sent the bundle; otherwise reports a validation failure
    ///         (validationData 1, which the EntryPoint rejects as AA34), as the production NodePaymaster does.
    function validatePaymasterUserOp(PackedUserOperation calldata, bytes32, uint256)
        external
        view
        override
        returns (bytes memory context, uint256 validationData)
    {
        _requireFromEntryPoint();
        // solhint-disable-next-line avoid-tx-origin
        validationData = tx.origin == _node ? 0 : 1;
        context = "";
    }

    /// @notice Never reached with the empty context; present for the IPaymaster interface.
    function postOp(PostOpMode, bytes calldata, uint256, uint256) external view override {
        _requireFromEntryPoint();
    }

    // ------------------------------------------------------------------------------------------------------------
    // Deposit and stake at the EntryPoint
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Adds `msg.value` to this paymaster's EntryPoint deposit (anyone may fund it).
    function deposit() public payable {
        entryPoint.depositTo{value: msg.value}(address(this));
    }

    /// @notice Withdraws from the deposit (node only).
    function withdrawTo(address payable withdrawAddress, uint256 amount) external onlyOwner {
        entryPoint.withdrawTo(withdrawAddress, amount);
    }

    /// @notice This paymaster's deposit at the EntryPoint.
    function getDeposit() external view returns (uint256) {
        return entryPoint.balanceOf(address(this));
    }

    /// @notice Adds stake (node only). Not required by the EntryPoint itself; bundler reputation rules use it.
    function addStake(uint32 unstakeDelaySec) external payable onlyOwner {
        entryPoint.addStake{value: msg.value}(unstakeDelaySec);
    }

    /// @notice Starts the unstake delay (node only).
    function unlockStake() external onlyOwner {
        IEntryPointStakeExit(address(entryPoint)).unlockStake();
    }

    /// @notice Withdraws the unlocked stake (node only).
    function withdrawStake(address payable withdrawAddress) external onlyOwner {
        IEntryPointStakeExit(address(entryPoint)).withdrawStake(withdrawAddress);
    }

    /// @notice Plain ETH transfers are deposited at the EntryPoint.
    receive() external payable {
        deposit();
    }

    function _requireFromEntryPoint() private view {
        require(msg.sender == address(entryPoint), "Sender not EntryPoint");
    }
}
