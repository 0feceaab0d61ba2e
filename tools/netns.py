"""A private network namespace for tests of how real browsers connect: interfaces of its own, and no way out.

A stock browser never offers loopback ICE candidates: it pairs over the machine's interfaces, by address or behind an
mDNS name, and answers mDNS queries by multicast. Tests that show this working run the server and the browser in a
namespace of their own whose only interfaces are `lo` and a veth pair (198.18.0.1 and .2, the benchmarking range of
RFC 2544) joined to itself, so every packet, multicast included, stays inside it, and the test does not depend on what interfaces the
machine it runs on happens to have.

Entering is per thread (setns(2) moves only the calling thread): sockets, threads and processes the thread makes
while inside belong to the namespace, so a server started in a thread from inside keeps its sockets there.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import threading
import uuid
from contextlib import contextmanager
from typing import Iterator

CLONE_NEWNET = 0x40000000
ADDRESSES = ("198.18.0.1/24", "198.18.0.2/24")


def available() -> str | None:
    """None when namespaces can be made here, else why not (one line). OMNIRT_NETNS=0 declines them."""
    if os.environ.get("OMNIRT_NETNS") == "0":
        return "OMNIRT_NETNS=0"
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed"
    return None


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


class NetworkNamespace:
    """`with NetworkNamespace() as ns:` makes one (lo up, a veth pair with two addresses); `with ns.entered():`
    moves the current thread into it. Deleted on exit: stop the processes started inside first."""

    def __init__(self) -> None:
        self.name = f"omnirt-{uuid.uuid4().hex[:8]}"

    def _ip(self, *args: str) -> None:
        proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
        if proc.returncode != 0:
            raise OSError(f"ip {' '.join(args)}: {proc.stderr.strip()}")

    def __enter__(self) -> "NetworkNamespace":
        self._ip("netns", "add", self.name)
        try:
            n = ("-n", self.name)
            self._ip(*n, "link", "set", "lo", "up")
            self._ip(*n, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
            for dev, address in zip(("v0", "v1"), ADDRESSES):
                self._ip(*n, "addr", "add", address, "dev", dev)
                self._ip(*n, "link", "set", dev, "up")
            # A default route, as every real machine has: browsers find "their" address by routing towards a
            # public one (no packet is sent), and without it Chromium offers no host candidate to a page lacking
            # media permission. Anything routed out of v0 arrives at v1, is not for it, and is dropped.
            self._ip(*n, "route", "add", "default", "via", ADDRESSES[1].split("/")[0], "dev", "v0")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=10)

    @contextmanager
    def entered(self) -> Iterator[None]:
        home = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            _setns(target)
            try:
                yield
            finally:
                _setns(home)
        finally:
            os.close(target)
            os.close(home)


@contextmanager
def isolated() -> Iterator["NetworkNamespace | None"]:
    """The calling thread in a fresh namespace for the block (None, and this machine's own network, where one cannot
    be made: not root, or OMNIRT_NETNS=0)."""
    if available() is not None:
        yield None
        return
    with NetworkNamespace() as ns, ns.entered():
        yield ns
