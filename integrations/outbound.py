"""The policy for URLs that tenants and users set (chat webhooks today): where okrlink may post.

Why one place: a URL an admin types is a request okrlink makes on their behalf from inside its
own network. Without a policy, `https://169.254.169.254/...` reads the cloud's metadata service,
`https://10.0.0.5/...` an internal service, and a redirect turns the POST into a GET anywhere.
So every such URL goes through here, twice:

- when it is saved (`check`): `https` with a host and a path, and the host's addresses none of
  loopback, private (RFC 1918, fc00::/7), link-local (169.254/16, fe80::/10), carrier-grade NAT
  (100.64/10), multicast, unspecified or otherwise not globally routable (IPv4-mapped, NAT64
  and 6to4 IPv6 forms are judged by the IPv4 address they carry);
- when it is used (`post_json`): the host is resolved once, every address checked, and the
  connection made to an address that was checked, never through a second lookup, so a DNS
  answer that changes in between (rebinding) reaches nothing. TLS still sends the host name
  (SNI) and verifies the certificate against it, trusting `REQUESTS_CA_BUNDLE`, then
  `SSL_CERT_FILE`, else the system store. Redirects are never followed: a 3xx is `Refused`.

`OKRLINK_OUTBOUND_ALLOW_NETWORKS` (comma-separated CIDRs) lets an operator allow internal chat
servers and test receivers; with `OKRLINK_DEV=1` loopback is allowed, over `http` too (the
demo's local receiver). A host that does not resolve when it is saved is accepted: DNS may be
down for a moment, and the check made when posting is the one that protects.

Posting uses the standard library's `http.client`, which logs nothing: a webhook URL is a
secret (Slack's path, Teams' `sig=`), and HTTP libraries log request paths at debug level.
"""

from __future__ import annotations

import functools
import http.client
import ipaddress
import json
import os
import socket
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from sync.errors import Invalid, Refused, Transient

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolve = Callable[[str, int], Sequence[str]]
"""A host name and port to its addresses (as text); raises `OSError` when it does not resolve."""

SETTING: Final = "OKRLINK_OUTBOUND_ALLOW_NETWORKS"
TIMEOUT: Final = 15.0
MAX_URL: Final = 2000
MAX_ANSWER: Final = 64 * 1024
"""Bytes of an answer read: enough for any chat service's error, bounded whatever answers."""
USER_AGENT: Final = "okrlink"

# The categories the policy names in its refusals, checked in this order; anything else that
# is not globally routable (documentation, benchmarking, reserved ranges) is "reserved".
_CATEGORIES: Final[tuple[tuple[str, tuple[Network, ...]], ...]] = (
    ("unspecified", (ipaddress.ip_network("0.0.0.0/8"), ipaddress.ip_network("::/128"))),
    ("loopback", (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))),
    (
        "private",
        (
            ipaddress.ip_network("10.0.0.0/8"),
            ipaddress.ip_network("172.16.0.0/12"),
            ipaddress.ip_network("192.168.0.0/16"),
            ipaddress.ip_network("fc00::/7"),
            ipaddress.ip_network("fec0::/10"),
        ),
    ),
    (
        "link-local",
        (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10")),
    ),
    ("carrier-grade NAT", (ipaddress.ip_network("100.64.0.0/10"),)),
    ("multicast", (ipaddress.ip_network("224.0.0.0/4"), ipaddress.ip_network("ff00::/8"))),
)
_LOOPBACK: Final = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")


def parse_networks(raw: str) -> tuple[Network, ...]:
    """The networks of `OKRLINK_OUTBOUND_ALLOW_NETWORKS`; ValueError naming the bad entry."""
    found: list[Network] = []
    for part in raw.split(","):
        entry = part.strip()
        if not entry:
            continue
        try:
            found.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"{SETTING}: {entry[:60]} is not a network; give CIDRs such as 10.0.0.0/8"
            ) from None
    return tuple(found)


def system_resolve(host: str, port: int) -> list[str]:
    """The host's addresses as the system resolver gives them, each once, in its order."""
    seen: list[str] = []
    for _family, _type, _proto, _name, sockaddr in socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM
    ):
        address = str(sockaddr[0]).split("%", 1)[0]  # an IPv6 zone id is not part of it
        if address not in seen:
            seen.append(address)
    return seen


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (IPv4-mapped, NAT64, 6to4), else None."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def category(address: IPAddress) -> str | None:
    """Why an address is off limits ("loopback", "private", ...), None when it is public."""
    inner = embedded_ipv4(address)
    if inner is not None:
        return category(inner) or (None if inner.is_global else "reserved")
    for name, networks in _CATEGORIES:
        if any(address in network for network in networks if network.version == address.version):
            return name
    return None if address.is_global else "reserved"


def ca_bundle() -> str | None:
    """`REQUESTS_CA_BUNDLE`, then `SSL_CERT_FILE`; None means the system store."""
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        value = os.environ.get(name)
        if value:
            return value
    return None


def ssl_context() -> ssl.SSLContext:
    """A verifying client context (host names checked) trusting `ca_bundle()`."""
    return _context(ca_bundle())


@functools.lru_cache(maxsize=4)
def _context(cafile: str | None) -> ssl.SSLContext:
    # Loading a CA store costs tens of milliseconds; a context is safe to share across posts.
    return ssl.create_default_context(cafile=cafile)


@dataclass(frozen=True, slots=True)
class Target:
    """A URL the policy allowed: where to connect (the checked addresses) and what to ask."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Answer:
    """What the other side answered: its status, headers (names lower-cased), body's start."""

    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """Which URLs okrlink posts to; `check` at save time, `post_json` at send time."""

    allow_networks: tuple[Network, ...] = ()
    dev: bool = False
    resolve: Resolve = field(default=system_resolve)

    @classmethod
    def from_setting(
        cls, allow_networks: str, *, dev: bool, resolve: Resolve = system_resolve
    ) -> OutboundPolicy:
        """The policy of `OKRLINK_OUTBOUND_ALLOW_NETWORKS` and `OKRLINK_DEV`."""
        return cls(parse_networks(allow_networks), dev, resolve)

    # -- the rules ---------------------------------------------------------------------------

    def refusal(self, address: IPAddress) -> str | None:
        """Why posting to `address` is refused, None when it is allowed."""
        if any(
            address in network
            for network in self.allow_networks
            if network.version == address.version
        ):
            return None
        if self.dev and _is_loopback(address):
            return None
        return category(address)

    def _split(self, url: str) -> tuple[str, str, int, str]:
        """Scheme, host (IDNA), port and request path of a well-formed URL; Invalid if not."""
        if len(url) > MAX_URL or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
            raise Invalid("the webhook URL is not a URL", field="url", code="url_invalid")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise Invalid("the webhook URL is not a URL", field="url", code="url_invalid") from exc
        if parts.scheme not in ("https", "http"):
            raise Invalid("only https webhook URLs are accepted", field="url", code="url_not_https")
        if not parts.hostname or not parts.path:
            raise Invalid(
                "the webhook URL needs a host and a path", field="url", code="url_invalid"
            )
        if parts.username is not None or parts.password is not None:
            raise Invalid(
                "the webhook URL may not carry a user name or password",
                field="url",
                code="url_invalid",
            )
        try:
            host = parts.hostname.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise Invalid(
                "the webhook URL's host is not a host name", field="url", code="url_invalid"
            ) from exc
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path

    def _judge(self, scheme: str, addresses: Sequence[IPAddress]) -> None:
        """Invalid (code `url_not_allowed`) when any address is off limits, or `http` is
        asked for anything but dev loopback."""
        if scheme == "http" and not self.dev:
            raise Invalid("only https webhook URLs are accepted", field="url", code="url_not_https")
        for address in addresses:
            reason = self.refusal(address)
            if reason is not None:
                raise Invalid(
                    f"the webhook URL's host is a {reason} address, which okrlink does not "
                    f"post to ({SETTING} allows a network)",
                    field="url",
                    code="url_not_allowed",
                )
        if scheme == "http" and not (self.dev and addresses and all(map(_is_loopback, addresses))):
            raise Invalid("only https webhook URLs are accepted", field="url", code="url_not_https")

    def check(self, url: str) -> str:
        """The URL (stripped) when it may be saved; Invalid with `field="url"` and a code
        (`url_invalid`, `url_not_https`, `url_not_allowed`) otherwise."""
        url = url.strip()
        scheme, host, port, _path = self._split(url)
        literal = _literal(host)
        if literal is not None:
            self._judge(scheme, [literal])
            return url
        try:
            resolved = [ipaddress.ip_address(a) for a in self.resolve(host, port)]
        except (OSError, UnicodeError, ValueError):
            resolved = []  # not resolvable now: judged again, and refused, when posting
        self._judge(scheme, resolved)
        return url

    def target(self, url: str) -> Target:
        """Resolve once and check: where a post to `url` may go. Raises `Refused` (never to
        be tried again as is) or `Transient` (the host does not resolve now)."""
        try:
            scheme, host, port, path = self._split(url.strip())
        except Invalid as exc:
            raise Refused(exc.message) from None
        literal = _literal(host)
        if literal is not None:
            addresses: list[IPAddress] = [literal]
        else:
            try:
                addresses = [ipaddress.ip_address(a) for a in self.resolve(host, port)]
            except (OSError, UnicodeError, ValueError) as exc:
                raise Transient("the webhook's host does not resolve") from exc
            if not addresses:
                raise Transient("the webhook's host does not resolve")
        try:
            self._judge(scheme, addresses)
        except Invalid as exc:
            raise Refused(exc.message) from None
        return Target(scheme, host, port, path, tuple(str(a) for a in addresses))

    # -- posting -----------------------------------------------------------------------------

    def post_json(
        self, url: str, payload: Mapping[str, Any], *, timeout: float = TIMEOUT
    ) -> Answer:
        """POST `payload` as JSON to a checked address of `url`'s host; never follows a
        redirect (a 3xx raises `Refused`, saying nothing of where it pointed). No answer at
        all (refused, reset, timeout, TLS) raises `Transient`, naming only the failure's kind."""
        target = self.target(url)
        connection = self._connect(target, timeout)
        body = json.dumps(dict(payload)).encode()
        try:
            connection.request(
                "POST",
                target.path,
                body=body,
                headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
            )
            response = connection.getresponse()
            data = response.read(MAX_ANSWER)
            answer = Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
        except (OSError, http.client.HTTPException) as exc:
            raise Transient(f"no answer: {type(exc).__name__}") from None
        finally:
            connection.close()
        if 300 <= answer.status < 400:
            raise Refused(
                f"the webhook answered a redirect ({answer.status}), which okrlink does not follow",
                status=answer.status,
            )
        return answer

    def _connect(self, target: Target, timeout: float) -> http.client.HTTPConnection:
        """A connection to the first checked address that accepts one."""
        failure: Exception | None = None
        for address in target.addresses:
            connection: http.client.HTTPConnection
            if target.scheme == "https":
                connection = _PinnedHTTPS(target.host, target.port, address, timeout)
            else:
                connection = _PinnedHTTP(target.host, target.port, address, timeout)
            try:
                connection.connect()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                failure = exc
                continue
            return connection
        kind = type(failure).__name__ if failure is not None else "no address"
        raise Transient(f"no answer: {kind}") from None


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _is_loopback(address: IPAddress) -> bool:
    inner = embedded_ipv4(address)
    if inner is not None:
        return inner.is_loopback
    return any(address in n for n in _LOOPBACK if n.version == address.version)


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to one given address; the Host header still names the host."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPS(_PinnedHTTP):
    """HTTPS to one given address, with SNI and certificate verification for the host name."""

    default_port = http.client.HTTPS_PORT

    def connect(self) -> None:
        super().connect()
        self.sock = ssl_context().wrap_socket(self.sock, server_hostname=self.host)
