"""The receiver address policy: where notify may send, and how it connects.

Server-side request forgery is the risk: a partner who could point a
subscription at ``http://127.0.0.1:5001/...`` or a cloud metadata address
would make the platform call its own network. So:

* a receiver URL is ``https`` (``http`` only for a subscription an admin
  allowed onto a private network), without user info or a fragment;
* every address its host resolves to must be public (not loopback, private,
  link-local, multicast, reserved, shared, or unspecified), and no IPv6
  address that carries an IPv4 one (IPv4-mapped ``::ffff:0:0/96``,
  IPv4-compatible ``::/96``, 6to4 ``2002::/16``, Teredo ``2001::/32``,
  NAT64 ``64:ff9b::/96`` and ``64:ff9b:1::/48``), whichever IPv4 address
  it carries: a relay or translator would deliver it where the check did
  not look; unless an admin set ``allow_private``;
* the port is 443 or 8443, or one the deployment allows
  (``CPP_NOTIFY_RECEIVER_PORTS=443,8443,9443``), so a public host's other
  services (SSH, mail, databases) are out of reach; a receiver an admin
  allowed onto a private network (``allow_private``) may use any port;
* the check is made again at every delivery, and the delivery connects to
  the very address checked (TLS still verifies the host name), so a DNS
  answer that changes between the check and the connection (rebinding)
  cannot redirect it; redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

from cpp_shared.config import ConfigError, Settings

MAX_URL = 2000
DEFAULT_PORTS = (443, 8443)


class UrlRefused(ValueError):
    """The address is not one notify may deliver to (a 422 naming why)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written (for Host, SNI and certificate checks)
    port: int
    path: str  # path and query
    address: str  # the resolved IP address to connect to


# The forms ipaddress has no property for (ipv4_mapped, sixtofour and
# teredo cover ::ffff:0:0/96, 2002::/16 and 2001::/32).
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def _carried_ipv4(ip: ipaddress.IPv6Address) -> str | None:
    """How an IPv6 address carries an IPv4 one, if it does."""
    if ip.ipv4_mapped is not None:
        return f"an IPv4-mapped address of {ip.ipv4_mapped}"
    if ip.sixtofour is not None:
        return f"a 6to4 address wrapping {ip.sixtofour}"
    if ip.teredo is not None:
        return f"a Teredo address wrapping {ip.teredo[1]}"
    if any(ip in net for net in _NAT64):
        return f"a NAT64 address translating {ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)}"
    if ip in _IPV4_COMPATIBLE and not (ip.is_loopback or ip.is_unspecified):
        return f"an IPv4-compatible address of {ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)}"
    return None


def _not_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why ``ip`` is not a public address, or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        carried = _carried_ipv4(ip)
        if carried:
            return carried
    if (
        not ip.is_global
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_unspecified
    ):
        return "not global"
    return None


def receiver_ports(settings: Settings) -> tuple[int, ...]:
    """The ports a public receiver may listen on: CPP_NOTIFY_RECEIVER_PORTS
    (then CPP_RECEIVER_PORTS), 443 and 8443 unless set."""
    text = settings.setting("RECEIVER_PORTS", ",".join(map(str, DEFAULT_PORTS)))
    try:
        ports = tuple(int(part) for part in text.split(","))
    except ValueError:
        ports = ()
    if not ports or any(not 0 < port < 65536 for port in ports):
        raise ConfigError(f"CPP_NOTIFY_RECEIVER_PORTS must list port numbers (1-65535), e.g. 443,8443; got {text!r}")
    return ports


def parse(url: str, *, allow_private: bool, ports: Collection[int] = DEFAULT_PORTS) -> tuple[str, str, int, str]:
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise UrlRefused(f"a URL of at most {MAX_URL} characters is required")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"not a valid URL: {exc}") from None
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed:
        raise UrlRefused("the URL must use https" if not allow_private else "the URL must use http or https")
    if parts.username or parts.password:
        raise UrlRefused("the URL may not carry a user name or password; the signature authenticates deliveries")
    if parts.fragment:
        raise UrlRefused("the URL may not have a fragment")
    host = parts.hostname
    if not host:
        raise UrlRefused("the URL has no host")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    port = port or (443 if parts.scheme == "https" else 80)
    if not allow_private and port not in ports:
        raise UrlRefused(
            f"port {port} is not one a receiver may use; allowed: {', '.join(map(str, ports))} "
            "(a deployment allows others with CPP_NOTIFY_RECEIVER_PORTS)"
        )
    return parts.scheme, host, port, path


def resolve(url: str, *, allow_private: bool, ports: Collection[int] = DEFAULT_PORTS) -> Target:
    """Check ``url`` against the policy now and return the address to
    connect to; ``UrlRefused`` says why not."""
    scheme, host, port, path = parse(url, allow_private=allow_private, ports=ports)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(f"the host {host!r} does not resolve: {exc}") from None
    addresses = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        why = None if allow_private else _not_public(ip)
        if why:
            detail = "" if why == "not global" else f" ({why})"
            raise UrlRefused(
                f"the host {host!r} resolves to {ip}, which is not a public address{detail}; "
                "an admin may allow a private receiver"
            )
        addresses.append(str(ip))
    if not addresses:
        raise UrlRefused(f"the host {host!r} has no address")
    return Target(scheme, host, port, path, addresses[0])
