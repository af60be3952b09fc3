"""The quote a node would answer a request with, for stub nodes in tests: the userOps asked for (their senders,
nonces, call data, initCode and windows), a payment userOp that pulls ``fee`` of the fee token to the node, each
userOp's real ``userOpHash`` and ``meeUserOpHash``, their Merkle root as ``hash``, and the node's commitment over it.
The SDK checks all of that before it signs (``smartsessions.mee.verify``), so a stub must answer consistently."""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount

from smartsessions.account.calls import Call, encode_execute_single
from smartsessions.encoding.abi import encode_function_call
from smartsessions.encoding.quote import SuperTxEntry, get_super_tx_tree
from smartsessions.encoding.userop import get_mee_user_op_hash, get_user_op_hash
from smartsessions.signer import personal_sign
from smartsessions.wire.mee import FilledUserOp, from_wire

#: A node paymaster's paymasterAndData: its address, 25,000 verification and 50,000 postOp gas, "refund the user".
PAYMASTER = (
    "0x" + "f33d".rjust(40, "0") + (25_000).to_bytes(16, "big").hex() + (50_000).to_bytes(16, "big").hex() + "170de000"
)


def consistent_quote(
    request: dict[str, Any],
    *,
    node: LocalAccount,
    fee: int,
    default_window: tuple[int, int] = (0, 0),
    gas: dict[str, str] | None = None,
    extra_keys: tuple[str, ...] = ("sessionDetails",),
    pay_to: str | None = None,
    paymaster: str = PAYMASTER,
) -> dict[str, Any]:
    """``request`` (a ``/quote`` body) answered: see the module docstring. ``gas``: the filled gas fields;
    ``extra_keys``: the request userOp keys the quote repeats; ``pay_to``: the fee's recipient (the node's address
    by default); ``paymaster``: every userOp's paymasterAndData."""
    pay = request["paymentInfo"]
    pay_to = pay_to or node.address
    gas = gas or {"maxFeePerGas": "2", "maxPriorityFeePerGas": "1", "preVerificationGas": "1"}
    if pay.get("eoa") and request["quoteType"] != "simple":
        pull = encode_function_call("transferFrom(address,address,uint256)", [pay["eoa"], pay_to, fee])
    else:
        pull = encode_function_call("transfer(address,uint256)", [pay_to, fee])
    payment = {**pay, "callData": "0x" + bytes(encode_execute_single(Call(to=pay["token"], data=pull))).hex()}

    def filled(op: dict[str, Any]) -> dict[str, Any]:
        user_op = {
            "sender": op["sender"], "nonce": str(op["nonce"]), "initCode": op.get("initCode", "0x"),
            "callData": op.get("callData", "0x"), "callGasLimit": str(op["callGasLimit"]),
            "verificationGasLimit": str(op.get("verificationGasLimit", "150000")), "paymasterAndData": paymaster, **gas,
        }  # fmt: skip
        lower = int(op.get("lowerBoundTimestamp", default_window[0]))
        upper = int(op.get("upperBoundTimestamp", default_window[1]))
        user_op_hash = get_user_op_hash(from_wire(FilledUserOp, user_op).to_packed(), chain_id=int(op["chainId"]))
        mee_hash = get_mee_user_op_hash(user_op_hash, lower_bound_timestamp=lower, upper_bound_timestamp=upper)
        return {
            "userOp": user_op, "userOpHash": "0x" + bytes(user_op_hash).hex(),
            "meeUserOpHash": "0x" + bytes(mee_hash).hex(), "lowerBoundTimestamp": str(lower),
            "upperBoundTimestamp": str(upper), "maxGasLimit": "1000000", "maxFeePerGas": gas["maxFeePerGas"],
            "chainId": str(op["chainId"]), "shortEncoding": bool(op.get("shortEncoding")),
            **{key: op[key] for key in extra_keys if key in op},
        }  # fmt: skip

    user_ops = [filled(payment)] + [filled(op) for op in request["userOps"]]
    entries = [
        SuperTxEntry(
            user_op_hash=op["userOpHash"], lower_bound_timestamp=int(op["lowerBoundTimestamp"]),
            upper_bound_timestamp=int(op["upperBoundTimestamp"]), short_encoding=op["shortEncoding"],
        )
        for op in user_ops
    ]  # fmt: skip
    root = get_super_tx_tree(entries).root
    return {
        "hash": "0x" + bytes(root).hex(),
        "node": node.address,
        "commitment": "0x" + bytes(personal_sign(node, root)).hex(),  # as a node commits to its quote
        "quoteType": request["quoteType"],
        "paymentInfo": {**pay, "tokenWeiAmount": str(fee)},
        "userOps": user_ops,
    }
