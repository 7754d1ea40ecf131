"""Who is asking: the person behind a request, so that limits hold per person and not per an id the client
makes up. A person is a login (with --auth) or else a client address: the peer's address, or behind a
proxy that --trust-proxy vouches for, the address that proxy appended to X-Forwarded-For. IPv6 addresses
count per /64 network (what one home or one server gets).

The app's own MCP server calls the API over loopback on behalf of its MCP clients: the request guard marks
those calls with a header that carries a secret of this process and the person, so each MCP client is
counted (and logged in) as itself, not as the loopback address."""

from __future__ import annotations

import hmac
import ipaddress
import secrets

VOUCH = b"x-atelier-person"  # set only by this app; a client's own copy is dropped


class People:
    def __init__(self, trust_proxy: bool = False, trust_loopback_proxy: bool = False):
        self.trust_proxy, self.trust_loopback_proxy = trust_proxy, trust_loopback_proxy
        self.secret = secrets.token_urlsafe(24)

    def of(self, scope, user: str | None = None) -> str:
        """The person behind an ASGI request: its vouched person, its login, or its (network) address."""
        if vouched := self.vouched(scope):
            return vouched
        if user:
            return "login:" + user
        return "address:" + network(self.address(scope))

    def address(self, scope) -> str:
        peer = (scope.get("client") or ("unknown", 0))[0]
        if self.trust_proxy or (self.trust_loopback_proxy and is_loopback(peer)):
            forwarded = header(scope, b"x-forwarded-for")
            if forwarded:
                return forwarded.split(",")[-1].strip()[:64] or peer
        return peer

    def vouched(self, scope) -> str | None:
        """The person a call of this app's own MCP bridge was made for (checked against the secret)."""
        value = header(scope, VOUCH)
        if value is None or not is_loopback((scope.get("client") or ("", 0))[0]):
            return None
        token, _, person = value.partition(" ")
        return person if person and hmac.compare_digest(token, self.secret) else None

    def vouch(self, person: str) -> str:
        return f"{self.secret} {person}"


def header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def without_header(scope, name: bytes):
    return dict(scope, headers=[(k, v) for k, v in scope.get("headers", ()) if k.lower() != name])


def with_header(scope, name: bytes, value: str):
    return dict(without_header(scope, name), headers=[*without_header(scope, name)["headers"], (name, value.encode())])


def network(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if ip.version == 6 and not ip.ipv4_mapped:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip.ipv4_mapped or ip) if ip.version == 6 else str(ip)


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
