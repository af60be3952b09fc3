// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title NexusProxy (devnet)
/// @notice ERC-1967 proxy for Nexus accounts. The constructor stores the implementation and delegatecalls `data`
/// (`initializeAccount(bytes)` when created by the factory) while the proxy still has no code, which is what lets
/// `Nexus.initializeAccount` accept the call. Every later call is delegated.
contract NexusProxy {
    /// bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1)
    bytes32 internal constant _IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;

    event Upgraded(address indexed implementation);

    error ERC1967InvalidImplementation(address implementation);
    error ERC1967NonPayable();

    constructor(address implementation, bytes memory data) payable {
        if (implementation.code.length == 0) revert ERC1967InvalidImplementation(implementation);
        assembly ("memory-safe") {
            sstore(_IMPLEMENTATION_SLOT, implementation)
        }
        emit Upgraded(implementation);
        if (data.length != 0) {
            assembly ("memory-safe") {
                if iszero(delegatecall(gas(), implementation, add(data, 0x20), mload(data), codesize(), 0x00)) {
                    let m := mload(0x40)
                    returndatacopy(m, 0x00, returndatasize())
                    revert(m, returndatasize())
                }
            }
        } else if (msg.value != 0) {
            revert ERC1967NonPayable();
        }
    }

    receive() external payable {}

    fallback() external payable {
        assembly {
            calldatacopy(0x00, 0x00, calldatasize())
            let ok := delegatecall(gas(), sload(_IMPLEMENTATION_SLOT), 0x00, calldatasize(), 0x00, 0x00)
            returndatacopy(0x00, 0x00, returndatasize())
            if iszero(ok) { revert(0x00, returndatasize()) }
            return(0x00, returndatasize())
        }
    }
}
