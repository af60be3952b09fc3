// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Multicall3 (devnet)
/// @notice Several calls in one: the ABI of the Multicall3 found at `0xcA11bde05977b3631167028862bE2a173976CA11` on
///         nearly every chain, which viem's `multicall` (and through it the reference SDK's permit signing) calls with
///         `aggregate3`. Every function keeps that ABI (names, tuple layouts, return shapes) and its failure
///         messages: a call that must succeed and does not reverts with `Error("Multicall3: call failed")`, and
///         `aggregate3Value` with a wrong `msg.value` reverts with `Error("Multicall3: value mismatch")`.
/// @dev Stateless, no constructor, no immutables: the devnet places the runtime code with `anvil_setCode`.
///      Calls are made with `call` from this contract, so `msg.sender` in the target is this address.
contract Multicall3 {
    struct Call {
        address target;
        bytes callData;
    }

    struct Call3 {
        address target;
        bool allowFailure;
        bytes callData;
    }

    struct Call3Value {
        address target;
        bool allowFailure;
        uint256 value;
        bytes callData;
    }

    struct Result {
        bool success;
        bytes returnData;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Batches
    // ---------------------------------------------------------------------------------------------------------------

    /// @notice Every call must succeed; returns the block number and each call's return data.
    function aggregate(Call[] calldata calls) external payable returns (uint256 blockNumber, bytes[] memory returnData) {
        blockNumber = block.number;
        returnData = new bytes[](calls.length);
        for (uint256 i = 0; i < calls.length; ++i) {
            returnData[i] = _run(calls[i].target, 0, calls[i].callData, true).returnData;
        }
    }

    /// @notice Like `aggregate`, but failures are reported instead of reverting unless `requireSuccess`.
    function tryAggregate(bool requireSuccess, Call[] calldata calls)
        external
        payable
        returns (Result[] memory returnData)
    {
        returnData = _plain(requireSuccess, calls);
    }

    /// @notice `tryAggregate` with the block number and hash of the block it ran in.
    function tryBlockAndAggregate(bool requireSuccess, Call[] calldata calls)
        external
        payable
        returns (uint256 blockNumber, bytes32 blockHash, Result[] memory returnData)
    {
        blockNumber = block.number;
        blockHash = blockhash(block.number);
        returnData = _plain(requireSuccess, calls);
    }

    /// @notice `tryBlockAndAggregate(true, calls)`.
    function blockAndAggregate(Call[] calldata calls)
        external
        payable
        returns (uint256 blockNumber, bytes32 blockHash, Result[] memory returnData)
    {
        blockNumber = block.number;
        blockHash = blockhash(block.number);
        returnData = _plain(true, calls);
    }

    /// @notice Each call says whether it may fail; the one viem uses (`allowFailure: true` on every call).
    function aggregate3(Call3[] calldata calls) external payable returns (Result[] memory returnData) {
        returnData = new Result[](calls.length);
        for (uint256 i = 0; i < calls.length; ++i) {
            Call3 calldata c = calls[i];
            returnData[i] = _run(c.target, 0, c.callData, !c.allowFailure);
        }
    }

    /// @notice `aggregate3` with native value per call; `msg.value` must equal the sum of the values.
    function aggregate3Value(Call3Value[] calldata calls) external payable returns (Result[] memory returnData) {
        returnData = new Result[](calls.length);
        uint256 total = 0;
        for (uint256 i = 0; i < calls.length; ++i) {
            Call3Value calldata c = calls[i];
            total += c.value;
            returnData[i] = _run(c.target, c.value, c.callData, !c.allowFailure);
        }
        require(msg.value == total, "Multicall3: value mismatch");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Block and account reads
    // ---------------------------------------------------------------------------------------------------------------

    function getBlockHash(uint256 blockNumber) external view returns (bytes32 blockHash) {
        blockHash = blockhash(blockNumber);
    }

    function getBlockNumber() external view returns (uint256 blockNumber) {
        blockNumber = block.number;
    }

    function getCurrentBlockCoinbase() external view returns (address coinbase) {
        coinbase = block.coinbase;
    }

    /// @notice Since the merge this is `prevrandao`, as on the production contract.
    function getCurrentBlockDifficulty() external view returns (uint256 difficulty) {
        difficulty = block.prevrandao;
    }

    function getCurrentBlockGasLimit() external view returns (uint256 gaslimit) {
        gaslimit = block.gaslimit;
    }

    function getCurrentBlockTimestamp() external view returns (uint256 timestamp) {
        timestamp = block.timestamp;
    }

    function getEthBalance(address addr) external view returns (uint256 balance) {
        balance = addr.balance;
    }

    /// @notice The previous block's hash (zero in the genesis block).
    function getLastBlockHash() external view returns (bytes32 blockHash) {
        if (block.number > 0) blockHash = blockhash(block.number - 1);
    }

    function getBasefee() external view returns (uint256 basefee) {
        basefee = block.basefee;
    }

    function getChainId() external view returns (uint256 chainid) {
        chainid = block.chainid;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------------------------------

    function _plain(bool requireSuccess, Call[] calldata calls) private returns (Result[] memory out) {
        out = new Result[](calls.length);
        for (uint256 i = 0; i < calls.length; ++i) {
            out[i] = _run(calls[i].target, 0, calls[i].callData, requireSuccess);
        }
    }

    function _run(address target, uint256 value, bytes calldata data, bool mustSucceed)
        private
        returns (Result memory result)
    {
        (result.success, result.returnData) = target.call{value: value}(data);
        require(result.success || !mustSucceed, "Multicall3: call failed");
    }
}
