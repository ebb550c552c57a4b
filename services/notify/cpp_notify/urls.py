"""The receiver address policy: where notify may send, and how it connects.

Server-side request forgery is the risk: a partner who could point a
subscription at ``http://127.0.0.1:5001/...`` or a cloud metadata address
would make the platform call its own network. So:

* a receiver URL is ``https`` (``http`` only for a subscription an admin
  allowed onto a private network), without user info or a fragment;
* every address its host resolves to must be public (not loopback, private,
  link-local, multicast, reserved, shared, or unspecified; IPv4-mapped IPv6
  is judged as the IPv4 it maps), unless an admin set ``allow_private``;
* the check is made again at every delivery, and the delivery connects to
  the very address checked (TLS still verifies the host name), so a DNS
  answer that changes between the check and the connection (rebinding)
  cannot redirect it; redirects are never followed.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL = 2000


class UrlRefused(ValueError):
    """The address is not one notify may deliver to (a 422 naming why)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written (for Host, SNI and certificate checks)
    port: int
    path: str  # path and query
    address: str  # the resolved IP address to connect to


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local
                                 or ip.is_private or ip.is_unspecified)


def parse(url: str, *, allow_private: bool) -> tuple[str, str, int, str]:
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
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


def resolve(url: str, *, allow_private: bool) -> Target:
    """Check ``url`` against the policy now and return the address to
    connect to; ``UrlRefused`` says why not."""
    scheme, host, port, path = parse(url, allow_private=allow_private)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(f"the host {host!r} does not resolve: {exc}") from None
    addresses = []
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not allow_private and not _is_public(ip):
            raise UrlRefused(f"the host {host!r} resolves to {ip}, which is not a public address; "
                             "an admin may allow a private receiver")
        addresses.append(str(ip))
    if not addresses:
        raise UrlRefused(f"the host {host!r} has no address")
    return Target(scheme, host, port, path, addresses[0])
