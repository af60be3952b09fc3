"""Issue 11's loose ends: values from outside that reached ``int(_, 16)``, ``bytes.fromhex``, ``json.loads``,
``str.encode`` or ``json.dumps`` unchecked. Each gets our typed error naming what was read and how to fix it; none
gets a foreign exception, a hang or a crash.

* RPC answers: :func:`smartsessions.rpc.quantity` (a quantity), :func:`~smartsessions.rpc.return_data` (hex data) and
  :func:`~smartsessions.rpc.call_word` (a uint returned by ``eth_call``); ``computeAccountAddress`` at set-up;
* MEE version numbers (``MeeVersionConfig.version``), compared as numbers;
* the devnet state file and the node's ``/info`` in the CLI;
* lone surrogates (``"\\ud800"``) in JSON, which Python keeps in a ``str`` that cannot be UTF-8 encoded;
* Python values nested deeply enough that ``json.dumps`` overflows the C stack under py_ecc's recursion limit.

The MEE client's own reads (permit token, receipts, decimals, nonces) are in ``test_mee_client.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from eth_account import Account
from hypothesis import given
from hypothesis import strategies as st

from smartsessions import (
    ConfigurationError,
    DevnetError,
    ERC7739Context,
    InvalidInputError,
    MeeApiError,
    MeeVersionConfig,
    RpcError,
    get_mee_version,
    get_session_digest,
    session_details_from_json,
    session_details_to_json,
    to_multichain_nexus_account,
)
from smartsessions._coerce import to_uint
from smartsessions._json import _first_problem, first_lone_surrogate, json_value_problem, loads_bounded
from smartsessions.cli import main as cli
from smartsessions.devnet.network import read_state
from smartsessions.encoding.session import SmartSessionMode
from smartsessions.mee.http import MAX_ANSWER_BYTES, NodeConnection
from smartsessions.rpc import (
    MAX_RESPONSE_BYTES,
    RpcClient,
    SyncRpcClient,
    call_word,
    encode_request,
    quantity,
    return_data,
)
from smartsessions.versions import MEE_VERSIONS, version_number
from smartsessions.wire.mee import MeeVersionEntry, Simulation

from .test_decoders_fuzz import ACCOUNT, DETAILS, DETAILS_JSON, SESSION

SRC = str(Path(sys.modules["smartsessions"].__file__ or "").resolve().parents[1])  # the smartsessions under test


def isolated(script: str) -> subprocess.CompletedProcess[str]:
    """``script`` in a fresh interpreter with py_ecc's recursion limit: a segmentation fault fails the test that ran
    it instead of ending pytest."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    prelude = "import sys, smartsessions\nsys.setrecursionlimit(100_000)\n"
    code = prelude + textwrap.dedent(script)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


# -- RPC answers -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0x_1", "0x1 ", "0x1\n", "0x١", " 0x1", "0x", "0x" + "1" * 65, 1, None, ["0x1"]])
def test_quantity_takes_hex_digits_only(value: object) -> None:
    with pytest.raises(RpcError) as refused:
        quantity(value, what="eth_blockNumber")
    assert "answered eth_blockNumber with" in str(refused.value) and "not a hex quantity" in str(refused.value)


def test_quantity_reads_quantities() -> None:
    assert [quantity(v, what="x") for v in ("0x0", "0x1a", "0X1A", "0x" + "f" * 64)] == [0, 26, 26, 2**256 - 1]


@pytest.mark.parametrize("value", ["0xzz", "0x123", "0x12 34", " 0x12", "0x12\n", "12", 18, None, {"data": "0x"}])
def test_return_data_takes_hex_bytes_only(value: object) -> None:
    with pytest.raises(RpcError, match=r"answered decimals\(\) with .*, not 0x hex data"):
        return_data(value, what="decimals()")


def test_call_word() -> None:
    word = "0x" + (6).to_bytes(32, "big").hex()
    assert call_word(word, what="decimals()", bits=8) == 6
    assert call_word(word + "ff" * 32, what="x") == 6  # the first word of longer return data
    assert call_word("0x", what="x", empty=0) == 0
    for short, match in [("0x", "with no data"), ("0x06", "with '0x06'"), ("0x" + "00" * 31, "with '0x0000")]:
        with pytest.raises(RpcError, match=f"answered decimals\\(\\) {match}.*, not a 32-byte ABI word"):
            call_word(short, what="decimals()")
    with pytest.raises(RpcError, match=r"not a 32-byte ABI word holding a uint8") as refused:
        call_word("0x" + (256).to_bytes(32, "big").hex(), what="decimals()", bits=8)
    assert "Check that the address is the contract meant" in str(refused.value)


@contextmanager
def chain_answering(monkeypatch: pytest.MonkeyPatch, results: dict[str, Any]) -> Iterator[None]:
    """Every RpcClient the account set-up opens answers ``results`` by method, without sockets."""

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        return httpx.Response(
            200, json=[{"jsonrpc": "2.0", "id": i["id"], "result": results[i["method"]]} for i in body]
        )

    real = RpcClient
    monkeypatch.setattr(
        "smartsessions.account.multichain.RpcClient",
        lambda url: real(url, transport=httpx.MockTransport(handle)),
    )
    yield


@pytest.mark.parametrize("address", ["0xzz", "0x" + "11" * 20, "0x" + "ff" * 32, None])
async def test_account_address_the_factory_computes(monkeypatch: pytest.MonkeyPatch, address: object) -> None:
    signer = Account.from_key("0x" + "11" * 32)
    config = {"chain_id": 8453, "rpc_url": "http://rpc", "version": "2.1.0", "version_check": False}
    with (
        chain_answering(monkeypatch, {"eth_chainId": "0x2105", "eth_call": address}),
        pytest.raises(RpcError, match="answered computeAccountAddress on the factory 0x"),
    ):
        await to_multichain_nexus_account(signer=signer, chain_configurations=[config])
    word = "0x" + "00" * 12 + "11" * 20
    with chain_answering(monkeypatch, {"eth_chainId": "0x2105", "eth_call": word}):
        account = await to_multichain_nexus_account(signer=signer, chain_configurations=[config])
    assert account.address_on(8453).lower() == "0x" + "11" * 20


# -- MEE version numbers -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2.x", "", "3.0.0-beta", " 2.1.0", "2_1.0", "٢.1.0", "2.1", "9" * 5000, 5])
def test_mee_version_config_takes_version_numbers_only(version: object) -> None:
    fields = MEE_VERSIONS["2.1.0"].model_dump()
    with pytest.raises(InvalidInputError) as refused:
        MeeVersionConfig(**{**fields, "version": version})
    assert refused.value.field == "MeeVersionConfig.version"
    assert "is not an MEE version number (MAJOR.MINOR.PATCH in ASCII digits)" in str(refused.value)
    assert "Fix: write it as the MEE versions are written, e.g. '2.1.0'" in str(refused.value)
    assert len(str(refused.value)) < 500


def test_version_numbers_compare_as_numbers() -> None:
    assert version_number("2.10.0") > version_number("2.9.1") and version_number("3.0.0") == (3, 0, 0)
    assert all(c.session_validator_init_data_is_packed == (v == "3.0.0") for v, c in MEE_VERSIONS.items())
    with pytest.raises(ConfigurationError, match="is not an MEE version number") as refused:
        version_number("2.x", field="chain_configurations.version")
    assert refused.value.field == "chain_configurations.version"


def test_an_unknown_version_is_shown_bounded() -> None:
    with pytest.raises(ConfigurationError, match="unknown MEE version") as refused:
        get_mee_version("9" * 100_000)
    assert len(str(refused.value)) < 1000


# -- the devnet state file and /info in the CLI ------------------------------------------------------------------------

STATE = {
    "version": 1,
    "pid": 4_194_305,  # above the largest pid Linux (2**22) or macOS hands out: no such process, ever
    "startedAt": 1,
    "chains": [{"chainId": 8453, "rpcUrl": "http://127.0.0.1:9", "baseFee": None, "blockTime": 2, "contracts": {}}],
    "keys": [{"role": "owner", "address": ACCOUNT, "privateKey": "0x" + "11" * 32}],
    "node": None,
}
NOT_OURS = "is not a devnet state file written by smartsessions"


def _with(**over: Any) -> str:
    return json.dumps({**STATE, **over})


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "is not JSON: Expecting value"),
        (b"\xff\xfe\x00", "is not text in UTF-8"),
        (b"[1, 2]", "it holds a JSON list, not an object"),
        (b"null", "it holds a JSON NoneType, not an object"),
        (b"{" * 50 + b"}" * 50, "nests arrays and objects 50 levels deep, more than the 8 allowed"),
        (b"[" + b"9" * 5000 + b"]", "has a number of more than 100 digits"),
        (b" " * (4 * 1024 * 1024 + 1), "more than the 4194304 allowed"),
        (_with(pid="123").encode(), "`pid`: Input should be a valid integer"),
        (_with(pid=0).encode(), "`pid`: Input should be greater than 1"),  # kill(0) signals the process group
        (_with(pid=-1).encode(), "`pid`: Input should be greater than 1"),  # kill(-1): every process of the user
        (_with(pid=2**80).encode(), "`pid`: Input should be less than 2147483648"),
        (_with(chains={}).encode(), "`chains`: Input should be a valid list"),
        (_with(chains=[{"chainId": 8453}]).encode(), "`chains[0].rpcUrl`: Field required"),
        (_with(keys=[1]).encode(), "`keys[0]`: Input should be a valid dictionary"),
        (_with(node={"url": 5}).encode(), "`node.url`: Input should be a valid string"),
        (_with(node={"url": "\ud800"}).encode(), "`node.url`: is not valid Unicode text: it holds a lone surrogate"),
    ],
)
def test_state_files_not_written_by_us(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "devnet.json"
    path.write_bytes(content)
    with pytest.raises(DevnetError) as refused:
        read_state(path)
    message = str(refused.value)
    assert f"{path} {NOT_OURS}: " in message and problem in message
    assert "Fix: delete the file if no devnet runs from it, or pass --state-file" in message
    for command in ("status", "down"):
        result = CliRunner().invoke(cli, ["devnet", command, "--state-file", str(path)])
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output  # no traceback
        assert NOT_OURS in result.output and problem in result.output
    assert path.exists()  # down removes only files it could read


def test_state_file_of_another_version_or_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "devnet.json"
    path.write_text(_with(version="x" * 10_000))
    with pytest.raises(DevnetError, match="has an unknown version 'xxxx") as refused:
        read_state(path)
    assert "This smartsessions reads version 1" in str(refused.value) and len(str(refused.value)) < 1000
    with pytest.raises(DevnetError, match=r"Cannot read the devnet state file .*: Is a directory"):
        read_state(tmp_path)


def test_a_state_file_nested_deep_enough_to_crash_json_loads(tmp_path: Path) -> None:
    path = tmp_path / "devnet.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    done = isolated(
        f"""
        from click.testing import CliRunner
        from smartsessions.cli import main
        result = CliRunner().invoke(main, ["devnet", "status", "--state-file", {str(path)!r}])
        print(result.exit_code, result.output)
        """
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("1 error: ") and "nests arrays and objects 100000 levels deep" in done.stdout


def test_status_and_down_of_a_state_file_we_wrote(tmp_path: Path) -> None:
    path = tmp_path / "devnet.json"
    path.write_text(json.dumps(STATE))
    status = CliRunner().invoke(cli, ["devnet", "status", "--state-file", str(path)])
    assert status.exit_code == 0 and "devnet pid 4194305: NOT running" in status.output
    assert "chain 8453: http://127.0.0.1:9 DOWN" in status.output
    down = CliRunner().invoke(cli, ["devnet", "down", "--state-file", str(path)])
    assert down.exit_code == 0 and "no devnet process 4194305; removed the stale" in down.output
    assert not path.exists()


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        (b'{"version": "2.1.0", "node": "0xabc"}', "up (2.1.0, node 0xabc)"),
        (b'{"version": "\\u001b[31mred", "node": null}', "up ('\\x1b[31mred', node None)"),
        (b'{"version": "' + b"v" * 100_000 + b'"}', "up ('vvvv"),
        (b"[" * 100_000 + b"]" * 100_000, "answers /info with something that nests arrays and objects 100000 levels"),
        (b'{"version": "\\ud800"}', "answers /info with something that is not valid Unicode text"),
        (b"[1]", "answers /info with a JSON list, not its info"),
        (b"<html>", "answers /info with something that is not JSON"),
        (b" " * (2 * 1024 * 1024), "answers /info with something that is 2097152 bytes long, more than the 1048576"),
    ],
)
def test_status_of_a_node_answering_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: bytes, shown: str
) -> None:
    path = tmp_path / "devnet.json"
    path.write_text(_with(node={"url": "http://node/v1", "apiKey": None, "address": ACCOUNT}))

    def stream(method: str, url: str, **_: Any) -> Any:
        assert (method, url) == ("GET", "http://node/v1/info")
        return httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=answer))).stream(
            method, url
        )

    monkeypatch.setattr(httpx, "stream", stream)
    result = CliRunner().invoke(cli, ["devnet", "status", "--state-file", str(path)])
    assert result.exit_code == 0, result.output
    assert f"MEE node: http://node/v1 {shown}" in result.output
    assert len(result.output) < 2000


# -- lone surrogates ---------------------------------------------------------------------------------------------------


def test_loads_bounded_refuses_lone_surrogates_when_asked_naming_the_path() -> None:
    cases = {
        r'{"a": [1, "x\ud800"]}': "body.a[1]",
        r'[{"ok": "\ud83d\ude00"}, {"b": {"\udfff": 1}}]': "body[1].b",  # a key: its object
        '["\ud800"]': "body[0]",  # raw in a str
        r'"\ude00\ud83d"': "body",  # the halves in the wrong order
    }
    for text, field in cases.items():
        for data in (text, text.encode("utf-8", "surrogatepass")):
            with pytest.raises(InvalidInputError) as refused:
                loads_bounded(data, field="body", refuse_lone_surrogates=True)
            assert refused.value.field == field
            assert refused.value.problem.startswith("is not valid Unicode text: it holds a lone surrogate")
            assert "Fix: send text UTF-8 can encode" in str(refused.value)
            str(refused.value).encode()  # the message itself is text a terminal can show
        # off unless asked: the node's HTTP edge keeps its own check (and its own message)
        assert loads_bounded(text, field="body") == json.loads(text)
    kept = [r'["\ud83d\ude00"]', r'["\\ud800"]', '["\U0001f600"]', '{"a": "ok"}']  # a pair; an escaped backslash
    for text in kept:
        assert loads_bounded(text, field="body", refuse_lone_surrogates=True) == json.loads(text)


def test_first_lone_surrogate_in_document_order() -> None:
    assert first_lone_surrogate({"a": ["ok", "\ud800"], "b": "\udc00"}) == ".a[1]"
    assert first_lone_surrogate({"a": 1, "\ud800": {"c": "\udc00"}}) == ""
    assert first_lone_surrogate([["\U0001f600"], {"k": None}]) is None
    deep: Any = "\ud800"
    for _ in range(100_000):
        deep = [deep]
    assert first_lone_surrogate(deep) == "[0]" * 100_000  # iterative: no recursion limit to meet, linear time


def _with_content_name(name: str) -> str:
    text = DETAILS_JSON[0].replace('"Mail"', json.dumps(name))
    assert text != DETAILS_JSON[0]
    return text


def test_session_details_with_a_lone_surrogate_are_refused_where_it_is() -> None:
    """Before: read without complaint, then get_session_digest raised UnicodeEncodeError hashing the content name."""
    path = "enableSessionData.enableSession.sessionToEnable.erc7739Policies.allowedERC7739Content[0].contentName[0]"
    with pytest.raises(InvalidInputError) as refused:
        session_details_from_json(_with_content_name("\ud800"))
    assert refused.value.field == f"session_details[0].{path}"
    with pytest.raises(InvalidInputError) as refused:  # already parsed: the model refuses it
        session_details_from_json(json.loads(_with_content_name("\ud800")))
    assert refused.value.field.endswith("allowed_erc7739_content.0.content_name.0")
    assert "lone surrogate" in refused.value.problem
    details = session_details_from_json(_with_content_name("\U0001f600"))[0]  # a whole character is text
    session = details.enable_session_data.enable_session.session_to_enable
    assert get_session_digest(session, account=ACCOUNT, nonce=0)
    assert session_details_from_json(session_details_to_json(details)) == [details]
    assert session_details_from_json(DETAILS_JSON[0])[0] == DETAILS


def test_erc7739_content_names_are_text() -> None:
    with pytest.raises(InvalidInputError) as refused:
        ERC7739Context(app_domain_separator=b"\x55" * 32, content_name=("Mail", "\udc00"))
    assert refused.value.field == "ERC7739Context.content_name.1"
    assert "Fix: pass text UTF-8 can encode" in str(refused.value)
    assert ERC7739Context(app_domain_separator=b"\x55" * 32, content_name=("é", "\U0001f600")).content_name[1]
    assert get_session_digest(SESSION, account=ACCOUNT, nonce=0)


def _answering(content: bytes) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(200, content=content))


async def test_an_mee_answer_with_a_lone_surrogate() -> None:
    client = NodeConnection("http://node/v1", transport=_answering(b'{"error": "x\\ud800"}'))
    with pytest.raises(MeeApiError) as refused:
        await client.request("info", method="GET")
    message = str(refused.value)
    assert "answered GET info with something that is not JSON the SDK reads" in message
    assert "`body.error` is not valid Unicode text" in message
    message.encode()
    await client.aclose()


async def test_an_rpc_answer_with_a_lone_surrogate() -> None:
    body = b'{"jsonrpc": "2.0", "id": 1, "error": {"code": 3, "message": "reverted: \\udc80"}}'
    async with RpcClient("http://rpc", transport=_answering(body)) as rpc:
        with pytest.raises(RpcError) as refused:
            await rpc.request("eth_call", [])
    assert "answered something that is not JSON" in str(refused.value)
    assert "`body.error.message` is not valid Unicode text" in str(refused.value)
    str(refused.value).encode()


class _Endless(httpx.AsyncByteStream, httpx.SyncByteStream):
    """A body that never ends (1 MiB chunks), and how much of it was read."""

    def __init__(self) -> None:
        self.sent = 0

    def _chunks(self) -> Iterator[bytes]:
        chunk = b"[" + b"0," * (512 * 1024 - 1)
        while True:
            self.sent += len(chunk)
            yield chunk

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks():
            yield chunk


async def test_an_endless_mee_answer_is_refused_at_the_bound() -> None:
    """A hostile node that answers without end: the client stops reading at the bound (16 MiB), not at the end of
    the machine's memory."""
    body = _Endless()
    client = NodeConnection(
        "http://node/v1", transport=httpx.MockTransport(lambda request: httpx.Response(200, stream=body))
    )
    with pytest.raises(MeeApiError, match=f"answered GET info with more than {MAX_ANSWER_BYTES} bytes"):
        await client.request("info", method="GET")
    assert MAX_ANSWER_BYTES < body.sent <= MAX_ANSWER_BYTES + 2 * 1024 * 1024
    await client.aclose()


async def test_an_endless_rpc_answer_is_refused_at_the_bound() -> None:
    body = _Endless()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, stream=body))
    async with RpcClient("http://rpc", transport=transport) as rpc:
        with pytest.raises(RpcError, match="answered more than 268435456 bytes"):
            await rpc.request("eth_getLogs", [])
    assert body.sent <= MAX_RESPONSE_BYTES + 2 * 1024 * 1024
    sync_body = _Endless()
    sync_transport = httpx.MockTransport(lambda request: httpx.Response(200, stream=sync_body))
    with SyncRpcClient("http://rpc", transport=sync_transport) as sync_rpc, pytest.raises(RpcError):
        sync_rpc.request("eth_getLogs", [])
    assert sync_body.sent <= MAX_RESPONSE_BYTES + 2 * 1024 * 1024


# -- Python values json.dumps cannot write -----------------------------------------------------------------------------


def _nested(depth: int) -> Any:
    value: Any = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def test_json_value_problem() -> None:
    assert json_value_problem({"a": [1, 2.5, "x", None, True, (1,)]}) is None
    assert json_value_problem(_nested(63)) is None
    assert json_value_problem(_nested(64)) == (".a" * 64, "nests arrays and objects more than 64 levels deep")
    cycle: dict[str, Any] = {}
    cycle["self"] = cycle
    assert json_value_problem(cycle) == (".self" * 64, "nests arrays and objects more than 64 levels deep")
    assert json_value_problem({"a": {1: 2}}) == (".a", "has a key that is not a string (int)")
    assert json_value_problem([float("nan")]) == ("[0]", "is nan, which JSON does not have")
    assert json_value_problem([{"x": 10**100}]) == (
        "[0].x",
        "is an int of more than 100 digits; write it as a decimal string",
    )
    assert json_value_problem({"b": b"\x01"}) == (".b", "is a bytes, which is not a JSON value")


_ANY_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.text(max_size=3)
    | st.integers(-(10**6), 10**6)
    | st.sampled_from([10**5, -(10**5), 10**6, float("nan"), float("inf"), 1.5, b"x", {1}, True]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=2) | st.integers(0, 2), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(value=_ANY_VALUE, depth=st.integers(1, 4), digits=st.integers(1, 7))
def test_json_value_problem_fast_path_agrees_with_the_full_walk(value: Any, depth: int, digits: int) -> None:
    """The path-free first pass (every RPC request's params go through it) may only say "fine" where the full walk
    finds nothing."""
    assert json_value_problem(value, max_depth=depth, max_number_digits=digits) == _first_problem(value, depth, digits)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (_nested(300), "nests arrays and objects more than 64 levels deep"),  # pydantic: ValueError in to_wire
        ({"a": {1}}, "a is a set, which is not a JSON value"),
        ({"gas": 10**5000}, "gas is an int of more than 100 digits"),  # json.dumps: ValueError
    ],
)
def test_json_objects_of_the_wire_models_are_json(value: Any, problem: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        Simulation(simulate=True, overrides=value)
    assert refused.value.field == "Simulation.overrides" and problem in refused.value.problem
    with pytest.raises(InvalidInputError):
        MeeVersionEntry(version=value, chain_id=1)


def test_deep_values_sent_to_an_endpoint_are_refused_without_a_crash() -> None:
    """json.dumps recurses in C; under py_ecc's recursion limit a value 100,000 levels deep overflows the stack (a
    segmentation fault) instead of raising RecursionError."""
    done = isolated(
        """
        import asyncio, httpx
        from smartsessions import InvalidInputError
        from smartsessions.mee.http import NodeConnection
        from smartsessions.rpc import RpcClient, encode_request

        deep = []
        for _ in range(100_000):
            deep = [deep]
        ok = httpx.MockTransport(lambda request: httpx.Response(200, json={"jsonrpc": "2.0", "id": 1, "result": 1}))

        async def main():
            try:
                await RpcClient("http://rpc", transport=ok).request("eth_call", [deep])
            except InvalidInputError as exc:
                print(exc.field, "|", exc.problem)
            try:
                await NodeConnection("http://node", transport=ok).request("quote", body={"a": deep})
            except InvalidInputError as exc:
                print(exc.field[:9], "|", exc.problem)

        asyncio.run(main())
        """
    )
    assert done.returncode == 0, done.stderr[-2000:]
    problem = "nests arrays and objects more than 1000 levels deep"
    assert done.stdout.splitlines() == [
        f"eth_call params{'[0]' * 1000} | {problem}",
        f"body.a[0] | {problem}",
    ]


def test_rpc_params_json_cannot_write() -> None:
    with pytest.raises(InvalidInputError, match=r"Invalid `eth_call params\[0\].to`: is a bytes"):
        encode_request("eth_call", [{"to": b"\x01"}], 1)
    assert encode_request("eth_call", [{"to": ACCOUNT}, "latest"], 7)["params"] == [{"to": ACCOUNT}, "latest"]


@pytest.mark.parametrize("text", ["1_000", "0x_1", "0x1_0", "\u0661\u0662", "\uff11"])
def test_integers_are_ascii_digits_only(text: str) -> None:
    """int() takes underscores and other scripts' digits; JSON, viem and the nodes do not, so neither do we."""
    with pytest.raises(InvalidInputError, match="not an integer"):
        to_uint(text, field="amount")
    assert to_uint(" 12 ", field="amount") == 12 and to_uint("0x1f", field="amount") == 31


def test_a_session_mode_in_hex_is_one_of_three_strings() -> None:
    assert SmartSessionMode.parse("0x02") is SmartSessionMode.UNSAFE_ENABLE
    for text in ("0x_1", "0x 1", "0x-1"):
        with pytest.raises(InvalidInputError, match="unknown SmartSessions mode"):
            SmartSessionMode.parse(text)


def _bounded_model(text: str, max_depth: int, max_digits: int) -> Any:
    """The bounds as first written: checked on the text with its strings cut out, then json.loads. The model the
    faster loads_bounded must agree with (value, or which bound is reported first)."""
    import re as _re

    skeleton = _re.sub(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', '""', text, flags=_re.DOTALL)
    depth = deepest = 0
    for char in skeleton:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    if deepest > max_depth:
        return ("deep", deepest)
    if _re.search(f"[0-9]{{{max_digits + 1}}}", skeleton):
        return ("digits",)
    try:
        return ("value", json.loads(text, parse_constant=lambda name: float(name)))
    except ValueError:
        return ("not json",)


_JSON_TEXT = st.recursive(
    st.integers(-(10**12), 10**12).map(str)
    | st.sampled_from(
        ["1" * 12, "9" * 13, "-" + "7" * 13, "1.5e3", "2." + "0" * 12, '"[[{{"', '"]]]}"', '"0000000000000"']
    )
    | st.text(alphabet='ab[]{}0123"\\', max_size=6).map(json.dumps),
    lambda inner: (
        st.lists(inner, max_size=3).map(lambda xs: "[" + ",".join(xs) + "]")
        | st.lists(inner, max_size=3).map(lambda xs: "{" + ",".join(f'"k{k}":{x}' for k, x in enumerate(xs)) + "}")
    ),
    max_leaves=20,
)


@given(
    text=_JSON_TEXT,
    cut=st.integers(0, 3),
    wrap=st.integers(0, 12),
    max_depth=st.integers(1, 6),
    max_digits=st.integers(3, 14),
)
def test_loads_bounded_agrees_with_the_bounds_checked_on_the_text(
    text: str, cut: int, wrap: int, max_depth: int, max_digits: int
) -> None:
    """loads_bounded parses shallow text first and measures the parsed value (and reads number literals through
    json.loads's hooks); the answer is the same as checking the bounds on the text first."""
    text = "[" * wrap + text + "]" * max(0, wrap - cut)  # cut > 0: not JSON, which must not hide a bound
    model = _bounded_model(text, max_depth, max_digits)
    try:
        got: Any = ("value", loads_bounded(text, field="t", max_depth=max_depth, max_number_digits=max_digits))
    except InvalidInputError as exc:
        if "levels deep" in exc.problem:
            got = ("deep", int(exc.problem.split()[4]))
        elif "digits" in exc.problem:
            got = ("digits",)
        else:
            got = ("not json",)
    if model[0] == "value" and got[0] == "not json":  # NaN/Infinity: loads_bounded refuses them as not JSON
        assert any(c in text for c in ("NaN", "Infinity"))
        return
    assert got == model, (text, max_depth, max_digits)
