// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice The examples' target: one counter per contract, anyone may change it.
contract Counter {
    uint256 public number;

    event Incremented(address indexed by, uint256 number);

    function increment() external {
        uint256 n = number + 1;
        number = n;
        emit Incremented(msg.sender, n);
    }

    /// @notice Adds `by`; payable so that policies on native value can be exercised.
    function incrementBy(uint256 by) external payable {
        uint256 n = number + by;
        number = n;
        emit Incremented(msg.sender, n);
    }

    function setNumber(uint256 n) external {
        number = n;
    }
}
