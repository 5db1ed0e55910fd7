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
_V6 = ipaddress.IPv6Network
# IPv6 ranges whose last 32 bits are an IPv4 address a gateway or the host's stack may reach:
# IPv4-compatible (deprecated), SIIT (RFC 6145) and NAT64's well-known prefix (RFC 6052).
_EMBEDDING_LOW_32 = (_V6("::/96"), _V6("::ffff:0:0:0/96"), _V6("64:ff9b::/96"))
# Local-use NAT64 (RFC 8215) may embed the IPv4 address anywhere: refused whole.
_LOCAL_NAT64 = _V6("64:ff9b:1::/48")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (`::127.0.0.1`, `64:ff9b::7f00:1`,
    `2002:7f00:1::`, `::ffff:0:7f00:1`, Teredo's client), else None."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in _EMBEDDING_LOW_32) and int(ip) > 1:  # not :: nor ::1
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


class AddressGuard:
    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.allow = tuple(ipaddress.ip_network(cidr, strict=False) for cidr in allow)

    def refused(self, ip: IPAddress) -> bool:
        """True for any address that is not plainly public, unless an allowed range holds it.

        An IPv6 address that embeds an IPv4 one is judged by that IPv4 address too: NAT64
        and 6to4 gateways, or the host's own stack, would take the connection there."""
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        if any(ip in net for net in self.allow):
            return False
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.is_site_local or ip in _LOCAL_NAT64:  # fec0::/10: deprecated, still private
                return True
            inner = embedded_ipv4(ip)
            if inner is not None and self.refused(inner):
                return True
        # is_global is False for private, loopback, link-local (169.254.169.254, the cloud
        # metadata address), shared (100.64/10), reserved and documentation ranges.
        return not ip.is_global or ip.is_multicast or ip.is_unspecified

    async def resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        """The addresses `host` resolves to, all checked; FetchError if any is refused."""
        try:
            # "127.0.0.2." is 127.0.0.2 to the resolver of many systems: judged as such.
            literal = ipaddress.ip_address(host.strip("[]").rstrip("."))
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
