"""The machinery of :mod:`smartsessions.sync`: one event loop on one daemon thread, and the adapters that run the async
API on it and hand back blocking objects.

The loop is started on first use and lives as long as the process (a forked child starts its own). Every blocking
call builds its coroutine, submits it with :func:`asyncio.run_coroutine_threadsafe` and waits for it on the calling
thread, so calls made one after another share the loop and whatever the async objects keep open on it (the node
connection, the chains' RPC connections), and calls from several threads run side by side on it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import os
import threading
import typing
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from .errors import SyncReentryError

__all__ = [
    "BlockingProxy",
    "blocking",
    "needs_proxy",
    "on_loop_thread",
    "passing",
    "run",
    "takes_or_gives_async_objects",
    "unwrap",
    "wrap",
]

_T = TypeVar("_T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    loop.run_forever()


def _running_loop() -> asyncio.AbstractEventLoop:
    """The facade's loop, started on first use (or again, should its thread have ended)."""
    global _loop, _thread
    with _lock:
        if _loop is None or _thread is None or not _thread.is_alive():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=_serve, args=(loop,), name="smartsessions.sync", daemon=True)
            thread.start()  # what is submitted before run_forever starts waits in the loop's queue
            _loop, _thread = loop, thread
        return _loop


def _forget_after_fork() -> None:
    # the child has the parent's loop object but not its thread: it starts its own on first use
    global _lock, _loop, _thread
    _lock, _loop, _thread = threading.Lock(), None, None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def on_loop_thread() -> bool:
    """Whether the calling thread is the one that runs the facade's loop."""
    thread = _thread
    return thread is not None and thread.ident == threading.get_ident()


class _Escaped:
    """A ``KeyboardInterrupt`` or ``SystemExit`` the coroutine raised, carried to the caller's thread as a result:
    raised on the loop's thread, asyncio would let it stop the loop before the caller heard of it."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


async def _until_done(coro: Awaitable[_T], unwound: threading.Event) -> _T | _Escaped:
    try:
        return await coro
    except (KeyboardInterrupt, SystemExit) as error:
        return _Escaped(error)
    finally:
        unwound.set()


def run(coro: Coroutine[Any, Any, _T], *, call: str = "a call") -> _T:
    """Run ``coro`` on the facade's loop and wait for its result on this thread; its exception is raised as it is.

    Interrupted while waiting (``KeyboardInterrupt``, or another exception a signal handler raises), the coroutine is
    cancelled and waited for until it has unwound (its ``finally`` blocks, the connections it closes), then the
    interruption goes on. A coroutine that ignores its cancellation keeps this thread waiting; a second interrupt
    then ends the wait. On the loop's own thread nothing can be waited for: :class:`SyncReentryError` (``call``
    names the call in its message)."""
    if on_loop_thread():
        coro.close()  # never started: closed, so that no "never awaited" warning follows the error
        raise SyncReentryError(call)
    unwound = threading.Event()
    future = asyncio.run_coroutine_threadsafe(_until_done(coro, unwound), _running_loop())
    return _wait(future, unwound)


def _wait(future: concurrent.futures.Future[_T | _Escaped], unwound: threading.Event) -> _T:
    try:
        result = future.result()
    except BaseException:
        # cancel() is False once the coroutine has finished (its own exception is what is being raised). Else the
        # task is cancelled on the loop; run_coroutine_threadsafe schedules the task's first step before the
        # cancellation can reach it, so _until_done's finally always runs and sets `unwound`.
        if future.cancel():
            unwound.wait()
        raise
    if isinstance(result, _Escaped):
        raise result.error
    return result


def _describe(fn: Callable[..., Any]) -> str:
    owner = getattr(fn, "__self__", None)
    name = getattr(fn, "__name__", repr(fn))
    return f"{type(owner).__name__}.{name}" if owner is not None else name


# -- the adapters -----------------------------------------------------------------------------------------------------


def blocking(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    """``fn`` (an async function or method), blocking: the arguments are unwrapped (a :class:`BlockingProxy` becomes
    the async object it stands for), ``fn`` runs on the facade's loop, and its result comes back wrapped where it has
    async methods of its own (:func:`wrap`). For an async function outside the curated API:
    ``smartsessions.sync.blocking(smartsessions.sessions.actions.list_permissions)(client, chain_id=8453)``."""
    call = _describe(fn)

    @functools.wraps(fn)
    def blocking_call(*args: Any, **kwargs: Any) -> Any:
        args, kwargs = unwrap(args), unwrap(kwargs)

        async def called() -> Any:
            return await fn(*args, **kwargs)

        return wrap(run(called(), call=call))

    return blocking_call


def passing(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` (a function that is not async), taking blocking objects and giving them back: called here with its
    arguments unwrapped, its result wrapped (``client.extend(mee_session_actions)`` gives a blocking session client).
    An awaitable result is awaited on the facade's loop."""
    call = _describe(fn)

    @functools.wraps(fn)
    def passing_call(*args: Any, **kwargs: Any) -> Any:
        result = fn(*unwrap(args), **unwrap(kwargs))
        if inspect.isawaitable(result):
            awaitable = result

            async def awaited() -> Any:
                return await awaitable

            result = run(awaited(), call=call)
        return wrap(result)

    return passing_call


_proxied: dict[type, bool] = {}  # needs_proxy's answers, per class


def needs_proxy(cls: type) -> bool:
    """Whether instances of ``cls`` have async methods (or are async context managers): what :func:`wrap` wraps."""
    known = _proxied.get(cls)
    if known is None:
        known = _proxied[cls] = cls.__module__ != "builtins" and any(_is_async(cls, name) for name in dir(cls))
    return known


def _is_async(cls: type, name: str) -> bool:
    try:
        attr = inspect.getattr_static(cls, name)
    except AttributeError:
        return False
    if isinstance(attr, (staticmethod, classmethod)):
        attr = attr.__func__
    return inspect.iscoroutinefunction(attr) or name == "__aenter__"


def takes_or_gives_async_objects(fn: Callable[..., Any]) -> bool:
    """Whether ``fn``'s annotations name a class :func:`needs_proxy` (``mee_session_actions(client: MeeClient) ->
    SessionClient``): such a function must see the async objects, and hand back blocking ones. Annotations that do
    not resolve count as not."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:
        return False

    def names_one(hint: Any) -> bool:
        if isinstance(hint, type) and needs_proxy(hint):
            return True
        return any(names_one(arg) for arg in typing.get_args(hint))

    return any(names_one(h) for h in hints.values())


def wrap(value: Any) -> Any:
    """``value`` as the blocking API gives it: an object with async methods as a :class:`BlockingProxy`, a list or
    tuple of such objects as the same container of proxies, anything else as it is."""
    if isinstance(value, BlockingProxy):
        return value
    kind = type(value)
    if kind is list or kind is tuple:
        items = [wrap(v) for v in value]
        if any(a is not b for a, b in zip(items, value, strict=True)):
            return kind(items)
        return value
    if needs_proxy(kind):
        return BlockingProxy(value)
    return value


@typing.overload
def unwrap(value: tuple[Any, ...]) -> tuple[Any, ...]: ...
@typing.overload
def unwrap(value: dict[str, Any]) -> dict[str, Any]: ...
@typing.overload
def unwrap(value: Any) -> Any: ...
def unwrap(value: Any) -> Any:
    """The async object behind a :class:`BlockingProxy`, in lists, tuples and dicts too (copied only if one changes)."""
    if isinstance(value, BlockingProxy):
        return object.__getattribute__(value, "_BlockingProxy__target")
    kind = type(value)
    if kind is list or kind is tuple:
        items = [unwrap(v) for v in value]
        if any(a is not b for a, b in zip(items, value, strict=True)):
            return kind(items)
        return value
    if kind is dict:
        entries = {k: unwrap(v) for k, v in value.items()}
        if any(entries[k] is not v for k, v in value.items()):
            return entries
        return value
    return value


class BlockingProxy:
    """An object of the async API (a MEE client, a session client, an account, ...) seen through the blocking API.

    Its async methods block until done (on the facade's loop) and its other methods take and give blocking objects
    (``client.extend(mee_session_actions)``); its other attributes are the object's, wrapped where they have async
    methods themselves (``client.account``). ``close()`` stands for ``aclose()``, and ``with`` for ``async with``.
    ``repr`` says what it stands for; two proxies of one object are equal."""

    __slots__ = ("__target",)

    def __init__(self, target: object) -> None:
        object.__setattr__(self, "_BlockingProxy__target", target)

    def __getattr__(self, name: str) -> Any:
        if name == "_BlockingProxy__target":  # the slot itself unset (a copy made without __init__): no recursion
            raise AttributeError(name)
        target = self.__target
        if name == "close" and not hasattr(target, "close") and hasattr(target, "aclose"):
            return blocking(target.aclose)
        value = getattr(target, name)
        if inspect.iscoroutinefunction(value):
            return blocking(value)
        if inspect.ismethod(value) or inspect.isfunction(value):
            return passing(value)
        return wrap(value)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.__target, name, unwrap(value))

    def __delattr__(self, name: str) -> None:
        delattr(self.__target, name)

    def __dir__(self) -> list[str]:
        names = set(dir(self.__target))
        if "aclose" in names:
            names.add("close")
        return sorted(names)

    def __repr__(self) -> str:
        return f"<blocking {self.__target!r}>"

    def __eq__(self, other: object) -> bool:
        return bool(self.__target == unwrap(other))

    def __hash__(self) -> int:
        return hash(self.__target)

    def __enter__(self) -> Any:
        target = self.__target
        enter = getattr(target, "__aenter__", None)
        if enter is not None:
            entered = run(enter(), call=f"{type(target).__name__}.__aenter__")
            return self if entered is target else wrap(entered)
        if hasattr(target, "aclose"):
            return self
        raise TypeError(f"{type(target).__name__} is not a context manager")

    def __exit__(self, *exc: Any) -> bool:
        target = self.__target
        exit_ = getattr(target, "__aexit__", None)
        if exit_ is not None:
            return bool(run(exit_(*exc), call=f"{type(target).__name__}.__aexit__"))
        run(target.aclose(), call=f"{type(target).__name__}.aclose")
        return False
