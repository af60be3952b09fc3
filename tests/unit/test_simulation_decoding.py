"""The node reads simulateHandleOp's ExecutionResult and the EntryPoint's two userOp events by hand (eth_abi's general
decoder was a tenth of its CPU): for every valid encoding, exactly what eth_abi reads."""

from __future__ import annotations

from eth_abi.abi import decode as eth_abi_decode
from eth_abi.abi import encode as eth_abi_encode
from hypothesis import given
from hypothesis import strategies as st

from smartsessions.devnet.entrypoint import USER_OPERATION_EVENT_TOPIC, USER_OPERATION_REVERT_REASON_TOPIC
from smartsessions.devnet.node.simulation import _execution_result, _parse_logs
from smartsessions.versions import ENTRY_POINT_V07_ADDRESS

_UINT = st.integers(0, 2**256 - 1)
_RESULT = "(uint256,uint256,uint256,uint256,bool,bytes)"


@given(values=st.tuples(_UINT, _UINT, _UINT, _UINT, st.booleans(), st.binary(max_size=300)))
def test_execution_result_reads_as_eth_abi_does(values: tuple[int, int, int, int, bool, bytes]) -> None:
    data = eth_abi_encode([_RESULT], [values])
    assert _execution_result(data) == tuple(eth_abi_decode([_RESULT], data)[0]) == values


@given(data=st.binary(max_size=400))
def test_execution_result_of_other_bytes_is_eth_abis_or_its_error(data: bytes) -> None:
    """Bytes that are no ExecutionResult: the same value as eth_abi where both read one, else eth_abi's refusal."""
    try:
        expected = tuple(eth_abi_decode([_RESULT], data)[0])
    except Exception:  # eth_abi's own errors: the hand reader must not invent a different value
        try:
            got = _execution_result(data)
        except Exception:
            return
        # the hand reader may accept non-zero padding that strict eth_abi refuses; the words it read are the data's
        assert got[0] == int.from_bytes(data[32:64], "big")
        return
    assert _execution_result(data) == expected


def _log(topic: bytes, data: bytes) -> dict[str, object]:
    return {"address": ENTRY_POINT_V07_ADDRESS, "topics": ["0x" + topic.hex()], "data": "0x" + data.hex()}


@given(nonce=_UINT, success=st.booleans(), cost=_UINT, used=_UINT, reason=st.none() | st.binary(max_size=200))
def test_userop_events_read_as_eth_abi_does(
    nonce: int, success: bool, cost: int, used: int, reason: bytes | None
) -> None:
    logs = [_log(USER_OPERATION_EVENT_TOPIC, eth_abi_encode(["uint256", "bool", "uint256", "uint256"],
                                                             [nonce, success, cost, used]))]  # fmt: skip
    if reason is not None:
        logs.insert(0, _log(USER_OPERATION_REVERT_REASON_TOPIC, eth_abi_encode(["uint256", "bytes"], [nonce, reason])))
    assert _parse_logs(logs) == (used, success, reason)
