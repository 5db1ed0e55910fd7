"""The address guard: veille never fetches from private, loopback, link-local or metadata
addresses (SSRF), unless a range is explicitly allowed (VEILLE_ALLOW_NETWORKS).

The check runs where connections are opened, on every address a name resolves to, so it
holds after redirects and against DNS answers that point inside the network. The connection
then goes to the address that was checked, not to a second lookup of the name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable

import httpcore

from veille.errors import FetchError
from veille.fetch.network import AsyncioBackend

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressGuard:
    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.allow = tuple(ipaddress.ip_network(cidr, strict=False) for cidr in allow)

    def refused(self, ip: IPAddress) -> bool:
        """True for any address that is not plainly public, unless an allowed range holds it."""
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        if any(ip in net for net in self.allow):
            return False
        # is_global is False for private, loopback, link-local (169.254.169.254, the cloud
        # metadata address), shared (100.64/10), reserved and documentation ranges.
        return not ip.is_global or ip.is_multicast or ip.is_unspecified

    async def resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        """The addresses `host` resolves to, all checked; FetchError if any is refused."""
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
            found: list[IPAddress] = [literal]
        except ValueError:
            loop = asyncio.get_running_loop()
            try:
                infos = await asyncio.wait_for(
                    loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout
                )
            except (TimeoutError, OSError) as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
            found = list(dict.fromkeys(ipaddress.ip_address(i[4][0].split("%")[0]) for i in infos))
        bad = [str(ip) for ip in found if self.refused(ip)]
        if bad:
            raise FetchError(
                f"refused address {bad[0]} for {host}: private, loopback, link-local or "
                "reserved networks are not fetched (see VEILLE_ALLOW_NETWORKS)"
            )
        return [str(ip) for ip in found]


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with every TCP connection checked by the guard first."""

    def __init__(self, guard: AddressGuard) -> None:
        self.guard = guard
        self.inner = AsyncioBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.guard.resolve(host, port, timeout)
        error: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error or httpcore.ConnectError(f"no address for {host}")

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable | None = None
    ):  # noqa: ANN201
        raise FetchError("unix sockets are never fetched")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
