"""smartsessions.sync, the blocking facade: its names derived from the async API, the blocking objects it hands back,
errors as the async API raises them, calls from a thread that runs a loop, the refusal on its own loop thread, and
an interrupt that cancels the coroutine. The MEE client is the real one, on an in-memory node
(``httpx.MockTransport``, no sockets)."""

from __future__ import annotations

import asyncio
import inspect
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import smartsessions
from smartsessions import ChainNotSupportedError, SyncReentryError, sync
from smartsessions._blocking import BlockingProxy, _wait
from smartsessions.wire.mee import GetInfoPayload

from .test_mee_client import ACCOUNT, FakeChain, FakeNode, World, info

# -- a small async API of our own, to see the mechanics ---------------------------------------------------------------


class TroubleError(Exception):
    pass


class Lamp:
    """Something with async methods, as the SDK's clients are."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.threads: list[int] = []
        self.closed = False
        self.parts: list[Lamp] = []
        self.raised: Exception | None = None

    async def shine(self, times: int) -> str:
        self.threads.append(threading.get_ident())
        await asyncio.sleep(0)
        return self.name * times

    async def fail(self) -> None:
        self.raised = TroubleError(f"{self.name} failed")
        raise self.raised

    async def spawn(self, name: str) -> Lamp:
        child = Lamp(name)
        self.parts.append(child)
        return child

    async def compare(self, other: object) -> bool:
        return other is self

    def join(self, other: Lamp) -> Lamp:  # not async: takes and gives async objects
        joined = Lamp(self.name + other.name)
        joined.parts = [self, other]
        return joined

    async def aclose(self) -> None:
        self.closed = True


async def make_lamp(name: str) -> Lamp:
    """Makes a lamp."""
    return Lamp(name)


lamp = sync.blocking(make_lamp)


def test_every_public_name_is_there_async_ones_blocking_the_rest_the_same() -> None:
    assert sync.__all__ == [*smartsessions.__all__, "blocking"]
    public = {n for n in vars(sync) if not n.startswith("_") and not inspect.ismodule(getattr(sync, n))}
    assert public == set(sync.__all__) - {"__version__"}
    for name in smartsessions.__all__:
        original, facade = getattr(smartsessions, name), getattr(sync, name)
        if inspect.iscoroutinefunction(original):
            assert not inspect.iscoroutinefunction(facade), name
            assert facade.__wrapped__ is original and facade.__doc__ == original.__doc__, name
            assert inspect.signature(facade) == inspect.signature(original), name
        elif name != "mee_session_actions":
            assert facade is original, name
    blocking = {n for n in smartsessions.__all__ if inspect.iscoroutinefunction(getattr(smartsessions, n))}
    assert blocking >= {"create_mee_client", "to_multichain_nexus_account", "get_session_quote"}
    # the one function that takes a client and gives one: it takes and gives blocking ones
    assert sync.mee_session_actions is not smartsessions.mee_session_actions
    assert sync.mee_session_actions.__wrapped__ is smartsessions.mee_session_actions
    with pytest.raises(AttributeError, match=r"sync\.blocking\(function\)"):
        _ = sync.no_such_name


def test_a_blocking_call_gives_blocking_objects_and_runs_on_one_loop_thread() -> None:
    a = lamp("a")
    assert isinstance(a, BlockingProxy) and "Lamp" in repr(a)
    assert a.shine(3) == "aaa" and a.shine(1) == "a"
    assert a.name == "a"  # a plain attribute, as it is
    [first, second] = a.threads  # the coroutines ran on one thread, not this one: the facade's loop thread
    assert first == second != threading.get_ident()
    assert [t.name for t in threading.enumerate() if t.ident == first] == ["smartsessions.sync"]

    b = a.spawn("b")  # an async method's result with async methods of its own comes back blocking
    assert isinstance(b, BlockingProxy) and b.shine(2) == "bb"
    assert all(isinstance(p, BlockingProxy) for p in a.parts)  # in a list too
    assert a.parts == [b] and a.parts[0] == b  # proxies of one object are equal
    assert a.compare(a) is True  # passed back, the async method gets the object itself, not the proxy
    joined = a.join(b)  # a method that is not async takes and gives blocking objects too
    assert isinstance(joined, BlockingProxy) and joined.name == "ab" and joined.parts == [a, b]
    a.name = "z"  # set on the object
    assert a.shine(1) == "z"


def test_calls_from_several_threads_run_side_by_side_on_the_loop() -> None:
    """Each call waits for the other's coroutine to have started: calls taken one at a time would wait forever."""
    started = {"left": asyncio.Event(), "right": asyncio.Event()}  # used on the facade's loop only
    answers: dict[str, str] = {}

    async def meet(me: str, other: str) -> str:
        started[me].set()
        await started[other].wait()
        return me

    def call(me: str, other: str) -> None:
        answers[me] = sync.blocking(meet)(me, other)

    right = threading.Thread(target=call, args=("right", "left"))
    right.start()
    call("left", "right")
    right.join()
    assert answers == {"left": "left", "right": "right"}


def test_close_and_with_stand_for_aclose() -> None:
    a = lamp("a")
    assert "close" in dir(a)
    a.close()
    assert a.closed is True
    with lamp("b") as b:
        assert b.closed is False
    assert b.closed is True


def test_an_error_is_raised_as_the_coroutine_raised_it() -> None:
    a = lamp("a")
    with pytest.raises(TroubleError, match=r"^a failed$") as raised:
        a.fail()
    assert raised.value is a.raised and type(raised.value) is TroubleError  # the very exception, not a copy
    assert a.shine(1) == "a"  # and the loop goes on


def test_a_system_exit_in_the_coroutine_reaches_the_caller_and_the_loop_goes_on() -> None:
    async def leave() -> None:
        raise SystemExit(3)  # on the loop's thread, asyncio would stop the loop with it

    a = lamp("a")
    a.shine(1)
    with pytest.raises(SystemExit) as raised:
        sync.blocking(leave)()
    assert raised.value.code == 3
    a.shine(1)
    assert a.threads[0] == a.threads[1]  # the same loop thread, still running


async def test_a_thread_that_runs_a_loop_can_call_it() -> None:
    """As a notebook cell does: this test runs in pytest-asyncio's loop, and calls the facade without awaiting."""
    mine = asyncio.get_running_loop()
    a = lamp("a")
    assert a.shine(2) == "aa"
    assert a.threads == [a.threads[0]] and a.threads[0] != threading.get_ident()
    assert asyncio.get_running_loop() is mine


def test_a_call_on_the_facades_own_loop_thread_is_refused_not_a_deadlock() -> None:
    async def reenter() -> str:
        return str(lamp("inner").shine(1))  # blocking, on the thread that would have to run it

    with pytest.raises(SyncReentryError) as refused:
        sync.blocking(reenter)()
    err = refused.value
    assert err.call == "make_lamp" and isinstance(err, smartsessions.SmartSessionsError)
    assert "own event loop thread" in str(err) and "await the async API" in str(err)
    assert err.docs_url.endswith("#syncreentryerror")
    assert lamp("a").shine(1) == "a"  # the loop still serves

    async def callback_reenters() -> Any:
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def callback() -> None:  # a plain callback of the loop, as a signer's might be
            try:
                lamp("x").close()
            except SyncReentryError as e:
                done.set_result(e)

        asyncio.get_running_loop().call_soon(callback)
        return await done

    assert isinstance(sync.blocking(callback_reenters)(), SyncReentryError)


@pytest.fixture
def sigint_raises() -> Iterator[None]:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs signal.pthread_kill (POSIX)")
@pytest.mark.usefixtures("sigint_raises")
def test_ctrl_c_while_waiting_cancels_the_coroutine_and_waits_for_it_to_unwind() -> None:
    main = threading.get_ident()
    seen: list[str] = []

    def main_waits_in_the_facade() -> bool:
        # the main thread is inside _wait's future.result(): _wait's frame, and something it called above it
        frame = sys._current_frames()[main]
        return frame.f_code is not _wait.__code__ and any(f.f_code is _wait.__code__ for f in iter_frames(frame.f_back))

    async def forever() -> None:
        while not main_waits_in_the_facade():
            await asyncio.sleep(0.001)
        signal.pthread_kill(main, signal.SIGINT)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.append("cancelled")
            await asyncio.sleep(0)  # cleanup that awaits, as closing a connection does
            seen.append("unwound")
            raise

    with pytest.raises(KeyboardInterrupt):
        sync.blocking(forever)()
    assert seen == ["cancelled", "unwound"]  # before the interrupt reached the caller
    assert lamp("a").shine(1) == "a"


def iter_frames(frame: Any) -> Iterator[Any]:
    while frame is not None:
        yield frame
        frame = frame.f_back


# -- the SDK's own objects --------------------------------------------------------------------------------------------


def node_world(chains: tuple[int, ...] = (8453, 10)) -> World:
    return World(FakeNode(info=info(chains)), {c: FakeChain(c) for c in (8453, 10)})


def test_the_mee_client_and_its_session_client_come_back_blocking() -> None:
    world = node_world()
    client = sync.create_mee_client(
        account=world.account(), url="http://node/v1/", api_key="key", transport=httpx.MockTransport(world.node.handle)
    )
    assert isinstance(client, BlockingProxy)
    assert isinstance(client.account, BlockingProxy) and client.account.address == ACCOUNT
    for actions in (sync.mee_session_actions, smartsessions.mee_session_actions):
        session_client = client.extend(actions)
        assert isinstance(session_client, BlockingProxy) and "SessionClient" in repr(session_client)
        payload = session_client.get_info()  # a blocking request to the node; a model comes back as it is
        assert isinstance(payload, GetInfoPayload) and [c.chain_id for c in payload.supported_chains] == [8453, 10]
    assert [path for _, path, _, _ in world.node.requests] == ["info", "info", "info"]
    with client.extend(sync.mee_session_actions) as session_client:
        assert session_client.is_closed is False
    assert client.is_closed is True  # the session client is the client: closing one closes both


def test_the_sdk_errors_are_the_async_apis() -> None:
    def create(api: Any) -> Any:
        world = node_world(chains=(8453,))  # the node does not serve chain 10
        return api.create_mee_client(
            account=world.account(), url="http://node/v1/", transport=httpx.MockTransport(world.node.handle)
        )

    with pytest.raises(ChainNotSupportedError) as blocking:
        create(sync)
    with pytest.raises(ChainNotSupportedError) as awaited:
        asyncio.run(create(smartsessions))
    assert type(blocking.value) is type(awaited.value) is ChainNotSupportedError
    assert str(blocking.value) == str(awaited.value) and blocking.value.chain_ids == (10,)
