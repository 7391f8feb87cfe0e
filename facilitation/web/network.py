"""Which address phones in the room can reach: this machine's LAN addresses, found without network traffic.

A host who opens ``http://127.0.0.1:8000/new`` on the laptop would otherwise get a join URL and QR code
naming 127.0.0.1, which on a phone means the phone itself. When a request comes from loopback and the
server listens on every interface, links name the laptop's LAN address instead.

How the address is found, cheapest and most telling first, with no packet sent:

1. *The routing table*: ``connect()`` on a UDP socket only asks the kernel which route and source address
   it would use for a destination; nothing is sent. Private destinations (10/8, 172.16/12, 192.168/16)
   give the address of the interface facing the local network (the Wi-Fi), not a VPN's or a bridge's
   unless one of those owns that route.
2. *Interface enumeration* where the system offers it to Python without extra packages: interface names
   with ``socket.if_nameindex`` and each one's IPv4 address by the ``SIOCGIFADDR`` ioctl (Linux; macOS uses
   the same ``ifreq`` layout, untested here). Named interfaces let us drop virtual ones (Docker bridges,
   veth pairs, libvirt, VirtualBox, VMware, VPN tunnels) that phones cannot reach.
3. ``getaddrinfo(gethostname())``: the last resort, when neither of the above answered (it may wait on DNS).

``FACILITATION_PUBLIC_URL`` always wins: behind a proxy or with a name phones resolve, it is the truth.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import time
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "advertised_base",
    "interface_of",
    "is_loopback",
    "is_wildcard",
    "join_base",
    "lan_addresses",
]

ROUTE_PROBES = ("192.168.255.255", "10.255.255.255", "172.31.255.255")
"""Private destinations whose route names the LAN-facing interface; connect() on UDP sends nothing."""
VIRTUAL_PREFIXES = (
    "docker", "br-", "veth", "virbr", "vboxnet", "vmnet", "lxcbr", "lxdbr", "cni", "flannel", "cali",
    "kube", "tun", "tap", "utun", "wg", "tailscale", "zt", "ifb", "dummy", "awdl", "llw", "gif", "stf",
)
"""Interface names of container bridges, hypervisors and VPNs: phones on the Wi-Fi cannot reach them."""
CACHE_SECONDS = 15.0
"""Addresses are re-read this often: a laptop may change networks between two meetings."""
_SIOCGIFADDR = {"linux": 0x8915, "darwin": 0xC0206921}

_cache: tuple[float, list[str]] | None = None


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]").split("%")[0])
    except ValueError:
        return None


def is_loopback(host: str | None) -> bool:
    """True for names that mean "this machine only": 127.0.0.0/8, ::1, localhost."""
    if not host:
        return False
    if host.lower().rstrip(".") in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    address = _ip(host)
    return address is not None and address.is_loopback


def is_wildcard(host: str | None) -> bool:
    """True for a bind address meaning every interface: 0.0.0.0, ::, or empty."""
    if not host:
        return True
    address = _ip(host)
    return address is not None and address.is_unspecified


def _usable(text: str) -> bool:
    address = _ip(text)
    return (address is not None and address.version == 4 and not address.is_loopback
            and not address.is_link_local and not address.is_unspecified and not address.is_multicast)


def _routed_addresses() -> list[str]:
    found: list[str] = []
    for destination in ROUTE_PROBES:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect((destination, 9))  # UDP: picks a route and a source address, sends nothing
                address = str(probe.getsockname()[0])
            except OSError:  # no route at all (offline, airplane mode)
                continue
        if _usable(address) and address not in found:
            found.append(address)
    return found


def _interface_addresses() -> dict[str, str]:
    """address -> interface name, where the system offers the ioctl (Linux, macOS); empty elsewhere."""
    request = _SIOCGIFADDR.get("linux" if sys.platform.startswith("linux") else sys.platform)
    if request is None or not hasattr(socket, "if_nameindex"):
        return {}
    try:
        import fcntl
        import struct
    except ImportError:
        return {}
    found: dict[str, str] = {}
    try:
        names = [name for _, name in socket.if_nameindex()]
    except OSError:
        return {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for name in names:
            try:
                answer = fcntl.ioctl(sock.fileno(), request, struct.pack("256s", name.encode()[:15]))
            except OSError:  # no IPv4 address on this interface
                continue
            address = socket.inet_ntoa(answer[20:24])
            if _usable(address):
                found.setdefault(address, name)
    return found


def _hostname_addresses() -> list[str]:
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return []
    return [str(info[4][0]) for info in infos if _usable(str(info[4][0]))]


def _is_virtual(interface: str | None) -> bool:
    return interface is not None and interface.lower().startswith(VIRTUAL_PREFIXES)


def _detect() -> list[str]:
    interfaces = _interface_addresses()
    routed = _routed_addresses()
    ordered: list[str] = []
    # The hostname lookup may wait on DNS or mDNS (seconds on some Macs), and this runs in request handlers:
    # it is the last resort, for systems where neither the routing table nor the interfaces answered.
    fallback = [] if routed or interfaces else _hostname_addresses()
    for address in routed + list(interfaces) + fallback:
        if address not in ordered and not _is_virtual(interfaces.get(address)):
            ordered.append(address)
    # The routed address first, then private (RFC 1918) ones, then any other: a stable, explainable order.
    return sorted(ordered, key=lambda a: (a not in routed, not ipaddress.ip_address(a).is_private))


def lan_addresses(*, fresh: bool = False) -> list[str]:
    """This machine's IPv4 addresses that phones on the same network may reach, best first; may be empty."""
    global _cache
    now = time.monotonic()
    if fresh or _cache is None or now - _cache[0] > CACHE_SECONDS:
        _cache = (now, _detect())
    return list(_cache[1])


def interface_of(address: str) -> str | None:
    """The interface name holding ``address``, where the system can tell."""
    return _interface_addresses().get(address)


def _netloc(host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None else f"{shown}:{port}"


def advertised_base(bind_host: str, port: int, public_url: str | None = None, scheme: str = "http") -> str:
    """The base URL to print and put in reports for a server bound on ``bind_host``:``port``.

    The public URL if set; for a wildcard bind, the best LAN address (loopback when there is none); else
    the bound address itself.
    """
    if public_url:
        return public_url.rstrip("/")
    if is_wildcard(bind_host):
        lan = lan_addresses()
        return f"{scheme}://{_netloc(lan[0] if lan else '127.0.0.1', port)}"
    return f"{scheme}://{_netloc(bind_host, port)}"


def join_base(request_base: str, bind_host: str, public_url: str | None = None) -> str:
    """The base URL for links handed out in answer to a request that reached us at ``request_base``.

    A request addressed to loopback (the host's own browser on the laptop) gets the LAN address when the
    server listens on every interface, or on that LAN address; any other request keeps the address it
    used, which that client evidently reaches.
    """
    if public_url:
        return public_url.rstrip("/")
    parts = urlsplit(request_base)
    if not (is_loopback(parts.hostname) or is_wildcard(parts.hostname)) or is_loopback(bind_host):
        return request_base.rstrip("/")
    if is_wildcard(bind_host):
        lan = lan_addresses()
        if not lan:
            return request_base.rstrip("/")
        host = lan[0]
    else:
        host = bind_host
    return urlunsplit((parts.scheme, _netloc(host, parts.port), parts.path.rstrip("/"), "", ""))
