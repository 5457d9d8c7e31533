"""Whether an adapter's failure means its platform cannot be reached, and why, in plain words.

A platform that cannot be reached (no network, a name that does not resolve, a proxy that
drops the connection, a timeout) is a passing condition: :class:`bot.supervise.Supervisor`
retries it with backoff and tells the operator once per outage. A platform that answers and
refuses (a bad token: :class:`bot.errors.SetupError`) or a crash is something else.
"""

from __future__ import annotations

import socket

import aiohttp


def unreachable(err: BaseException | None) -> str | None:
    """Why the platform could not be reached when ``err``, or an exception it was raised
    from (``__cause__``/``__context__``), is a connection failure: ``"DNS"`` (the host name
    did not resolve), ``"connection refused"``, ``"timeout"`` or ``"network"`` (any other
    connection failure: reset, unreachable host, TLS, a closed connection). None for any
    other failure (a crash, a refused token)."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        kind = _kind(err)
        if kind is not None:
            return kind
        err = err.__cause__ or err.__context__
    return None


def _kind(err: BaseException) -> str | None:
    # aiohttp's ClientConnectorError keeps the socket's own error in ``os_error``.
    cause = getattr(err, "os_error", None)
    if isinstance(err, socket.gaierror) or isinstance(cause, socket.gaierror):
        return "DNS"
    if isinstance(err, ConnectionRefusedError) or isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(err, TimeoutError):  # asyncio's and aiohttp's timeouts included
        return "timeout"
    if isinstance(err, (ConnectionError, aiohttp.ClientConnectionError)):
        return "network"
    return None
