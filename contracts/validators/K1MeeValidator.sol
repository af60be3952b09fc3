// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PackedUserOperation, SIG_VALIDATION_FAILED} from "../interfaces/IERC4337.sol";
import {
    IValidator,
    ISessionValidator,
    IERC7579Module,
    MODULE_TYPE_VALIDATOR,
    MODULE_TYPE_STATELESS_VALIDATOR,
    ERC1271_MAGIC_VALUE,
    ERC1271_INVALID
} from "../interfaces/IERC7579.sol";
import {EcdsaLib} from "../lib/EcdsaLib.sol";
import {MerkleProofLib} from "../lib/MerkleProofLib.sol";
import {SignedTxLib} from "../lib/RlpLib.sol";

/// @dev EIP-5267 view of the account, read for the ERC-7739 nested EIP-712 workflows.
interface IERC5267Domain {
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        );
}

/// @title K1MeeValidator (devnet)
/// @notice ERC-7579 validator (module type 1) and stateless session validator (module type 7) for secp256k1 owners,
///         compatible in ABI and behaviour with Biconomy's K1MeeValidator 1.0.1 (MEE 2.0.0), whose bytecode the
///         devnet also places at the MEE 2.1.0 validator address.
/// @dev Signature modes, chosen by the first four bytes of the signature (spec §11):
///      - `0x177eee00` simple: the owner signed a super-transaction Merkle root; the entry is proven by a sorted-pair
///        Merkle proof. Full layout (userOps): `abi.encode(root, uint48 lower, uint48 upper, bytes32[] proof, bytes sig)`
///        with leaf `keccak256(keccak256(abi.encode(userOpHash, lower, upper)))`; short layout (ERC-1271 and session
///        validation): `abi.encode(root, bytes32[] proof, bytes sig)` with the given hash as the leaf.
///      - `0x177eee01` on-chain transaction: the owner sent a transaction whose `data` ends with the super-transaction
///        root (e.g. `approve(account, amount) ‖ root`). Full layout (userOps): `txType (1 byte) ‖ rlpSignedTx ‖
///        proof items (32 bytes each) ‖ uint8 proofCount ‖ uint48 lower (6 bytes) ‖ uint48 upper (6 bytes)`, leaf as
///        in simple mode; short layout: the same without the two timestamps, leaf = the given hash. Type 0x00 is a
///        legacy transaction (EIP-155 or not; the 0x00 is prepended to its RLP), type 0x02 an EIP-1559 one (its raw
///        `0x02 ‖ rlp`, so the type byte is the transaction's own). The signer of the unsigned transaction must be
///        the owner (see `SignedTxLib`).
///      - `0x177eee02` ERC-2612 permit: the root is the permit deadline; full and short layouts as in spec §11.2/§11.4.
///      - anything else: a plain 65-byte ECDSA signature over the hash (raw, then EIP-191 personal message).
///      A bad or malformed signature is reported (SIG_VALIDATION_FAILED / false / 0xffffffff), never reverted, so that
///      gas can be estimated with placeholder signatures; calldata layouts are parsed with explicit bounds checks for
///      that reason, and a failing well-formed signature runs the same ecrecover calls as the dearest valid one. The
///      production reverts kept here: `InvalidDataLength` (session data < 20 bytes), `PermitFailed` (a correctly
///      signed permit that can not be applied), `InvalidSignature` (high s in the ERC-7739 branch of ERC-1271).
///      ECDSA accepts 65-byte and 64-byte (EIP-2098) signatures with s ≤ n/2 only.
///      All storage is keyed by the account so that it is "associated" with the userOp sender under the ERC-4337
///      validation rules. The contract is deployed once and its runtime code copied: no constructor, no immutables.
contract K1MeeValidator is IValidator, ISessionValidator {
    // ------------------------------------------------------------------------------------------------------------
    // Constants
    // ------------------------------------------------------------------------------------------------------------

    uint256 private constant SIG_TYPE_SIMPLE = 0x177eee00;
    uint256 private constant SIG_TYPE_ON_CHAIN = 0x177eee01;
    uint256 private constant SIG_TYPE_ERC20_PERMIT = 0x177eee02;
    uint256 private constant SIG_TYPE_MEE_FLOW = 0x177eee;

    /// @dev The canonical MulticallerWithSigner, which puts the account into the signed hash itself.
    address private constant MULTICALLER_WITH_SIGNER = 0x000000000000D9ECebf3C23529de49815Dac1c4c;

    /// @dev keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)")
    bytes32 private constant PERMIT_TYPEHASH = 0x6e71edae12b1b97f4d1f60370fef10105fa2faae0126114a169c64845d6126c9;

    /// @dev keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    bytes32 private constant DOMAIN_TYPEHASH = 0x8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f;

    /// @dev keccak256("PersonalSign(bytes prefixed)")
    bytes32 private constant PERSONAL_SIGN_TYPEHASH = 0x983e65e5148e570cd828ead231ee759a8d7958721a768f93bc4483ba005c32de;

    /// @dev ERC-7739 detection: `isValidSignatureWithSender(_, 0x7739…7739, "")` answers this value.
    bytes4 private constant SUPPORTS_ERC7739_V1 = 0x77390001;
    uint256 private constant ERC7739_DETECTION_HASH = 0x7739773977397739773977397739773977397739773977397739773977397739;

    /// @dev The ERC-6492 suffix `0x6492…6492` of a counterfactual signature wrapper.
    uint256 private constant ERC6492_MAGIC = 0x6492649264926492649264926492649264926492649264926492649264926492;

    /// @dev `ecrecover` accepts only s ≤ n/2 here (see EcdsaLib); the ERC-7739 path reverts on a high s.
    uint256 private constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    // ------------------------------------------------------------------------------------------------------------
    // Storage (slots 0-3; every key path ends in the account address, keeping the slots account-associated)
    // ------------------------------------------------------------------------------------------------------------

    /// @notice The owner of each smart account (zero when the module is not installed for it).
    mapping(address smartAccount => address owner) public smartAccountOwners;

    /// @dev 1-based position of `sender` in the account's safe-sender list; 0 when absent.
    mapping(address sender => mapping(address smartAccount => uint256 position)) private _safeSenderPosition;

    /// @dev Number of safe senders of the account.
    mapping(address smartAccount => uint256 count) private _safeSenderCount;

    /// @dev The account's safe senders by 0-based index.
    mapping(uint256 index => mapping(address smartAccount => address sender)) private _safeSenderAt;

    // ------------------------------------------------------------------------------------------------------------
    // Errors (names of the production validator)
    // ------------------------------------------------------------------------------------------------------------

    /// @notice onInstall was called with empty data.
    error NoOwnerProvided();
    /// @notice transferOwnership to the zero address.
    error ZeroAddressNotAllowed();
    /// @notice onInstall for an account that already has an owner.
    error ModuleAlreadyInitialized();
    /// @notice The new owner has code (an EIP-7702 delegated EOA is accepted).
    error NewOwnerIsContract();
    /// @notice onInstall with a zero owner.
    error OwnerCannotBeZeroAddress();
    /// @notice validateSignatureWithData with fewer than 20 bytes of data, or onInstall with fewer than 20 bytes.
    error InvalidDataLength();
    /// @notice The safe-sender part of the install data is not a multiple of 20 bytes.
    error SafeSendersLengthInvalid();
    /// @notice ERC-7739 path: the signature's s value is in the upper half of the curve order.
    error InvalidSignature();
    /// @notice Permit mode: the permit call failed and the allowance does not cover the amount.
    error PermitFailed();

    // ------------------------------------------------------------------------------------------------------------
    // ERC-7579 module configuration
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Installs the validator for the calling account.
    /// @param data `owner (20 bytes) ‖ safeSender₁ (20 bytes) ‖ …`
    function onInstall(bytes calldata data) external override {
        if (data.length == 0) revert NoOwnerProvided();
        if (data.length < 20) revert InvalidDataLength();
        if (smartAccountOwners[msg.sender] != address(0)) revert ModuleAlreadyInitialized();
        address newOwner = address(bytes20(data[0:20]));
        if (newOwner == address(0)) revert OwnerCannotBeZeroAddress();
        if (_hasContractCode(newOwner)) revert NewOwnerIsContract();
        smartAccountOwners[msg.sender] = newOwner;
        if (data.length > 20) {
            bytes calldata senders = data[20:];
            if (senders.length % 20 != 0) revert SafeSendersLengthInvalid();
            for (uint256 i; i < senders.length; i += 20) {
                _addSafeSender(msg.sender, address(bytes20(senders[i:i + 20])));
            }
        }
    }

    /// @notice Uninstalls the validator for the calling account: clears the owner and every safe sender.
    function onUninstall(bytes calldata) external override {
        delete smartAccountOwners[msg.sender];
        uint256 count = _safeSenderCount[msg.sender];
        for (uint256 i; i < count; ++i) {
            address sender = _safeSenderAt[i][msg.sender];
            delete _safeSenderPosition[sender][msg.sender];
            delete _safeSenderAt[i][msg.sender];
        }
        if (count != 0) delete _safeSenderCount[msg.sender];
    }

    /// @notice Sets a new owner for the calling account.
    function transferOwnership(address newOwner) external {
        if (newOwner == address(0)) revert ZeroAddressNotAllowed();
        if (_hasContractCode(newOwner)) revert NewOwnerIsContract();
        smartAccountOwners[msg.sender] = newOwner;
    }

    /// @notice True if the account has an owner here.
    function isInitialized(address smartAccount) external view override returns (bool) {
        return smartAccountOwners[smartAccount] != address(0);
    }

    /// @notice The owner of `smartAccount`, or the account itself when none is set.
    function getOwner(address smartAccount) public view returns (address) {
        address owner = smartAccountOwners[smartAccount];
        return owner == address(0) ? smartAccount : owner;
    }

    /// @notice Adds `sender` to the calling account's safe ERC-1271 senders (no-op if present).
    function addSafeSender(address sender) external {
        _addSafeSender(msg.sender, sender);
    }

    /// @notice Removes `sender` from the calling account's safe ERC-1271 senders (no-op if absent).
    function removeSafeSender(address sender) external {
        uint256 position = _safeSenderPosition[sender][msg.sender];
        if (position == 0) return;
        uint256 last = _safeSenderCount[msg.sender] - 1;
        if (position - 1 != last) {
            address moved = _safeSenderAt[last][msg.sender];
            _safeSenderAt[position - 1][msg.sender] = moved;
            _safeSenderPosition[moved][msg.sender] = position;
        }
        delete _safeSenderAt[last][msg.sender];
        delete _safeSenderPosition[sender][msg.sender];
        _safeSenderCount[msg.sender] = last;
    }

    /// @notice True if `sender` is in `smartAccount`'s safe-sender set.
    function isSafeSender(address sender, address smartAccount) external view returns (bool) {
        return _safeSenderPosition[sender][smartAccount] != 0;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Validation
    // ------------------------------------------------------------------------------------------------------------

    /// @notice ERC-4337 userOp validation for the account `userOp.sender`.
    /// @return ERC-4337 validation data: 0, SIG_VALIDATION_FAILED (1), or `validUntil << 160 | validAfter << 208`
    ///         from the MEE timestamps.
    function validateUserOp(PackedUserOperation calldata userOp, bytes32 userOpHash)
        external
        override
        returns (uint256)
    {
        address owner = getOwner(userOp.sender);
        bytes calldata sig = userOp.signature;
        uint256 sigType = _sigType(sig);
        if (sigType == SIG_TYPE_SIMPLE) return _validateSimpleFull(owner, userOpHash, sig);
        if (sigType == SIG_TYPE_ERC20_PERMIT) return _validatePermitFull(owner, userOpHash, sig);
        if (sigType == SIG_TYPE_ON_CHAIN) return _validateOnChainFull(owner, userOpHash, sig);
        return EcdsaLib.isValidSignature(owner, userOpHash, sig) ? 0 : SIG_VALIDATION_FAILED;
    }

    /// @notice ERC-1271 for the calling account (`msg.sender`), with `sender` the caller of the account.
    /// @dev `0x177eee…` signatures: MEE flow over `keccak256(hash ‖ account)` with the short layouts. Otherwise the
    ///      ERC-7739 flow: a plain owner signature is accepted for safe senders; other senders need the nested
    ///      EIP-712 `TypedDataSign` or `PersonalSign` wrapping. ERC-6492 wrappers are stripped first.
    function isValidSignatureWithSender(address sender, bytes32 hash, bytes calldata signature)
        external
        view
        override
        returns (bytes4)
    {
        bytes calldata sig = _unwrapErc6492(signature);
        uint256 meeFlow;
        assembly ("memory-safe") {
            meeFlow := and(gt(signature.length, 2), eq(shr(232, calldataload(signature.offset)), SIG_TYPE_MEE_FLOW))
        }
        if (meeFlow != 0) {
            bytes32 accountHash;
            assembly ("memory-safe") {
                mstore(0x00, hash)
                mstore(0x20, shl(96, caller()))
                accountHash := keccak256(0x00, 0x34)
            }
            return _validateForOwner(getOwner(msg.sender), accountHash, sig) ? ERC1271_MAGIC_VALUE : ERC1271_INVALID;
        }

        if (sig.length == 0 && uint256(hash) == ERC7739_DETECTION_HASH) return SUPPORTS_ERC7739_V1;
        if (sig.length >= 64 && uint256(bytes32(sig[32:64])) > HALF_N) revert InvalidSignature();

        address owner = getOwner(msg.sender);
        if (_isSafeSender(sender) && EcdsaLib.isValidSignature(owner, hash, sig)) return ERC1271_MAGIC_VALUE;
        return _validateNestedEip712(owner, hash, sig) ? ERC1271_MAGIC_VALUE : ERC1271_INVALID;
    }

    /// @notice ISessionValidator: `data` starts with the session signer (20 bytes); `sig` is a plain signature or an
    ///         MEE short-layout signature whose leaf is `hash` (SmartSessions passes the userOpHash).
    function validateSignatureWithData(bytes32 hash, bytes calldata sig, bytes calldata data)
        external
        view
        override
        returns (bool)
    {
        if (data.length < 20) revert InvalidDataLength();
        address owner;
        assembly ("memory-safe") {
            owner := shr(96, calldataload(data.offset))
        }
        return _validateForOwner(owner, hash, sig);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Metadata
    // ------------------------------------------------------------------------------------------------------------

    function name() external pure returns (string memory) {
        return "K1MeeValidator";
    }

    function version() external pure returns (string memory) {
        return "1.0.1";
    }

    function isModuleType(uint256 typeId) external pure override returns (bool) {
        return typeId == MODULE_TYPE_VALIDATOR || typeId == MODULE_TYPE_STATELESS_VALIDATOR;
    }

    /// @notice ERC-7739 capability marker: `bytes32(bytes4(keccak256("supportsNestedTypedDataSign()")))`.
    function supportsNestedTypedDataSign() external pure returns (bytes32) {
        return bytes32(bytes4(0xd620c85a));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Internal: signature modes
    // ------------------------------------------------------------------------------------------------------------

    /// @dev The first four bytes of `sig` as a number, or 0 when it is shorter than four bytes.
    function _sigType(bytes calldata sig) private pure returns (uint256 sigType) {
        assembly ("memory-safe") {
            if gt(sig.length, 3) { sigType := shr(224, calldataload(sig.offset)) }
        }
    }

    /// @dev Short layouts (ERC-1271 MEE flow and session validation): the leaf is `hash` itself.
    function _validateForOwner(address owner, bytes32 hash, bytes calldata sig) private view returns (bool) {
        uint256 sigType = _sigType(sig);
        if (sigType == SIG_TYPE_SIMPLE) return _validateSimpleShort(owner, hash, sig);
        if (sigType == SIG_TYPE_ERC20_PERMIT) return _validatePermitShort(owner, hash, sig);
        if (sigType == SIG_TYPE_ON_CHAIN) return _validateOnChainShort(owner, hash, sig);
        return EcdsaLib.isValidSignature(owner, hash, sig);
    }

    /// @dev `0x177eee00 ‖ abi.encode(bytes32 root, uint48 lower, uint48 upper, bytes32[] proof, bytes sig)`.
    function _validateSimpleFull(address owner, bytes32 userOpHash, bytes calldata sig)
        private
        view
        returns (uint256 validationData)
    {
        if (sig.length < 4 + 0xa0) return SIG_VALIDATION_FAILED;
        bytes32 root;
        uint256 proofRel;
        assembly ("memory-safe") {
            let base := add(sig.offset, 4)
            root := calldataload(base)
            let lower := calldataload(add(base, 0x20))
            let upper := calldataload(add(base, 0x40))
            proofRel := calldataload(add(base, 0x60))
            // validUntil = upper, validAfter = lower; timestamps wider than 48 bits make the signature malformed.
            validationData := or(shl(160, upper), shl(208, lower))
            if shr(48, or(lower, upper)) { validationData := SIG_VALIDATION_FAILED }
        }
        if (validationData == SIG_VALIDATION_FAILED) return SIG_VALIDATION_FAILED;
        bytes32 leaf = _meeLeaf(userOpHash, validationData);
        (bool ok, bytes32 computedRoot, bytes calldata ecdsaSig) =
            _foldProofThenSig(_tail(sig), sig.length - 4, proofRel, leaf);
        // The signature is checked even when the proof fails (gas parity with valid signatures, see EcdsaLib).
        if (!ok || !EcdsaLib.isValidSignature(owner, root, ecdsaSig) || computedRoot != root) {
            return SIG_VALIDATION_FAILED;
        }
    }

    /// @dev `0x177eee01 ‖ txType ‖ rlpSignedTx ‖ proof items ‖ uint8 proofCount ‖ uint48 lower ‖ uint48 upper`, leaf
    ///      `keccak256(keccak256(abi.encode(userOpHash, lower, upper)))`, root = the last 32 bytes of the tx data.
    function _validateOnChainFull(address owner, bytes32 userOpHash, bytes calldata sig)
        private
        view
        returns (uint256 validationData)
    {
        // prefix, type byte, at least one RLP byte, count and timestamps
        if (sig.length < 4 + 2 + 13) return SIG_VALIDATION_FAILED;
        uint256 proofCount;
        uint256 rlpEnd;
        assembly ("memory-safe") {
            let tail := add(sig.offset, sig.length)
            let lower := shr(208, calldataload(sub(tail, 12)))
            let upper := shr(208, calldataload(sub(tail, 6)))
            proofCount := byte(0, calldataload(sub(tail, 13)))
            validationData := or(shl(160, upper), shl(208, lower))
            // the proof must leave room for the type byte and one RLP byte
            switch lt(sub(sig.length, 19), shl(5, proofCount))
            case 1 { validationData := SIG_VALIDATION_FAILED }
            default { rlpEnd := sub(sub(tail, 13), shl(5, proofCount)) }
        }
        if (validationData == SIG_VALIDATION_FAILED) return SIG_VALIDATION_FAILED;
        bytes32 leaf = _meeLeaf(userOpHash, validationData);
        if (!_validateOnChainTx(owner, _tail(sig), rlpEnd, proofCount, leaf)) return SIG_VALIDATION_FAILED;
    }

    /// @dev `0x177eee01 ‖ txType ‖ rlpSignedTx ‖ proof items ‖ uint8 proofCount`, leaf = `hash`.
    function _validateOnChainShort(address owner, bytes32 hash, bytes calldata sig) private view returns (bool) {
        if (sig.length < 4 + 2 + 1) return false;
        uint256 proofCount;
        uint256 rlpEnd;
        assembly ("memory-safe") {
            let tail := add(sig.offset, sig.length)
            proofCount := byte(0, calldataload(sub(tail, 1)))
            if iszero(lt(sub(sig.length, 7), shl(5, proofCount))) {
                rlpEnd := sub(sub(tail, 1), shl(5, proofCount))
            }
        }
        if (rlpEnd == 0) return false;
        return _validateOnChainTx(owner, _tail(sig), rlpEnd, proofCount, hash);
    }

    /// @dev The transaction in calldata `[txStart, rlpEnd)` (type byte first) was signed by `owner` and its data ends
    ///      with the root that the `proofCount` proof items at `rlpEnd` fold `leaf` into. The owner's signature is
    ///      checked even when the proof fails (gas parity with valid signatures, see EcdsaLib).
    function _validateOnChainTx(address owner, uint256 txStart, uint256 rlpEnd, uint256 proofCount, bytes32 leaf)
        private
        view
        returns (bool)
    {
        (bool ok, SignedTxLib.SignedTx memory signedTx) = SignedTxLib.decode(txStart, rlpEnd);
        if (!ok) return false;
        bool proven = MerkleProofLib.verifyCalldata(rlpEnd, proofCount, signedTx.appended, leaf);
        return EcdsaLib.isValidSignature(owner, signedTx.digest, signedTx.v, signedTx.r, signedTx.s) && proven;
    }

    /// @dev Calldata offset of the payload after the 4-byte signature type.
    /// @dev The Merkle leaf of a full-layout userOp: `keccak256(keccak256(abi.encode(userOpHash, lower, upper)))` (the
    ///      MEE userOp hash), with `lower`/`upper` read back from a well-formed `validationData`
    ///      (`upper << 160 | lower << 208`, both below 2^48).
    function _meeLeaf(bytes32 userOpHash, uint256 validationData) private pure returns (bytes32 leaf) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, userOpHash)
            mstore(add(m, 0x20), shr(208, validationData))
            mstore(add(m, 0x40), and(shr(160, validationData), 0xffffffffffff))
            mstore(0x00, keccak256(m, 0x60))
            leaf := keccak256(0x00, 0x20)
        }
    }

    function _tail(bytes calldata sig) private pure returns (uint256 base) {
        assembly ("memory-safe") {
            base := add(sig.offset, 4)
        }
    }

    /// @dev `0x177eee00 ‖ abi.encode(bytes32 root, bytes32[] proof, bytes sig)`, leaf = `hash`.
    function _validateSimpleShort(address owner, bytes32 hash, bytes calldata sig) private view returns (bool) {
        if (sig.length < 4 + 0x60) return false;
        bytes32 root;
        uint256 proofRel;
        assembly ("memory-safe") {
            root := calldataload(add(sig.offset, 4))
            proofRel := calldataload(add(sig.offset, 0x24))
        }
        (bool ok, bytes32 computedRoot, bytes calldata ecdsaSig) =
            _foldProofThenSig(_tail(sig), sig.length - 4, proofRel, hash);
        return ok && EcdsaLib.isValidSignature(owner, root, ecdsaSig) && computedRoot == root;
    }

    /// @dev `0x177eee02 ‖ abi.encode((address token, address spender, bytes32 domainSeparator, uint256 amount,
    ///      uint256 nonce, bool isPermitTx, bytes32 superTxHash, uint48 lower, uint48 upper, uint8 v, bytes32 r,
    ///      bytes32 s, bytes32[] proof))`. The tuple is dynamic: its offset word (0x20) is skipped, as in production.
    function _validatePermitFull(address owner, bytes32 userOpHash, bytes calldata sig) private returns (uint256) {
        if (sig.length < 0x24 + 0x1a0) return SIG_VALIDATION_FAILED;
        // t: start of the tuple head (13 words), after the type and the tuple offset word.
        uint256 t;
        uint256 validationData;
        assembly ("memory-safe") {
            t := add(sig.offset, 0x24)
            let lower := calldataload(add(t, 0xe0))
            let upper := calldataload(add(t, 0x100))
            validationData := or(shl(160, upper), shl(208, lower))
            // dirty address words, timestamps wider than 48 bits or a non-boolean isPermitTx: malformed
            if or(
                or(shr(160, or(calldataload(t), calldataload(add(t, 0x20)))), shr(48, or(lower, upper))),
                gt(calldataload(add(t, 0xa0)), 1)
            ) { validationData := SIG_VALIDATION_FAILED }
        }
        if (validationData == SIG_VALIDATION_FAILED) return SIG_VALIDATION_FAILED;
        bytes32 leaf = _meeLeaf(userOpHash, validationData);
        // The permit signature first (production order; keeps placeholder gas estimates at the valid-path cost).
        {
            // spender at t + 0x20, domainSeparator at t + 0x40, amount and nonce at t + 0x60, deadline at t + 0xc0
            bytes32 digest = _permitDigestAt(owner, t + 0x20, t + 0x40, t + 0x60, t + 0xc0);
            uint256 v;
            bytes32 r;
            bytes32 s;
            assembly ("memory-safe") {
                v := calldataload(add(t, 0x120))
                r := calldataload(add(t, 0x140))
                s := calldataload(add(t, 0x160))
            }
            if (!EcdsaLib.isValidSignature(owner, digest, v, r, s)) return SIG_VALIDATION_FAILED;
        }
        {
            bytes32 root;
            uint256 proofRel;
            assembly ("memory-safe") {
                root := calldataload(add(t, 0xc0))
                proofRel := calldataload(add(t, 0x180))
            }
            (bool ok, uint256 proofOffset, uint256 proofLength) = _locateProof(t, sig.length - 0x24, proofRel);
            if (!ok || !MerkleProofLib.verifyCalldata(proofOffset, proofLength, root, leaf)) {
                return SIG_VALIDATION_FAILED;
            }
        }
        uint256 isPermitTx;
        assembly ("memory-safe") {
            isPermitTx := calldataload(add(t, 0xa0))
        }
        if (isPermitTx != 0) _executePermit(owner, t);
        return validationData;
    }

    /// @dev `0x177eee02 ‖ abi.encode((address spender, bytes32 domainSeparator, uint256 amount, uint256 nonce,
    ///      bytes32 superTxHash, uint8 v, bytes32 r, bytes32 s, bytes32[] proof))`, leaf = `hash`, owner = the permit
    ///      owner. No token call.
    function _validatePermitShort(address owner, bytes32 hash, bytes calldata sig) private view returns (bool) {
        if (sig.length < 0x24 + 0x120) return false;
        uint256 t;
        assembly ("memory-safe") {
            t := add(sig.offset, 0x24)
        }
        if (_wordAt(t) >> 160 != 0) return false; // dirty spender word
        {
            // spender at t, domainSeparator at t + 0x20, amount and nonce at t + 0x40, deadline (root) at t + 0x80
            bytes32 digest = _permitDigestAt(owner, t, t + 0x20, t + 0x40, t + 0x80);
            uint256 v;
            bytes32 r;
            bytes32 s;
            assembly ("memory-safe") {
                v := calldataload(add(t, 0xa0))
                r := calldataload(add(t, 0xc0))
                s := calldataload(add(t, 0xe0))
            }
            if (!EcdsaLib.isValidSignature(owner, digest, v, r, s)) return false;
        }
        (bool ok, uint256 proofOffset, uint256 proofLength) = _locateProof(t, sig.length - 0x24, _wordAt(t + 0x100));
        return ok && MerkleProofLib.verifyCalldata(proofOffset, proofLength, bytes32(_wordAt(t + 0x80)), hash);
    }

    /// @dev The calldata word at `offset`.
    function _wordAt(uint256 offset) private pure returns (uint256 word) {
        assembly ("memory-safe") {
            word := calldataload(offset)
        }
    }

    /// @dev Calls `token.permit(owner, spender, amount, deadline = superTxHash, v, r, s)` for the full permit tuple at
    ///      `t`. A failing permit is tolerated if the allowance already covers the amount (the permit was used).
    function _executePermit(address owner, uint256 t) private {
        bool covered;
        assembly ("memory-safe") {
            let token := calldataload(t)
            let spender := calldataload(add(t, 0x20))
            let amount := calldataload(add(t, 0x60))
            let m := mload(0x40)
            mstore(m, shl(224, 0xd505accf)) // permit(address,address,uint256,uint256,uint8,bytes32,bytes32)
            mstore(add(m, 0x04), owner)
            mstore(add(m, 0x24), spender)
            mstore(add(m, 0x44), amount)
            mstore(add(m, 0x64), calldataload(add(t, 0xc0))) // deadline = superTxHash
            calldatacopy(add(m, 0x84), add(t, 0x120), 0x60) // v, r, s
            covered := and(gt(extcodesize(token), 0), call(gas(), token, 0, m, 0xe4, 0x00, 0x00))
            if iszero(covered) {
                mstore(m, shl(224, 0xdd62ed3e)) // allowance(address,address)
                mstore(add(m, 0x04), owner)
                mstore(add(m, 0x24), spender)
                if staticcall(gas(), token, m, 0x44, 0x00, 0x20) {
                    covered := and(gt(returndatasize(), 0x1f), iszero(lt(mload(0x00), amount)))
                }
            }
        }
        if (!covered) revert PermitFailed();
    }

    // ------------------------------------------------------------------------------------------------------------
    // Internal: ERC-7739 nested EIP-712
    // ------------------------------------------------------------------------------------------------------------

    /// @dev ERC-7739 for a caller that is not a safe sender. `TypedDataSign` when the signature carries
    ///      `appDomainSeparator ‖ contents ‖ contentsDescription ‖ uint16(len)` after the ECDSA part and these rebuild
    ///      `hash`; otherwise `PersonalSign` over `hash` in the account's own EIP-712 domain.
    function _validateNestedEip712(address owner, bytes32 hash, bytes calldata sig) private view returns (bool) {
        (bool ok, bytes32[5] memory domain) = _accountDomain();
        if (!ok) return false;
        (bool typed, bytes32 digest, uint256 ecdsaLength) = _typedDataSignDigest(hash, sig, domain);
        if (typed) return digest != 0 && EcdsaLib.isValidSignature(owner, digest, sig[0:ecdsaLength]);
        bytes32 accountDomainSeparator =
            keccak256(abi.encode(DOMAIN_TYPEHASH, domain[0], domain[1], domain[2], domain[3]));
        bytes32 personalSign = keccak256(abi.encode(PERSONAL_SIGN_TYPEHASH, hash));
        return EcdsaLib.isValidSignature(
            owner, keccak256(abi.encodePacked(hex"1901", accountDomainSeparator, personalSign)), sig
        );
    }

    /// @dev The calling account's EIP-5267 domain as `[keccak(name), keccak(version), chainId, verifyingContract,
    ///      salt]`; `ok` is false if the account does not answer `eip712Domain()`.
    function _accountDomain() private view returns (bool ok, bytes32[5] memory domain) {
        try IERC5267Domain(msg.sender).eip712Domain() returns (
            bytes1, string memory domainName, string memory domainVersion, uint256 chainId, address verifyingContract,
            bytes32 salt, uint256[] memory
        ) {
            domain[0] = keccak256(bytes(domainName));
            domain[1] = keccak256(bytes(domainVersion));
            domain[2] = bytes32(chainId);
            domain[3] = bytes32(uint256(uint160(verifyingContract)));
            domain[4] = salt;
            ok = true;
        } catch {}
    }

    /// @dev ERC-7739 `TypedDataSign`: if `sig` ends with `appDomainSeparator ‖ contents ‖ contentsDescription ‖
    ///      uint16(contentsDescription.length)` and `keccak256(0x1901 ‖ appDomainSeparator ‖ contents) == hash`,
    ///      returns `typed = true`, the digest the owner must have signed (0 if the contents name is invalid) and the
    ///      length of the leading ECDSA signature.
    function _typedDataSignDigest(bytes32 hash, bytes calldata sig, bytes32[5] memory domain)
        private
        pure
        returns (bool typed, bytes32 digest, uint256 ecdsaLength)
    {
        uint256 descLength;
        {
            uint256 length = sig.length;
            if (length < 2) return (false, 0, 0);
            descLength = uint16(bytes2(sig[length - 2:length]));
            if (descLength == 0 || length < 0x42 + descLength) return (false, 0, 0);
            ecdsaLength = length - 0x42 - descLength;
        }
        bytes32 appDomainSeparator = bytes32(sig[ecdsaLength:ecdsaLength + 32]);
        bytes32 contents = bytes32(sig[ecdsaLength + 32:ecdsaLength + 64]);
        if (keccak256(abi.encodePacked(hex"1901", appDomainSeparator, contents)) != hash) return (false, 0, 0);
        (bool valid, bytes32 typehash) =
            _typedDataSignTypehash(sig[ecdsaLength + 64:ecdsaLength + 64 + descLength]);
        if (!valid) return (true, 0, ecdsaLength);
        bytes32 structHash = keccak256(abi.encode(typehash, contents, domain));
        return (true, keccak256(abi.encodePacked(hex"1901", appDomainSeparator, structHash)), ecdsaLength);
    }

    /// @dev `keccak256("TypedDataSign(" ‖ contentsName ‖ " contents,string name,string version,uint256 chainId,
    ///      address verifyingContract,bytes32 salt)" ‖ contentsType)` for an ERC-7739 contents description.
    function _typedDataSignTypehash(bytes calldata desc) private pure returns (bool valid, bytes32 typehash) {
        (bool ok, bytes calldata contentsName, bytes calldata contentsType) = _splitContentsDescription(desc);
        if (!ok) return (false, 0);
        typehash = keccak256(
            abi.encodePacked(
                "TypedDataSign(",
                contentsName,
                " contents,string name,string version,uint256 chainId,address verifyingContract,bytes32 salt)",
                contentsType
            )
        );
        valid = true;
    }

    /// @dev Splits an ERC-7739 `contentsDescription`. Implicit mode (it ends with ')'): the whole description is the
    ///      contents type and the name is its prefix up to the first '('. Explicit mode: `contentsType ‖ contentsName`,
    ///      the name being what follows the last ')'. The name must be non-empty, must not start with a-z and must
    ///      not contain NUL, space, ',', '(' or ')'.
    function _splitContentsDescription(bytes calldata desc)
        private
        pure
        returns (bool valid, bytes calldata contentsName, bytes calldata contentsType)
    {
        uint256 length = desc.length;
        contentsName = desc[0:0];
        contentsType = desc[0:0];
        if (desc[length - 1] == ")") {
            uint256 i;
            while (i < length && desc[i] != "(") ++i;
            if (i == length) return (false, contentsName, contentsType);
            contentsName = desc[0:i];
            contentsType = desc;
        } else {
            uint256 i = length;
            while (i != 0 && desc[i - 1] != ")") --i;
            contentsName = desc[i:length];
            contentsType = desc[0:i];
        }
        if (contentsName.length == 0) return (false, contentsName, contentsType);
        bytes1 first = contentsName[0];
        if (first >= "a" && first <= "z") return (false, contentsName, contentsType);
        for (uint256 j; j < contentsName.length; ++j) {
            bytes1 ch = contentsName[j];
            if (ch == 0x00 || ch == " " || ch == "," || ch == "(" || ch == ")") {
                return (false, contentsName, contentsType);
            }
        }
        valid = true;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Internal: helpers
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Safe ERC-1271 senders of the calling account: MulticallerWithSigner, the account itself, its set.
    function _isSafeSender(address sender) private view returns (bool) {
        return sender == MULTICALLER_WITH_SIGNER || sender == msg.sender
            || _safeSenderPosition[sender][msg.sender] != 0;
    }

    function _addSafeSender(address account, address sender) private {
        if (_safeSenderPosition[sender][account] != 0) return;
        uint256 count = _safeSenderCount[account];
        _safeSenderAt[count][account] = sender;
        _safeSenderPosition[sender][account] = count + 1;
        _safeSenderCount[account] = count + 1;
    }

    /// @dev Code other than an EIP-7702 delegation designator (`0xef0100 ‖ address`, 23 bytes).
    function _hasContractCode(address account) private view returns (bool result) {
        assembly ("memory-safe") {
            let size := extcodesize(account)
            if size {
                result := 1
                if eq(size, 23) {
                    extcodecopy(account, 0x00, 0, 3)
                    result := iszero(eq(shr(232, mload(0x00)), 0xef0100))
                }
            }
        }
    }

    /// @dev EIP-712 digest of `Permit(owner, spender, value, nonce, deadline)`, reading from calldata: the spender
    ///      word at `spenderAt`, the domain separator at `domainAt`, value and nonce as two words at `valueNonceAt`,
    ///      the deadline (the super-transaction root) at `deadlineAt`.
    function _permitDigestAt(address owner, uint256 spenderAt, uint256 domainAt, uint256 valueNonceAt, uint256 deadlineAt)
        private
        pure
        returns (bytes32 digest)
    {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, PERMIT_TYPEHASH)
            mstore(add(m, 0x20), owner)
            mstore(add(m, 0x40), calldataload(spenderAt))
            calldatacopy(add(m, 0x60), valueNonceAt, 0x40)
            mstore(add(m, 0xa0), calldataload(deadlineAt))
            let structHash := keccak256(m, 0xc0)
            mstore(m, 0x1901)
            mstore(add(m, 0x20), calldataload(domainAt))
            mstore(add(m, 0x40), structHash)
            digest := keccak256(add(m, 0x1e), 0x42)
        }
    }

    /// @dev Locates a `bytes32[]` whose length word is at `base + rel`, inside `[base, base + size)`.
    function _locateProof(uint256 base, uint256 size, uint256 rel)
        private
        pure
        returns (bool ok, uint256 proofOffset, uint256 proofLength)
    {
        assembly ("memory-safe") {
            // rel + 0x20 <= size, written without overflow
            if and(lt(rel, size), iszero(lt(sub(size, rel), 0x20))) {
                let rest := sub(sub(size, rel), 0x20)
                proofLength := calldataload(add(base, rel))
                proofOffset := add(add(base, rel), 0x20)
                ok := iszero(gt(proofLength, shr(5, rest)))
            }
        }
    }

    /// @dev For the simple layouts: locates the `bytes32[]` proof whose length word is at `base + rel` and the `bytes`
    ///      signature that directly follows it (the canonical ABI tail order, read the way production does), checks
    ///      both lie inside `[base, base + size)`, and folds the proof over `leaf` (sorted pairs, as
    ///      `MerkleProofLib`). `ok` is false for a malformed layout.
    function _foldProofThenSig(uint256 base, uint256 size, uint256 rel, bytes32 leaf)
        private
        pure
        returns (bool ok, bytes32 computedRoot, bytes calldata ecdsaSig)
    {
        assembly ("memory-safe") {
            ecdsaSig.offset := 0
            ecdsaSig.length := 0
            // the proof length word must fit: rel + 0x20 <= size (written without overflow)
            if and(lt(rel, size), iszero(lt(sub(size, rel), 0x20))) {
                let rest := sub(sub(size, rel), 0x20) // bytes after the proof length word
                let proofLength := calldataload(add(base, rel))
                if iszero(gt(proofLength, shr(5, rest))) {
                    rest := sub(rest, shl(5, proofLength)) // bytes after the proof items
                    let p := add(add(base, rel), 0x20)
                    let sigWord := add(p, shl(5, proofLength))
                    if iszero(lt(rest, 0x20)) {
                        let sigLength := calldataload(sigWord)
                        if iszero(gt(sigLength, sub(rest, 0x20))) {
                            ecdsaSig.offset := add(sigWord, 0x20)
                            ecdsaSig.length := sigLength
                            ok := 1
                            for {} lt(p, sigWord) { p := add(p, 0x20) } {
                                let sibling := calldataload(p)
                                let slot := shl(5, gt(leaf, sibling))
                                mstore(slot, leaf)
                                mstore(xor(slot, 0x20), sibling)
                                leaf := keccak256(0x00, 0x40)
                            }
                            computedRoot := leaf
                        }
                    }
                }
            }
        }
    }

    /// @dev Strips an ERC-6492 wrapper `abi.encode(factory, factoryCalldata, innerSig) ‖ 0x6492…6492`. A wrapper
    ///      whose inner signature lies out of bounds unwraps to an empty signature.
    function _unwrapErc6492(bytes calldata signature) private pure returns (bytes calldata result) {
        result = signature;
        assembly ("memory-safe") {
            let length := signature.length
            if gt(length, 0x7f) {
                if eq(calldataload(add(signature.offset, sub(length, 0x20))), ERC6492_MAGIC) {
                    let body := sub(length, 0x20)
                    let rel := calldataload(add(signature.offset, 0x40))
                    result.offset := 0
                    result.length := 0
                    if and(lt(rel, body), iszero(lt(sub(body, rel), 0x20))) {
                        let innerLength := calldataload(add(signature.offset, rel))
                        if iszero(gt(innerLength, sub(sub(body, rel), 0x20))) {
                            result.offset := add(add(signature.offset, rel), 0x20)
                            result.length := innerLength
                        }
                    }
                }
            }
        }
    }
}
