"""Which failures mean "the platform cannot be reached", and the plain word for each."""

from __future__ import annotations

import socket

import aiohttp
import pytest

from bot.errors import SetupError
from bot.reachability import unreachable


async def _connect(host: str, port: int) -> BaseException:
    try:
        async with aiohttp.ClientSession() as session, session.get(f"http://{host}:{port}/"):
            pass
    except Exception as err:  # noqa: BLE001 - the failure is what the test reads
        return err
    raise AssertionError("connected")


async def test_a_refused_connection_from_aiohttp():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert unreachable(await _connect("127.0.0.1", port)) == "connection refused"


def _raised_from(cause: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(("err", "reason"), [
    (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "DNS"),
    (_raised_from(socket.gaierror(socket.EAI_AGAIN, "Temporary failure")), "DNS"),
    (aiohttp.ServerTimeoutError("read"), "timeout"),
    (aiohttp.ServerDisconnectedError(), "network"),
    (ConnectionResetError(), "network"),
    (KeyError("t"), None),
    (SetupError("run.token_rejected", key="X", error="401"), None),
    (None, None),
])
def test_reasons(err, reason):
    assert unreachable(err) == reason
