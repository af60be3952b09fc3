"""Multicall3 at 0xcA11…CA11: the calls viem's `multicall` makes (aggregate3, every call allowed to fail) return each
call's data, a failing call is reported without spoiling the batch, and the reference SDK's permit reads go through it
instead of falling back to on-chain mode."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode

from smartsessions.devnet.artifacts import decode_revert, load_artifact
from smartsessions.devnet.deploy import MULTICALL3_ADDRESS, usdc_address
from smartsessions.encoding.abi import encode_function_call, selector
from smartsessions.rpc import RpcRevertError

from .flows import COUNTER, counter_value
from .harness import Chain, RevertedError

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "reference" / "permit_multicall.mjs"
CALL3 = "(address,bool,bytes)[]"
CALL = "(address,bytes)[]"
RESULTS = "(bool,bytes)[]"
CALL_FAILED = "Error(message=Multicall3: call failed)"

#: The production Multicall3's functions (selectors are what callers depend on).
CANONICAL = [
    "aggregate((address,bytes)[])",
    "aggregate3((address,bool,bytes)[])",
    "aggregate3Value((address,bool,uint256,bytes)[])",
    "blockAndAggregate((address,bytes)[])",
    "getBasefee()",
    "getBlockHash(uint256)",
    "getBlockNumber()",
    "getChainId()",
    "getCurrentBlockCoinbase()",
    "getCurrentBlockDifficulty()",
    "getCurrentBlockGasLimit()",
    "getCurrentBlockTimestamp()",
    "getEthBalance(address)",
    "getLastBlockHash()",
    "tryAggregate(bool,(address,bytes)[])",
    "tryBlockAndAggregate(bool,(address,bytes)[])",
]


def _call3(chain: Chain, calls: list[tuple[str, bool, bytes]]) -> list[tuple[bool, bytes]]:
    """``aggregate3`` exactly as viem encodes it (an ``eth_call`` with ``[(target, allowFailure, callData)]``)."""
    raw = chain.rpc.call(MULTICALL3_ADDRESS, selector(f"aggregate3({CALL3})") + abi_encode([CALL3], [calls]))
    [results] = abi_decode([RESULTS], raw)
    return [(bool(ok), bytes(data)) for ok, data in results]


def _revert_data(chain: Chain, to: str, data: bytes) -> bytes:
    with pytest.raises(RpcRevertError) as err:
        chain.rpc.call(to, data, sender=MULTICALL3_ADDRESS)
    return bytes(err.value.revert_data)


def _word(value: bytes) -> int:
    return int.from_bytes(value, "big")


def _string(value: bytes) -> str:
    [text] = abi_decode(["string"], value)
    return str(text)


def test_abi_is_the_production_one() -> None:
    abi = load_artifact("Multicall3").abi
    ours = sorted(f"{i['name']}({','.join(_type(p) for p in i['inputs'])})" for i in abi if i["type"] == "function")
    assert ours == CANONICAL
    assert not [i for i in abi if i["type"] == "constructor"]


def _type(param: dict[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(_type(c) for c in param["components"]) + ")" + kind[len("tuple") :]
    return kind


def test_aggregate3_returns_each_calls_data_and_reports_a_failure(chain: Chain) -> None:
    usdc = usdc_address(chain.chain_id)
    owner = chain.keys["owner"].address
    calls = [
        (usdc, True, encode_function_call("nonces(address)", [owner])),
        (usdc, True, encode_function_call("name()")),
        (usdc, True, encode_function_call("version()")),
        (usdc, True, encode_function_call("DOMAIN_SEPARATOR()")),
        (usdc, True, encode_function_call("balanceOf(address)", [owner])),
        (usdc, True, encode_function_call("transfer(address,uint256)", [owner, 2**255])),  # reverts
        (COUNTER, True, encode_function_call("number()")),
    ]
    results = _call3(chain, calls)
    assert [ok for ok, _ in results] == [True, True, True, True, True, False, True]
    assert _word(results[0][1]) == chain.call(usdc, "nonces(address)", [owner], ["uint256"])
    assert _string(results[1][1]) == "USD Coin"
    assert _string(results[2][1]) == "2"
    assert results[3][1] == chain.call(usdc, "DOMAIN_SEPARATOR()", [], ["bytes32"])
    assert _word(results[4][1]) == 1_000_000 * 10**6
    assert results[5][1] == _revert_data(chain, usdc, calls[5][2])  # the target's own revert data, passed back
    assert _word(results[6][1]) == counter_value(chain)


def test_aggregate3_without_allow_failure_reverts_the_batch(chain: Chain) -> None:
    usdc = usdc_address(chain.chain_id)
    owner = chain.keys["owner"].address
    bad = (usdc, False, encode_function_call("transfer(address,uint256)", [owner, 2**255]))
    with pytest.raises(RevertedError) as err:
        chain.call(MULTICALL3_ADDRESS, f"aggregate3({CALL3})", [[(usdc, True, encode_function_call("name()")), bad]])
    assert err.value.message == CALL_FAILED
    # The same failing call with allowFailure: only its own entry fails.
    assert [ok for ok, _ in _call3(chain, [(bad[0], True, bad[2])])] == [False]


def test_aggregate3_runs_state_changes_in_order(chain: Chain) -> None:
    """A transaction (not only eth_call): the calls run one after another from the Multicall3 address."""
    before = counter_value(chain)
    calls = [(COUNTER, False, encode_function_call("increment()"))] * 3
    data = encode_function_call(f"aggregate3({CALL3})", [calls])
    chain.transact(chain.keys["alice"].address, MULTICALL3_ADDRESS, data)
    assert counter_value(chain) == before + 3


def test_aggregate_try_aggregate_and_block_variants(chain: Chain) -> None:
    number = encode_function_call("number()")
    good, bad = (COUNTER, number), (COUNTER, bytes.fromhex("deadbeef"))  # Counter has no fallback: reverts
    block = int(chain.rpc.request("eth_blockNumber"), 16)

    height, data = chain.call(MULTICALL3_ADDRESS, f"aggregate({CALL})", [[good, good]], ["uint256", "bytes[]"])
    assert height == block and [_word(d) for d in data] == [counter_value(chain)] * 2
    with pytest.raises(RevertedError) as err:
        chain.call(MULTICALL3_ADDRESS, f"aggregate({CALL})", [[good, bad]])
    assert err.value.message == CALL_FAILED

    results = chain.call(MULTICALL3_ADDRESS, f"tryAggregate(bool,{CALL})", [False, [good, bad]], [RESULTS])
    assert [ok for ok, _ in results] == [True, False]
    with pytest.raises(RevertedError) as err:
        chain.call(MULTICALL3_ADDRESS, f"tryAggregate(bool,{CALL})", [True, [good, bad]])
    assert err.value.message == CALL_FAILED

    for signature, params in (
        (f"tryBlockAndAggregate(bool,{CALL})", [False, [good, bad]]),
        (f"blockAndAggregate({CALL})", [[good]]),
    ):
        height, _hash, results = chain.call(MULTICALL3_ADDRESS, signature, params, ["uint256", "bytes32", RESULTS])
        assert height == block
        assert results[0] == (True, (counter_value(chain)).to_bytes(32, "big"))


def test_aggregate3_value_checks_the_total(chain: Chain) -> None:
    """Native value per call; msg.value must equal the sum (Counter.incrementBy is payable)."""
    sender = chain.keys["alice"].address
    by = [encode_function_call("incrementBy(uint256)", [n]) for n in (1, 2)]
    calls = [(COUNTER, False, 5, by[0]), (COUNTER, False, 7, by[1])]  # 12 wei in all
    signature = "aggregate3Value((address,bool,uint256,bytes)[])"
    before = counter_value(chain)
    chain.transact(sender, MULTICALL3_ADDRESS, encode_function_call(signature, [calls]), value=12)
    assert counter_value(chain) == before + 3
    tx = {"from": sender, "to": MULTICALL3_ADDRESS, "data": "0x" + encode_function_call(signature, [calls]).hex()}
    with pytest.raises(RpcRevertError) as err:
        chain.rpc.request("eth_call", [{**tx, "value": hex(13)}, "latest"])  # (with 11 the second call fails)
    assert decode_revert(err.value.revert_data) == "Error(message=Multicall3: value mismatch)"


def test_block_and_account_reads(chain: Chain) -> None:
    chain.rpc.request("evm_mine", [])  # after an evm_revert anvil's call context may keep a later base fee
    head = chain.rpc.request("eth_getBlockByNumber", ["latest", False])
    mc = MULTICALL3_ADDRESS

    def read(signature: str, args: list[Any] | None = None, kind: str = "uint256", block: str = head["number"]) -> Any:
        """At the head block read above: a chain with a block time may mine the next one at any moment."""
        return abi_decode([kind], chain.rpc.call(mc, encode_function_call(signature, args or []), block=block))[0]

    assert read("getChainId()") == chain.chain_id
    assert read("getBlockNumber()") == int(head["number"], 16)
    assert read("getCurrentBlockTimestamp()") == int(head["timestamp"], 16)
    assert read("getCurrentBlockGasLimit()") == int(head["gasLimit"], 16)
    assert read("getBasefee()") == int(head["baseFeePerGas"], 16)
    assert read("getCurrentBlockCoinbase()", kind="address").lower() == head["miner"].lower()
    assert read("getCurrentBlockDifficulty()") == int(head["mixHash"], 16)  # prevrandao
    parent = chain.rpc.request("eth_getBlockByNumber", [hex(int(head["number"], 16) - 1), False])
    assert "0x" + read("getLastBlockHash()", kind="bytes32").hex() == parent["hash"]
    assert "0x" + read("getBlockHash(uint256)", [int(parent["number"], 16)], "bytes32").hex() == parent["hash"]
    alice = chain.keys["alice"].address
    chain.set_balance(alice, 123456789)
    assert read("getEthBalance(address)", [alice], block="latest") == 123456789


@pytest.mark.slow  # viem and abstractjs run in Node.js
def test_viem_multicall_and_the_sdk_permit_reads_use_it(chain: Chain) -> None:
    """The unmodified viem `multicall` and abstractjs `prepareSignablePermitQuotePayload` against the devnet: the SDK
    gets its token data through Multicall3 and prepares a permit (no fallback to on-chain mode) that USDC accepts."""
    node = shutil.which("node")
    assert node, "node is needed for the reference SDK runs"
    usdc = usdc_address(chain.chain_id)
    owner, spender = chain.keys["owner"], chain.keys["bob"].address
    deadline = 2**256 - 1  # the SDK puts the super-transaction hash here; any bytes32 will do
    args = {
        "rpcUrl": chain.rpc.url,
        "chainId": chain.chain_id,
        "multicall3": MULTICALL3_ADDRESS,
        "usdc": usdc,
        "ownerKey": owner.private_key,
        "spender": spender,
        "deadline": "0x" + deadline.to_bytes(32, "big").hex(),
    }
    run = subprocess.run([node, str(SCRIPT), json.dumps(args)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)

    loose = out["multicall"]
    assert [r["status"] for r in loose] == ["success"] * 5 + ["failure"]
    assert int(loose[0]["result"]) == chain.call(usdc, "nonces(address)", [owner.address], ["uint256"])
    assert loose[1]["result"] == "USD Coin" and loose[2]["result"] == "2"
    separator = "0x" + chain.call(usdc, "DOMAIN_SEPARATOR()", [], ["bytes32"]).hex()
    assert loose[3]["result"] == separator
    assert loose[4]["result"][1:5] == ["USD Coin", "2", str(chain.chain_id), usdc]  # eip712Domain()
    assert out["strict"]["threw"] is True

    sdk = out["sdk"]
    assert sdk["fallbackToOnchainMode"] is False
    assert sdk["domain"] == {"name": "USD Coin", "version": "2", "chainId": chain.chain_id, "verifyingContract": usdc}
    assert sdk["message"]["spender"] == spender and int(sdk["message"]["value"]) == 10_000_000
    sig = bytes.fromhex(sdk["signature"][2:])
    permit = encode_function_call(
        "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)",
        [owner.address, spender, 10_000_000, deadline, sig[64], sig[:32], sig[32:64]],
    )
    chain.rpc.call(usdc, permit)  # reverts (raises) unless USDC accepts the SDK's permit signature
    assert out["sdkWithoutMulticall"] == {"fallbackToOnchainMode": True}
