// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EcdsaLib} from "../lib/EcdsaLib.sol";

/// @title USDC (devnet test token)
/// @notice A 6-decimal ERC-20 with the EIP-2612 permit of Circle's FiatToken v2.2: name "USD Coin", EIP-712 version
///         "2", domain `EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)`, plus
///         EIP-5267 `eip712Domain()`. The devnet places it at the production USDC addresses.
/// @dev TEST TOKEN ONLY: `mint` is open, anyone can mint any amount to anyone. No blacklist, pause or minter roles.
///      Differences from FiatToken: an allowance of `type(uint256).max` is never decreased by `transferFrom`.
///      Storage (for `anvil_setStorageAt`): slot 0 totalSupply, slot 1 balanceOf (mapping owner), slot 2 allowance
///      (mapping owner => spender), slot 3 nonces (mapping owner). The domain separator is computed per call from
///      `block.chainid` and `address(this)`, so the runtime code can be copied to any address.
contract USDC {
    /// @dev keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    bytes32 private constant DOMAIN_TYPEHASH = 0x8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f;
    /// @dev keccak256("USD Coin")
    bytes32 private constant NAME_HASH = 0x52878b207aaddbfc15ea7bebcda681eb8ccd306e2227b61cef68505c8c056341;
    /// @dev keccak256("2")
    bytes32 private constant VERSION_HASH = 0xad7c5bef027816a800da1736444fb58a807ef4c9603b7848673f7e3a68eb14a5;

    /// @notice keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)")
    bytes32 public constant PERMIT_TYPEHASH = 0x6e71edae12b1b97f4d1f60370fef10105fa2faae0126114a169c64845d6126c9;

    string public constant name = "USD Coin";
    string public constant symbol = "USDC";
    string public constant currency = "USD";
    uint8 public constant decimals = 6;

    uint256 public totalSupply;
    mapping(address owner => uint256) public balanceOf;
    mapping(address owner => mapping(address spender => uint256)) public allowance;
    mapping(address owner => uint256) public nonces;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    /// @notice The EIP-712 domain version ("2", as FiatToken v2.x).
    function version() external pure returns (string memory) {
        return "2";
    }

    /// @notice EIP-712 domain separator for the current chain and this address.
    function DOMAIN_SEPARATOR() public view returns (bytes32 separator) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, DOMAIN_TYPEHASH)
            mstore(add(m, 0x20), NAME_HASH)
            mstore(add(m, 0x40), VERSION_HASH)
            mstore(add(m, 0x60), chainid())
            mstore(add(m, 0x80), address())
            separator := keccak256(m, 0xa0)
        }
    }

    /// @notice EIP-5267: fields 0x0f (name, version, chainId, verifyingContract), no salt, no extensions.
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory domainName,
            string memory domainVersion,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", name, "2", block.chainid, address(this), bytes32(0), new uint256[](0));
    }

    // ------------------------------------------------------------------------------------------------------------
    // ERC-20
    // ------------------------------------------------------------------------------------------------------------

    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(value <= allowed, "ERC20: transfer amount exceeds allowance");
            unchecked {
                allowance[from][msg.sender] = allowed - value;
            }
        }
        _transfer(from, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        _approve(msg.sender, spender, value);
        return true;
    }

    function increaseAllowance(address spender, uint256 increment) external returns (bool) {
        _approve(msg.sender, spender, allowance[msg.sender][spender] + increment);
        return true;
    }

    function decreaseAllowance(address spender, uint256 decrement) external returns (bool) {
        uint256 allowed = allowance[msg.sender][spender];
        require(decrement <= allowed, "ERC20: decreased allowance below zero");
        unchecked {
            _approve(msg.sender, spender, allowed - decrement);
        }
        return true;
    }

    // ------------------------------------------------------------------------------------------------------------
    // EIP-2612
    // ------------------------------------------------------------------------------------------------------------

    /// @notice EIP-2612 permit with a split ECDSA signature.
    function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
    {
        bytes32 digest = _usePermitDigest(owner, spender, value, deadline);
        bool valid;
        if (owner.code.length == 0) {
            valid = owner != address(0) && EcdsaLib.tryRecover(digest, v, r, s) == owner;
        } else {
            valid = _isValidErc1271(owner, digest, abi.encodePacked(r, s, v));
        }
        require(valid, "EIP2612: invalid signature");
        _approve(owner, spender, value);
    }

    /// @notice EIP-2612 permit with a packed signature (FiatToken v2.2): 65-byte ECDSA for an EOA owner, any bytes
    ///         for an ERC-1271 contract owner.
    function permit(address owner, address spender, uint256 value, uint256 deadline, bytes calldata signature)
        external
    {
        bytes32 digest = _usePermitDigest(owner, spender, value, deadline);
        bool valid;
        if (owner.code.length == 0) {
            valid = owner != address(0) && EcdsaLib.tryRecover(digest, signature) == owner;
        } else {
            valid = _isValidErc1271(owner, digest, signature);
        }
        require(valid, "EIP2612: invalid signature");
        _approve(owner, spender, value);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Test-token minting
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Mints `amount` to `to`. OPEN TO ANYONE: this is a devnet test token with no supply control.
    function mint(address to, uint256 amount) external returns (bool) {
        require(to != address(0), "FiatToken: mint to the zero address");
        totalSupply += amount;
        unchecked {
            balanceOf[to] += amount; // bounded by totalSupply
        }
        emit Transfer(address(0), to, amount);
        return true;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Internal
    // ------------------------------------------------------------------------------------------------------------

    function _transfer(address from, address to, uint256 value) private {
        require(to != address(0), "ERC20: transfer to the zero address");
        uint256 balance = balanceOf[from];
        require(value <= balance, "ERC20: transfer amount exceeds balance");
        unchecked {
            balanceOf[from] = balance - value;
            balanceOf[to] += value; // bounded by totalSupply
        }
        emit Transfer(from, to, value);
    }

    function _approve(address owner, address spender, uint256 value) private {
        require(spender != address(0), "ERC20: approve to the zero address");
        allowance[owner][spender] = value;
        emit Approval(owner, spender, value);
    }

    /// @dev Checks the deadline, consumes the owner's nonce and returns the EIP-712 permit digest.
    function _usePermitDigest(address owner, address spender, uint256 value, uint256 deadline)
        private
        returns (bytes32 digest)
    {
        require(deadline >= block.timestamp, "FiatTokenV2: permit is expired");
        uint256 nonce = nonces[owner];
        unchecked {
            nonces[owner] = nonce + 1;
        }
        bytes32 separator = DOMAIN_SEPARATOR();
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, PERMIT_TYPEHASH)
            mstore(add(m, 0x20), owner)
            mstore(add(m, 0x40), spender)
            mstore(add(m, 0x60), value)
            mstore(add(m, 0x80), nonce)
            mstore(add(m, 0xa0), deadline)
            let structHash := keccak256(m, 0xc0)
            mstore(m, 0x1901)
            mstore(add(m, 0x20), separator)
            mstore(add(m, 0x40), structHash)
            digest := keccak256(add(m, 0x1e), 0x42)
        }
    }

    function _isValidErc1271(address signer, bytes32 digest, bytes memory signature) private view returns (bool) {
        (bool ok, bytes memory ret) =
            signer.staticcall(abi.encodeWithSelector(bytes4(0x1626ba7e), digest, signature));
        return ok && ret.length >= 32 && bytes4(abi.decode(ret, (bytes32))) == bytes4(0x1626ba7e);
    }
}
