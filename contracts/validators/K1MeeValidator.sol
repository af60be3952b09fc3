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
///      - anything else: a plain 65- or 64-byte ECDSA signature over the hash (raw, then EIP-191 personal message).
///      A well-formed signature by the wrong key is reported (SIG_VALIDATION_FAILED / false / 0xffffffff), never
///      reverted, so that gas can be estimated with placeholder signatures of the right shape; a failing well-formed
///      signature runs the same ecrecover calls as the dearest valid one. What production (1.0.1) accepts and how
///      it fails on anything else is reproduced, checked by differential tests against its bytecode:
///      - a signature shorter than 4 bytes (3 for ERC-1271) reverts with empty revert data (production slices it);
///      - ECDSA follows Solady's `tryRecover` (see `EcdsaLib.isValidSignature`): 64 or 65 bytes, any s, and a
///        recovery that fails matches a zero signer (possible only in `validateSignatureWithData`);
///      - malformed MEE layouts revert as production's readers do: its unchecked pointer arithmetic, then copies to
///        memory with the ABI decoder's checks (`_copyFault`, `_decodePermit`: empty revert data or Panic(0x41)),
///        and in on-chain mode the decoder's panics and error strings (see `SignedTxLib`). There a malformed
///        signature fails validation with AA23, as in production, rather than AA24.
///      The other production reverts kept here: `InvalidDataLength` (session data < 20 bytes), `PermitFailed` (a
///      correctly signed permit that can not be applied), `InvalidSignature` (high s in the ERC-7739 branch of
///      ERC-1271).
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

    /// @dev The ERC-7739 path reverts `InvalidSignature` when the signature's second word exceeds n/2.
    uint256 private constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    /// @dev Production's free-memory pointer where it copies a signature part from calldata to memory, which decides
    ///      which absurd lengths panic (0x41) rather than revert (see `_copyFault`). Measured on the production
    ///      bytecode: 0x80 at the start of userOp and session validation; 0xe0 in the ERC-1271 MEE flow (after the
    ///      `abi.encodePacked(hash, account)`) and 0x80 in its ERC-7739 safe-sender check. The modes add their own
    ///      allocations before the copy: simple full layout 0xc0 (the MEE userOp hash), permit full 0x1a0 and
    ///      short 0x120 (the decoded tuple), on-chain short 0xe0.
    uint256 private constant MEM_USER_OP = 0x80;
    uint256 private constant MEM_SESSION = 0x80;
    uint256 private constant MEM_ERC1271 = 0xe0;
    uint256 private constant MEM_ERC1271_SAFE_CALLER = 0x80;
    uint256 private constant MEM_SIMPLE_FULL = 0xc0;
    uint256 private constant MEM_PERMIT_FULL = 0x1a0;
    uint256 private constant MEM_PERMIT_SHORT = 0x120;
    uint256 private constant MEM_ON_CHAIN_SHORT = 0xe0;
    /// @dev In the ERC-7739 nested `PersonalSign` flow the pointer follows the two `eip712Domain()` answers of the
    ///      account: 0x5a0 for the devnet's Nexus accounts. (In the `TypedDataSign` flow no length can reach the
    ///      band where the pointer matters: the appended data must lie in the calldata, so the length is small.)
    uint256 private constant MEM_ERC1271_PERSONAL_SIGN = 0x5a0;

    /// @dev `_copyFault` results: Solidity's allocation panic code, and a copy past the end of the calldata.
    uint256 private constant PANIC_ALLOCATION = 0x41;
    uint256 private constant FAULT_OUT_OF_CALLDATA = 1;

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
        bytes calldata sig = userOp.signature;
        // production reads the type as `signature[0:4]`: an out-of-range slice, empty revert data
        if (sig.length < 4) revert();
        address owner = getOwner(userOp.sender);
        uint256 sigType = _sigType(sig);
        if (sigType == SIG_TYPE_SIMPLE) return _validateSimpleFull(owner, userOpHash, sig);
        if (sigType == SIG_TYPE_ERC20_PERMIT) return _validatePermitFull(owner, userOpHash, sig);
        if (sigType == SIG_TYPE_ON_CHAIN) return _validateOnChainFull(owner, userOpHash, sig);
        return EcdsaLib.isValidSignature(owner, userOpHash, sig) ? 0 : SIG_VALIDATION_FAILED;
    }

    /// @notice ERC-1271 for the calling account (`msg.sender`), with `sender` the caller of the account.
    /// @dev `0x177eee…` signatures: MEE flow over `keccak256(hash ‖ account)` with the short layouts. Otherwise the
    ///      ERC-7739 flow: a plain owner signature is accepted for safe senders; other senders need the nested
    ///      EIP-712 `TypedDataSign` or `PersonalSign` wrapping. ERC-6492 wrappers are stripped first (both flows).
    ///      A signature shorter than 3 bytes reverts with empty revert data, as production's `signature[0:3]`, the
    ///      empty one of ERC-7739 detection included.
    function isValidSignatureWithSender(address sender, bytes32 hash, bytes calldata signature)
        external
        view
        override
        returns (bytes4)
    {
        if (signature.length < 3) revert();
        bytes calldata sig = _unwrapErc6492(signature);
        uint256 prefix;
        assembly ("memory-safe") {
            prefix := shr(232, calldataload(signature.offset))
        }
        if (prefix == SIG_TYPE_MEE_FLOW) {
            bytes32 accountHash;
            assembly ("memory-safe") {
                mstore(0x00, hash)
                mstore(0x20, shl(96, caller()))
                accountHash := keccak256(0x00, 0x34)
            }
            return _validateForOwner(getOwner(msg.sender), accountHash, sig, MEM_ERC1271)
                ? ERC1271_MAGIC_VALUE
                : ERC1271_INVALID;
        }

        if (sig.length == 0 && uint256(hash) == ERC7739_DETECTION_HASH) return SUPPORTS_ERC7739_V1;
        // production reads s as the calldata word at offset 32 of the signature, whatever its length
        if (_wordAt(_offsetPlus(sig, 0x20)) > HALF_N) revert InvalidSignature();

        address owner = getOwner(msg.sender);
        if (_isSafeSender(sender)) {
            _raise(_bytesCopyFault(sig, MEM_ERC1271_SAFE_CALLER));
            if (EcdsaLib.isValidSignature(owner, hash, sig)) return ERC1271_MAGIC_VALUE;
        }
        return _validateNestedEip712(owner, hash, sig) ? ERC1271_MAGIC_VALUE : ERC1271_INVALID;
    }

    /// @notice ISessionValidator: `data` starts with the session signer (20 bytes); `sig` is a plain signature or an
    ///         MEE short-layout signature whose leaf is `hash` (SmartSessions passes the userOpHash).
    /// @dev As in production, a zero signer (`data` starting with 20 zero bytes) accepts any signature that does not
    ///      recover (see `EcdsaLib.isValidSignature`).
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
        return _validateForOwner(owner, hash, sig, MEM_SESSION);
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
    //
    // Malformed MEE layouts fail as in production (K1MeeValidator 1.0.1), which reads them with unchecked pointer
    // arithmetic and then copies the parts it needs to memory, with the checks of Solidity's ABI decoder (see
    // `_copyFault`): a well-formed signature by the wrong key is reported, a malformed one may revert (AA23 for a
    // userOp, a revert of the ERC-1271 or session-validation call).

    /// @dev The first four bytes of `sig` as a number (`sig` has at least four bytes; it may lie past the end of the
    ///      calldata after an ERC-6492 unwrap, then it reads as zeros).
    function _sigType(bytes calldata sig) private pure returns (uint256 sigType) {
        assembly ("memory-safe") {
            sigType := shr(224, calldataload(sig.offset))
        }
    }

    /// @dev Short layouts (ERC-1271 MEE flow and session validation): the leaf is `hash` itself. `mem` is production's
    ///      free-memory pointer on entry (see `MEM_SESSION`). Reverts, as production, for a signature shorter than 4
    ///      bytes.
    function _validateForOwner(address owner, bytes32 hash, bytes calldata sig, uint256 mem)
        private
        view
        returns (bool)
    {
        if (sig.length < 4) revert();
        uint256 sigType = _sigType(sig);
        if (sigType == SIG_TYPE_SIMPLE) return _validateSimpleShort(owner, hash, sig, mem);
        if (sigType == SIG_TYPE_ERC20_PERMIT) return _validatePermitShort(owner, hash, sig, mem + MEM_PERMIT_SHORT);
        if (sigType == SIG_TYPE_ON_CHAIN) return _validateOnChainShort(owner, hash, sig, mem + MEM_ON_CHAIN_SHORT);
        _raise(_bytesCopyFault(sig, mem));
        return EcdsaLib.isValidSignature(owner, hash, sig);
    }

    /// @dev `0x177eee00 ‖ abi.encode(bytes32 root, uint48 lower, uint48 upper, bytes32[] proof, bytes sig)`. The
    ///      timestamps are read as whole words and keep their low 48 bits (production's uint48 variables).
    function _validateSimpleFull(address owner, bytes32 userOpHash, bytes calldata sig)
        private
        view
        returns (uint256 validationData)
    {
        uint256 base = _tail(sig);
        assembly ("memory-safe") {
            // validUntil = upper, validAfter = lower; the shifts drop the bits above 48
            let upper := and(calldataload(add(base, 0x40)), 0xffffffffffff)
            validationData := or(shl(160, upper), shl(208, calldataload(add(base, 0x20))))
        }
        bytes32 leaf = _meeLeaf(userOpHash, validationData);
        if (!_simpleProven(owner, bytes32(_wordAt(base)), leaf, base, base + 0x60, MEM_USER_OP + MEM_SIMPLE_FULL)) {
            return SIG_VALIDATION_FAILED;
        }
    }

    /// @dev `0x177eee00 ‖ abi.encode(bytes32 root, bytes32[] proof, bytes sig)`, leaf = `hash`.
    function _validateSimpleShort(address owner, bytes32 hash, bytes calldata sig, uint256 mem)
        private
        view
        returns (bool)
    {
        uint256 base = _tail(sig);
        return _simpleProven(owner, bytes32(_wordAt(base)), hash, base, base + 0x20, mem);
    }

    /// @dev Simple mode as production reads it: the word at `relAt` is the proof's offset from `base`; the proof's
    ///      length word, its items, then the signature's length word and bytes follow one another (the canonical ABI
    ///      tail order), located with wrapping arithmetic and no bounds. The signature is copied and checked first: a
    ///      copy fault reverts, a wrong signer is reported; only then is the proof copied (a fault reverts) and
    ///      folded over `leaf`. The fold is computed before the signature check when the proof can be copied, so that
    ///      a failing well-formed signature costs what a valid one does.
    function _simpleProven(address owner, bytes32 root, bytes32 leaf, uint256 base, uint256 relAt, uint256 mem)
        private
        view
        returns (bool)
    {
        uint256 proofAt;
        uint256 proofLength;
        bytes calldata ecdsaSig;
        assembly ("memory-safe") {
            let at := add(base, calldataload(relAt))
            proofLength := calldataload(at)
            proofAt := add(at, 0x20)
            at := add(proofAt, mul(proofLength, 0x20))
            ecdsaSig.length := calldataload(at)
            ecdsaSig.offset := add(at, 0x20)
        }
        _raise(_bytesCopyFault(ecdsaSig, mem));
        // the signature's copy is allocated: 32 bytes of length, then its bytes rounded up to a word
        mem += 0x20 + ((ecdsaSig.length + 31) & ~uint256(31));
        uint256 proofFault = _copyFault(proofAt, proofLength, true, mem);
        bool proven = proofFault == 0 && MerkleProofLib.verifyCalldata(proofAt, proofLength, root, leaf);
        if (!EcdsaLib.isValidSignature(owner, root, ecdsaSig)) return false;
        _raise(proofFault);
        return proven;
    }

    /// @dev `0x177eee01 ‖ txType ‖ rlpSignedTx ‖ proof items ‖ uint8 proofCount ‖ uint48 lower ‖ uint48 upper`, leaf
    ///      `keccak256(keccak256(abi.encode(userOpHash, lower, upper)))`, root = the last 32 bytes of the tx data.
    ///      A malformed layout reverts as in production (see `SignedTxLib`).
    function _validateOnChainFull(address owner, bytes32 userOpHash, bytes calldata sig)
        private
        view
        returns (uint256 validationData)
    {
        (uint256 rlpEnd, uint256 proofCount) = SignedTxLib.split(_tail(sig), sig.length - 4, 12);
        // a userOp signature lies inside the calldata, so the copy of its RLP part never faults
        assembly ("memory-safe") {
            let tail := add(sig.offset, sig.length)
            let lower := shr(208, calldataload(sub(tail, 12)))
            let upper := shr(208, calldataload(sub(tail, 6)))
            validationData := or(shl(160, upper), shl(208, lower))
        }
        bytes32 leaf = _meeLeaf(userOpHash, validationData);
        if (!_validateOnChainTx(owner, _tail(sig), rlpEnd, proofCount, leaf)) return SIG_VALIDATION_FAILED;
    }

    /// @dev `0x177eee01 ‖ txType ‖ rlpSignedTx ‖ proof items ‖ uint8 proofCount`, leaf = `hash`. A malformed layout
    ///      reverts as in production (see `SignedTxLib`; after the split, production copies the RLP part to memory).
    function _validateOnChainShort(address owner, bytes32 hash, bytes calldata sig, uint256 mem)
        private
        view
        returns (bool)
    {
        uint256 start = _tail(sig);
        (uint256 rlpEnd, uint256 proofCount) = SignedTxLib.split(start, sig.length - 4, 0);
        unchecked {
            _raise(_copyFault(start + 1, rlpEnd - start - 1, false, mem));
        }
        return _validateOnChainTx(owner, start, rlpEnd, proofCount, hash);
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

    /// @dev Calldata offset of the payload after the 4-byte signature type (modulo 2^256).
    function _tail(bytes calldata sig) private pure returns (uint256 base) {
        assembly ("memory-safe") {
            base := add(sig.offset, 4)
        }
    }

    /// @dev `0x177eee02 ‖ abi.encode((address token, address spender, bytes32 domainSeparator, uint256 amount,
    ///      uint256 nonce, bool isPermitTx, bytes32 superTxHash, uint48 lower, uint48 upper, uint8 v, bytes32 r,
    ///      bytes32 s, bytes32[] proof))`. The tuple is dynamic: its offset word (0x20) is skipped, as in production,
    ///      which decodes the tuple first (see `_decodePermit`).
    function _validatePermitFull(address owner, bytes32 userOpHash, bytes calldata sig) private returns (uint256) {
        // t: start of the tuple head (13 words), after the type and the tuple offset word
        uint256 t = _offsetPlus(sig, 0x24);
        (uint256 proofOffset, uint256 proofLength) = _decodePermit(t, true, MEM_USER_OP + MEM_PERMIT_FULL);
        uint256 validationData;
        assembly ("memory-safe") {
            validationData := or(shl(160, calldataload(add(t, 0x100))), shl(208, calldataload(add(t, 0xe0))))
        }
        bytes32 leaf = _meeLeaf(userOpHash, validationData);
        // The permit signature first (production order; keeps placeholder gas estimates at the valid-path cost).
        {
            // spender at t + 0x20, domainSeparator at t + 0x40, amount and nonce at t + 0x60, deadline at t + 0xc0
            bytes32 digest = _permitDigestAt(owner, t + 0x20, t + 0x40, t + 0x60, t + 0xc0);
            if (!EcdsaLib.isValidSignature(owner, digest, _wordAt(t + 0x120), _word32(t + 0x140), _word32(t + 0x160))) {
                return SIG_VALIDATION_FAILED;
            }
        }
        if (!MerkleProofLib.verifyCalldata(proofOffset, proofLength, _word32(t + 0xc0), leaf)) {
            return SIG_VALIDATION_FAILED;
        }
        if (_wordAt(t + 0xa0) != 0) _executePermit(owner, t);
        return validationData;
    }

    /// @dev `0x177eee02 ‖ abi.encode((address spender, bytes32 domainSeparator, uint256 amount, uint256 nonce,
    ///      bytes32 superTxHash, uint8 v, bytes32 r, bytes32 s, bytes32[] proof))`, leaf = `hash`, owner = the permit
    ///      owner. No token call. Decoded first, as the full layout.
    function _validatePermitShort(address owner, bytes32 hash, bytes calldata sig, uint256 mem)
        private
        view
        returns (bool)
    {
        uint256 t = _offsetPlus(sig, 0x24);
        (uint256 proofOffset, uint256 proofLength) = _decodePermit(t, false, mem);
        // spender at t, domainSeparator at t + 0x20, amount and nonce at t + 0x40, deadline (root) at t + 0x80
        bytes32 digest = _permitDigestAt(owner, t, t + 0x20, t + 0x40, t + 0x80);
        if (!EcdsaLib.isValidSignature(owner, digest, _wordAt(t + 0xa0), _word32(t + 0xc0), _word32(t + 0xe0))) {
            return false;
        }
        return MerkleProofLib.verifyCalldata(proofOffset, proofLength, _word32(t + 0x80), hash);
    }

    /// @dev Production copies the permit tuple whose head starts at calldata offset `t` to memory (at free-memory
    ///      pointer `mem`) with Solidity's ABI decoder, against the end of the calldata (not of the signature): a
    ///      head running past it, a dirty address, bool, uint48 or uint8 word, a proof offset above 2^64 - 1 or a
    ///      proof whose length word or items run past it revert with empty revert data; a proof too long to allocate
    ///      panics (0x41, see `_copyFault`).
    /// @return proofOffset Calldata offset of the proof items.
    /// @return proofLength Their number.
    function _decodePermit(uint256 t, bool full, uint256 mem)
        private
        pure
        returns (uint256 proofOffset, uint256 proofLength)
    {
        assembly ("memory-safe") {
            // full: token, spender (addresses), isPermitTx (bool), lower, upper (uint48), v (uint8), proof at word 12;
            // short: spender (address), v (uint8), proof at word 8
            let head := 0x120
            let dirty := or(shr(160, calldataload(t)), gt(calldataload(add(t, 0xa0)), 0xff))
            if full {
                head := 0x1a0
                dirty := or(
                    or(shr(160, or(calldataload(t), calldataload(add(t, 0x20)))), gt(calldataload(add(t, 0xa0)), 1)),
                    or(shr(48, or(calldataload(add(t, 0xe0)), calldataload(add(t, 0x100)))), gt(calldataload(add(t, 0x120)), 0xff))
                )
            }
            if or(slt(sub(calldatasize(), t), head), dirty) { revert(0x00, 0x00) }
            let rel := calldataload(add(t, sub(head, 0x20)))
            if gt(rel, 0xffffffffffffffff) { revert(0x00, 0x00) }
            let at := add(t, rel)
            if iszero(slt(add(at, 0x1f), calldatasize())) { revert(0x00, 0x00) }
            proofLength := calldataload(at)
            proofOffset := add(at, 0x20)
        }
        _raise(_copyFault(proofOffset, proofLength, true, mem));
    }

    /// @dev The calldata word at `offset`.
    function _wordAt(uint256 offset) private pure returns (uint256 word) {
        assembly ("memory-safe") {
            word := calldataload(offset)
        }
    }

    /// @dev The calldata word at `offset`, as bytes32.
    function _word32(uint256 offset) private pure returns (bytes32 word) {
        assembly ("memory-safe") {
            word := calldataload(offset)
        }
    }

    /// @dev `sig.offset + delta` modulo 2^256 (an ERC-6492-unwrapped signature may start anywhere).
    function _offsetPlus(bytes calldata sig, uint256 delta) private pure returns (uint256 at) {
        assembly ("memory-safe") {
            at := add(sig.offset, delta)
        }
    }

    /// @dev Calls `token.permit(owner, spender, amount, deadline = superTxHash, v, r, s)` for the full permit tuple at
    ///      `t`, as production's `try … catch`: a token without code reverts (empty revert data, Solidity's check
    ///      before the call); a failing permit is tolerated if `allowance(owner, spender)` already covers the amount
    ///      (the permit was used), whose own revert is passed on, and a reply shorter than a word reverts (empty).
    function _executePermit(address owner, uint256 t) private {
        bool covered;
        assembly ("memory-safe") {
            let token := calldataload(t)
            let spender := calldataload(add(t, 0x20))
            let amount := calldataload(add(t, 0x60))
            if iszero(extcodesize(token)) { revert(0x00, 0x00) }
            let m := mload(0x40)
            mstore(m, shl(224, 0xd505accf)) // permit(address,address,uint256,uint256,uint8,bytes32,bytes32)
            mstore(add(m, 0x04), owner)
            mstore(add(m, 0x24), spender)
            mstore(add(m, 0x44), amount)
            mstore(add(m, 0x64), calldataload(add(t, 0xc0))) // deadline = superTxHash
            calldatacopy(add(m, 0x84), add(t, 0x120), 0x60) // v, r, s
            covered := call(gas(), token, 0, m, 0xe4, 0x00, 0x00)
            if iszero(covered) {
                mstore(m, shl(224, 0xdd62ed3e)) // allowance(address,address)
                mstore(add(m, 0x04), owner)
                mstore(add(m, 0x24), spender)
                if iszero(staticcall(gas(), token, m, 0x44, 0x00, 0x20)) {
                    returndatacopy(m, 0x00, returndatasize())
                    revert(m, returndatasize())
                }
                if lt(returndatasize(), 0x20) { revert(0x00, 0x00) }
                covered := iszero(lt(mload(0x00), amount))
            }
        }
        if (!covered) revert PermitFailed();
    }

    /// @dev The fault of production's copy of a calldata array to memory (Solidity's ABI decoder, at free-memory
    ///      pointer `mem`): `PANIC_ALLOCATION` (0x41) for a length above 2^64 - 1 or an allocation (a length word,
    ///      then the bytes rounded up to a word) ending past 2^64 - 1; `FAULT_OUT_OF_CALLDATA` (empty revert data) for
    ///      an array ending past the calldata (the sum taken modulo 2^256, as production); 0 if it copies.
    /// @param words True for a `bytes32[]` of `length` items, false for `bytes` of `length` bytes.
    function _copyFault(uint256 at, uint256 length, bool words, uint256 mem) private pure returns (uint256 fault) {
        assembly ("memory-safe") {
            switch gt(length, 0xffffffffffffffff)
            case 1 { fault := PANIC_ALLOCATION }
            default {
                let size := length
                if words { size := shl(5, length) }
                let end := add(mem, add(0x20, and(add(size, 31), not(31))))
                switch gt(end, 0xffffffffffffffff)
                case 1 { fault := PANIC_ALLOCATION }
                default { if gt(add(at, size), calldatasize()) { fault := FAULT_OUT_OF_CALLDATA } }
            }
        }
    }

    /// @dev `_copyFault` for the `bytes` `b`.
    function _bytesCopyFault(bytes calldata b, uint256 mem) private pure returns (uint256) {
        uint256 at;
        assembly ("memory-safe") {
            at := b.offset
        }
        return _copyFault(at, b.length, false, mem);
    }

    /// @dev Reverts for a `_copyFault` result: Panic(0x41), or empty revert data.
    function _raise(uint256 fault) private pure {
        if (fault == 0) return;
        assembly ("memory-safe") {
            if eq(fault, FAULT_OUT_OF_CALLDATA) { revert(0x00, 0x00) }
            mstore(0x00, 0x4e487b71)
            mstore(0x20, fault)
            revert(0x1c, 0x24)
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Internal: ERC-7739 nested EIP-712
    // ------------------------------------------------------------------------------------------------------------

    /// @dev ERC-7739 for a caller that is not a safe sender. `TypedDataSign` when the signature carries
    ///      `appDomainSeparator ‖ contents ‖ contentsDescription ‖ uint16(len)` after the ECDSA part and these rebuild
    ///      `hash`; otherwise `PersonalSign` over `hash` in the account's own EIP-712 domain.
    function _validateNestedEip712(address owner, bytes32 hash, bytes calldata sig) private view returns (bool) {
        bytes32[5] memory domain = _accountDomain();
        (bool typed, bytes32 digest, uint256 ecdsaLength) = _typedDataSignDigest(hash, sig, domain);
        if (typed) {
            bytes calldata ecdsaSig = sig[0:ecdsaLength];
            _raise(_bytesCopyFault(ecdsaSig, MEM_ERC1271_SAFE_CALLER));
            return digest != 0 && EcdsaLib.isValidSignature(owner, digest, ecdsaSig);
        }
        _raise(_bytesCopyFault(sig, MEM_ERC1271_PERSONAL_SIGN));
        bytes32 accountDomainSeparator =
            keccak256(abi.encode(DOMAIN_TYPEHASH, domain[0], domain[1], domain[2], domain[3]));
        bytes32 personalSign = keccak256(abi.encode(PERSONAL_SIGN_TYPEHASH, hash));
        return EcdsaLib.isValidSignature(
            owner, keccak256(abi.encodePacked(hex"1901", accountDomainSeparator, personalSign)), sig
        );
    }

    /// @dev The calling account's EIP-5267 domain as `[keccak(name), keccak(version), chainId, verifyingContract,
    ///      salt]`. As in production, a caller that does not answer `eip712Domain()` makes the call revert (its
    ///      revert data, or empty revert data for no code or an undecodable answer).
    function _accountDomain() private view returns (bytes32[5] memory domain) {
        (, string memory domainName, string memory domainVersion, uint256 chainId, address verifyingContract, bytes32 salt,)
        = IERC5267Domain(msg.sender).eip712Domain();
        domain[0] = keccak256(bytes(domainName));
        domain[1] = keccak256(bytes(domainVersion));
        domain[2] = bytes32(chainId);
        domain[3] = bytes32(uint256(uint160(verifyingContract)));
        domain[4] = salt;
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

    /// @dev Strips an ERC-6492 wrapper `abi.encode(factory, factoryCalldata, innerSig) ‖ 0x6492…6492` as production
    ///      does (`ERC7739Validator._erc1271UnwrapSignature`): if the last 32 bytes are the magic, the inner signature
    ///      is the `bytes` whose offset (from the start of the signature) is the third word; nothing is bounded, so
    ///      the result may claim any length and lie anywhere, even past the end of the calldata (read as zeros).
    function _unwrapErc6492(bytes calldata signature) private pure returns (bytes calldata result) {
        result = signature;
        assembly ("memory-safe") {
            if eq(calldataload(add(signature.offset, sub(signature.length, 0x20))), ERC6492_MAGIC) {
                let at := add(signature.offset, calldataload(add(signature.offset, 0x40)))
                result.length := calldataload(at)
                result.offset := add(at, 0x20)
            }
        }
    }
}
