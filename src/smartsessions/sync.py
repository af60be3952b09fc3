"""smartsessions without ``await``: the public API of :mod:`smartsessions`, under the same names, for code that runs
no event loop (a script, a notebook cell, a Django view)::

    from smartsessions import sync

    account = sync.to_multichain_nexus_account(signer=bot_key, chain_configurations=[...])
    with sync.create_mee_client(account=account, url=node_url, api_key=key).extend(sync.mee_session_actions) as bot:
        quote = bot.get_session_quote(mode="USE", session_details=details, instructions=[...], fee_token=fee)
        bot.wait_for_supertransaction_receipt(bot.execute_session_quote(quote).hash)

Why it is built this way:

* ``asyncio.run`` around each call is not enough: a client keeps connections open on the loop it was created on, and
  each ``asyncio.run`` makes a new loop and closes it after, so the second call on a client would fail. The facade
  runs **one** event loop, on one daemon thread started on first use, for every call of the process; the objects it
  hands back live on that loop, so a client made by one call works in the next.
* Notebooks (Jupyter, IPython) and async web servers already run a loop on the calling thread, where ``asyncio.run``
  raises and ``loop.run_until_complete`` cannot be nested (short of patching asyncio, as ``nest_asyncio`` does). The
  facade's loop is on its own thread, so a call from a thread that runs a loop simply waits there, blocking that
  thread's loop as any blocking call does.
* The blocking names are derived from the async ones (``smartsessions.__all__``; an async function becomes a
  blocking one with the same signature and docstring), not written out again: they cannot drift from the async API.
  The rest (models, errors, constants, pure functions) are the very same objects as in ``smartsessions``, except
  functions that take or give a client (``mee_session_actions``), which take and give blocking ones.
* Objects with async methods (the MEE client, the session client of ``.extend(mee_session_actions)``, the multichain
  account) come back as a :class:`~smartsessions._blocking.BlockingProxy`: their async methods block, ``close()``
  stands for ``aclose()`` and ``with`` for ``async with``; pass them back to any blocking call as they are.
* Errors are the async API's, raised as they are (``except smartsessions.errors.PolicyViolationError`` works the
  same). A ``KeyboardInterrupt`` while a call waits cancels its coroutine, waits until it has unwound, and goes on.
* A blocking call from the facade's own loop thread (a coroutine or callback it runs, such as an async
  ``HashSigner``'s ``sign_hash``) would wait for itself forever: it raises
  :class:`~smartsessions.errors.SyncReentryError` instead. Code there is async: it awaits the async API.

Objects from the facade belong to its loop: do not await them from your own loop, and do not pass async objects made
on another loop to the facade. An async ``sign_hash`` runs on the facade's loop too. For an async function of a layer
outside the curated API, :func:`blocking` makes the blocking call:
``sync.blocking(smartsessions.sessions.actions.list_permissions)(client, chain_id=8453)``.
"""

# Only the names of __all__ are public here (no `from __future__ import annotations`: it would be one more).
import inspect as _inspect
from typing import Any as _Any

import smartsessions as _smartsessions

from ._blocking import blocking
from ._blocking import passing as _passing
from ._blocking import takes_or_gives_async_objects as _takes_or_gives_async_objects

__all__ = [*_smartsessions.__all__, "blocking"]


def _blocking_form(value: _Any) -> _Any:
    if _inspect.iscoroutinefunction(value):
        return blocking(value)
    if _inspect.isfunction(value) and _takes_or_gives_async_objects(value):
        return _passing(value)
    return value


globals().update({name: _blocking_form(getattr(_smartsessions, name)) for name in _smartsessions.__all__})


def __getattr__(name: str) -> _Any:
    # Every name is set above; this only answers what is not there (and tells type checkers the names are dynamic).
    raise AttributeError(
        f"module 'smartsessions.sync' has no attribute {name!r}: it has the names of smartsessions.__all__; for an "
        "async function of another module, use smartsessions.sync.blocking(function)"
    )
