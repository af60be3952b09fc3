// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEntryPoint, IPaymaster, PackedUserOperation} from "../interfaces/IERC4337.sol";

/// @dev The EntryPoint v0.7 stake functions that `IEntryPoint` in IERC4337.sol does not declare.
interface IEntryPointStakeExit {
    function unlockStake() external;
    function withdrawStake(address payable withdrawAddress) external;
}

/// @title NodePaymaster (devnet)
/// @notice The local MEE node's ERC-4337 v0.7 paymaster. It pays the gas of every userOp in a bundle that the node's
///         own EOA submitted (`tx.origin == node`), from its EntryPoint deposit, and refunds the unused part of each
///         userOp's maximum cost as the production MEE NodePaymaster does (the `BaseNodePaymaster` builds with refund
///         and premium modes: bcnmy/mee-contracts v1.0.0, used from MEE 2.0.0, and its worker-EOA successor on the
///         `dev` branch, used from MEE 2.1.0; both validate and refund identically).
/// @dev `paymasterAndData` = paymaster (20) ‖ uint128 pmVerificationGasLimit ‖ uint128 pmPostOpGasLimit ‖ node data:
///
///        byte 52  refund mode (4): 0x170de000 USER (refund to userOp.sender), 0x170de001 DAPP (refund to a receiver
///                 named in the data), 0x170de002 KEEP (no refund, nothing else is read, no postOp)
///        byte 56  premium mode (4): 0x9ee4ce00 PERCENT, 0x9ee4ce01 FIXED (USER and DAPP only)
///        byte 60  PERCENT only: uint192 premium (24), 100 % = 10,000,000
///        then     DAPP only: refund receiver (20), at byte 60 after FIXED, at byte 84 after PERCENT
///
///      An unknown refund mode reverts `InvalidNodePMRefundMode(mode)`, an unknown premium mode (after USER or DAPP)
///      `InvalidNodePMPremiumMode(mode)`; the EntryPoint reports either as `AA33 reverted`. As in production, bytes past
///      the end of `paymasterAndData` are read from the calldata that follows it (the ABI zero padding of a well-formed
///      bundle), so a 52-byte `paymasterAndData` has refund mode 0x00000000. There is no lower bound on the postOp gas
///      limit (the production builds before the modes required more than 49,999; these do not).
///
///      Refund (postOp, USER and DAPP): the gas cost so far plus `pmPostOpGasLimit` × the userOp's gas price is the
///      cost; the refund is `maxCost − cost` (FIXED: the fixed premium is charged off chain by the node), or with a
///      PERCENT premium `maxCost × (1 + p) − cost × (1 + p)`, paid from the deposit with `EntryPoint.withdrawTo`.
///      A bundle from anyone else gets validationData 1 (the EntryPoint's `AA34 signature error`).
///
///      Deployed once and its runtime code copied to the production address: state lives in immutables only.
contract NodePaymaster is IPaymaster {
    /// @notice The EntryPoint this paymaster serves.
    IEntryPoint public immutable entryPoint;

    /// @dev The node's EOA: the only bundle submitter it sponsors, and the admin of the deposit and stake.
    address private immutable _node;

    bytes4 private constant REFUND_USER = 0x170de000;
    bytes4 private constant REFUND_DAPP = 0x170de001;
    bytes4 private constant REFUND_KEEP = 0x170de002;
    bytes4 private constant PREMIUM_PERCENT = 0x9ee4ce00;
    bytes4 private constant PREMIUM_FIXED = 0x9ee4ce01;

    /// @dev 100 % with five decimals.
    uint256 private constant PREMIUM_BASE = 10_000_000;

    /// @dev Offsets in `paymasterAndData` (the node data starts after the EntryPoint's 52 static bytes).
    uint256 private constant REFUND_MODE_AT = 52;
    uint256 private constant PREMIUM_MODE_AT = 56;
    uint256 private constant PREMIUM_AT = 60;

    /// @dev Context lengths: receiver ‖ maxCost ‖ postOpGasLimit (FIXED), receiver ‖ premium ‖ the same (PERCENT).
    uint256 private constant FIXED_CONTEXT = 84;
    uint256 private constant PERCENT_CONTEXT = 108;

    /// @notice The refund mode at byte 52 of `paymasterAndData` is none of USER, DAPP, KEEP.
    error InvalidNodePMRefundMode(bytes4 mode);
    /// @notice The premium mode at byte 56 of `paymasterAndData` is neither PERCENT nor FIXED.
    error InvalidNodePMPremiumMode(bytes4 mode);
    /// @notice postOp got a context of a length validation never returns.
    error InvalidContext(uint256 length);
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

    /// @notice Sponsors the userOp if the node's EOA sent the bundle, with the refund the node data asks for.
    function validatePaymasterUserOp(PackedUserOperation calldata userOp, bytes32, uint256 maxCost)
        external
        view
        override
        returns (bytes memory context, uint256 validationData)
    {
        _requireFromEntryPoint();
        // solhint-disable-next-line avoid-tx-origin
        if (tx.origin != _node) return ("", 1);

        bytes calldata data = userOp.paymasterAndData;
        bytes4 refundMode = bytes4(_word(data, REFUND_MODE_AT));
        if (refundMode == REFUND_KEEP) return ("", 0);

        bytes4 premiumMode = bytes4(_word(data, PREMIUM_MODE_AT));
        address receiver;
        if (refundMode == REFUND_USER) {
            receiver = userOp.sender;
        } else if (refundMode == REFUND_DAPP) {
            // The receiver follows the premium: right after the premium mode when FIXED (no premium value), after the
            // 24-byte premium otherwise (an unknown premium mode is refused just below).
            receiver = address(bytes20(_word(data, premiumMode == PREMIUM_FIXED ? PREMIUM_AT : PREMIUM_AT + 24)));
        } else {
            revert InvalidNodePMRefundMode(refundMode);
        }

        uint256 postOpGasLimit = uint128(bytes16(data[36:52]));
        if (premiumMode == PREMIUM_FIXED) {
            context = abi.encodePacked(receiver, maxCost, postOpGasLimit);
        } else if (premiumMode == PREMIUM_PERCENT) {
            uint192 premium = uint192(bytes24(_word(data, PREMIUM_AT)));
            context = abi.encodePacked(receiver, premium, maxCost, postOpGasLimit);
        } else {
            revert InvalidNodePMPremiumMode(premiumMode);
        }
        validationData = 0;
    }

    /// @notice Refunds the unused part of the userOp's maximum cost (only reached for USER and DAPP: KEEP returns an
    ///         empty context, and the EntryPoint calls postOp only after a non-empty one).
    function postOp(PostOpMode, bytes calldata context, uint256 actualGasCost, uint256 actualUserOpFeePerGas)
        external
        override
    {
        _requireFromEntryPoint();
        if (context.length == 0) return;

        uint256 refund;
        if (context.length == FIXED_CONTEXT) {
            uint256 maxCost = uint256(bytes32(context[20:52]));
            uint256 cost = actualGasCost + uint256(bytes32(context[52:84])) * actualUserOpFeePerGas;
            if (cost < maxCost) refund = maxCost - cost;
        } else if (context.length == PERCENT_CONTEXT) {
            uint256 premium = uint192(bytes24(context[20:44]));
            uint256 maxCost = uint256(bytes32(context[44:76]));
            uint256 cost = actualGasCost + uint256(bytes32(context[76:108])) * actualUserOpFeePerGas;
            // The premium is the node's, so both sides carry it; the penalty for unused gas goes to the bundle's
            // beneficiary (the node) and is not charged again.
            uint256 costWithPremium = cost * (PREMIUM_BASE + premium) / PREMIUM_BASE;
            uint256 maxWithPremium = maxCost * (PREMIUM_BASE + premium) / PREMIUM_BASE;
            if (costWithPremium < maxWithPremium) refund = maxWithPremium - costWithPremium;
        } else {
            revert InvalidContext(context.length);
        }
        // The EntryPoint credits this userOp's unused prefund only after postOp: the refund comes from the deposit
        // as it stands now.
        if (refund > 0) entryPoint.withdrawTo(payable(address(bytes20(context[0:20]))), refund);
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

    /// @dev The 32 calldata bytes at `data[at:]`, read with `calldataload` (past the end: the calldata that follows).
    function _word(bytes calldata data, uint256 at) private pure returns (bytes32 word) {
        assembly ("memory-safe") {
            word := calldataload(add(data.offset, at))
        }
    }
}
