"""The ERC-2612 permit a fusion quote is funded with: what signing it needs, read from the trigger token before
the quote (its nonce for the owner, and its EIP-712 domain, checked against its ``DOMAIN_SEPARATOR()`` so that a
permit is never signed for a domain the token would not accept)."""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi.abi import decode as abi_decode

from .._coerce import to_address
from ..account.multichain import NexusDeployment
from ..encoding.abi import encode_function_call
from ..encoding.eip712 import domain_separator
from ..errors import ConfigurationError, RpcError
from ..rpc import return_data

__all__ = ["PermitToken", "read_permit_token"]


@dataclass(frozen=True)
class PermitToken:
    """What signing an ERC-2612 permit of the trigger token needs, read from the token before quoting."""

    token: str
    chain_id: int
    owner: str
    spender: str
    nonce: int
    domain_separator: bytes


def _domain_matches(name: str, version: str, chain_id: int, contract: str, salt: bytes, separator: bytes) -> bool:
    """One of the three domain forms a permit can be signed for hashes to the token's ``DOMAIN_SEPARATOR()``: with
    a salt and no chain id (the legacy form), with the chain id and no salt (the usual one), with both."""
    forms = [
        domain_separator(name=name, version=version, verifying_contract=contract, salt=salt),
        domain_separator(name=name, version=version, chain_id=chain_id, verifying_contract=contract),
        domain_separator(name=name, version=version, chain_id=chain_id, verifying_contract=contract, salt=salt),
    ]
    return separator in forms


async def read_permit_token(deployment: NexusDeployment, token: str, owner: str, chain_id: int) -> PermitToken:
    """``nonces(owner)``, ``name()``, ``version()``, ``DOMAIN_SEPARATOR()`` and ``eip712Domain()`` in one batch."""
    reads = {
        "nonces(owner)": encode_function_call("nonces(address)", [owner]),
        "name()": bytes.fromhex("06fdde03"),
        "version()": bytes.fromhex("54fd4d50"),
        "DOMAIN_SEPARATOR()": bytes.fromhex("3644e515"),
        "eip712Domain()": bytes.fromhex("84b0196e"),
    }
    results = await deployment.rpc.batch(
        [("eth_call", [{"to": token, "data": "0x" + s.hex()}, "latest"]) for s in reads.values()], return_errors=True
    )
    # A reverted call is a function the token does not have; an answer that is not hex data is the endpoint's fault.
    raw = [
        None if isinstance(r, RpcError) else return_data(r, what=f"{name} of the token {token}") or None
        for name, r in zip(reads, results, strict=True)
    ]
    nonce_raw, name_raw, version_raw, separator_raw, domain_raw = raw
    problem = None
    if nonce_raw is None:
        problem = "it has no nonces(owner), which EIP-2612 requires"
    elif len(nonce_raw) < 32:
        problem = f"its nonces(owner) answered {len(nonce_raw)} bytes, not a uint256"
    elif separator_raw is None:
        problem = "it has no DOMAIN_SEPARATOR()"
    name = version = None
    salt, domain_chain, contract = chain_id.to_bytes(32, "big"), chain_id, token
    if problem is None:
        try:
            if name_raw is not None:
                name = str(abi_decode(["string"], name_raw)[0])
            if version_raw is not None:
                version = str(abi_decode(["string"], version_raw)[0])
            if domain_raw is not None:
                _f, name_, version_, chain_, contract_, salt_, _ext = abi_decode(
                    ["bytes1", "string", "string", "uint256", "address", "bytes32", "uint256[]"], domain_raw
                )
                name, version = str(name_), str(version_)
                domain_chain, contract, salt = int(chain_), to_address(contract_, field="verifyingContract"), salt_
        except Exception as exc:  # malformed token answers: explained below
            problem = f"its metadata does not decode ({type(exc).__name__})"
    if problem is None and name is None:
        problem = "it has neither name() nor eip712Domain()"
    separator = b"" if separator_raw is None else separator_raw[:32]
    if problem is None and not _domain_matches(
        str(name), version or "1", domain_chain, contract, bytes(salt), separator
    ):
        problem = "its DOMAIN_SEPARATOR() matches none of the EIP-712 domain forms a permit can be signed for"
    if problem is not None:
        raise ConfigurationError(
            "trigger.token_address",
            f"{token} on chain {chain_id} cannot be used as a permit trigger: {problem}",
            fix="use get_fusion_quote(..., quote_type='onchain') (the EOA sends an approve transaction), or a token "
            "with ERC-2612 permit",
        )
    assert nonce_raw is not None
    return PermitToken(
        token=token,
        chain_id=chain_id,
        owner=owner,
        spender=deployment.address,
        nonce=int.from_bytes(nonce_raw[:32], "big"),
        domain_separator=separator,
    )
