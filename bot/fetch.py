"""Fetching a web page an admin links to: public addresses only, bounded in time, size and hops.

The bot fetches what an admin sends it, so it must not become a way to reach the machine it
runs on or its private network (a link to `http://127.0.0.1:8080/admin`, or to a name that
resolves there). Each hop's host is resolved here, every address it has is checked, and the
connection goes to an address that was checked: the request is sent to that IP with the
original name in the Host header and, for https, as the TLS server name (SNI, and the name
the certificate is checked against). A DNS answer that changes between the check and the
connection (DNS rebinding) therefore changes nothing. Redirects are followed here, hop by
hop, each checked the same way, at most `MAX_REDIRECTS`; the body is read as a stream and
abandoned past `MAX_PAGE_BYTES`, and the whole fetch has one deadline.

The decisions (which addresses are allowed, what a redirect leads to, when a body is too
large) are pure functions, tested without a network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

import httpx

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
AddressRule = Callable[[IPAddress], bool]

MAX_PAGE_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
# Each network step (connect, each read, each write) gives up after this long; the whole fetch
# has its own deadline (`FetchPolicy.timeout`).
STEP_TIMEOUT = 10.0
USER_AGENT = "Mozilla/5.0 (compatible; TanyaArtikelBot/0.1)"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class Problem(StrEnum):
    """Why a page could not be fetched; each has an English text with `{}` for its values."""

    BAD_URL = "not a web address (it must start with http:// or https://)"
    NO_ADDRESS = "the name {0} could not be resolved"
    PRIVATE = "{0} is an address on this machine or a private network"
    TIMEOUT = "no complete answer within {0:g} seconds"
    REDIRECTS = "more than {0} redirects"
    STATUS = "the site answered with HTTP status {0}"
    NOT_HTML = "not a web page (content type {0})"
    TOO_LARGE = "the page is larger than {0:,} bytes"
    CONNECTION = "the site could not be reached ({0})"


class FetchError(Exception):
    """A page that was not fetched, and why."""

    def __init__(self, problem: Problem, *values: int | float | str) -> None:
        super().__init__(problem.value.format(*values))
        self.problem = problem
        self.values = values


@dataclass(frozen=True, slots=True)
class Page:
    """A fetched web page.

    Attributes:
        url: Where it was found, after redirects.
        html: Its bytes.
        encoding: The character set its Content-Type names, if it names one.
    """

    url: str
    html: bytes
    encoding: str | None = None


def public_address(address: IPAddress) -> bool:
    """Whether `address` may be fetched from: a public unicast address.

    Loopback, link-local, private (RFC 1918, unique-local fc00::/7), shared (100.64/10),
    unspecified, multicast, reserved and documentation addresses are not. An IPv4 address
    written as IPv6 (`::ffff:127.0.0.1`, or 6to4, Teredo) is judged as the IPv4 address.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None:
            return public_address(embedded)
    return address.is_global and not address.is_multicast


def any_unicast(address: IPAddress) -> bool:
    """Whether `address` may be fetched from when private hosts are allowed: any unicast one."""
    return not (address.is_multicast or address.is_unspecified)


def address_rule(allow_private: bool) -> AddressRule:
    """The addresses the bot may fetch from (`INGEST_ALLOW_PRIVATE_HOSTS`)."""
    return any_unicast if allow_private else public_address


def forbidden(addresses: list[IPAddress], allowed: AddressRule) -> IPAddress | None:
    """The first address of a host that may not be fetched from, or None if all may.

    A host is refused if any of its addresses is: which one a connection would use is not
    ours to choose.
    """
    return next((address for address in addresses if not allowed(address)), None)


def web_address(text: str) -> httpx.URL:
    """`text` as an http(s) URL with a host and no user name or password.

    Raises:
        FetchError: `BAD_URL` if it is not one.
    """
    try:
        url = httpx.URL(text.strip())
    except (httpx.InvalidURL, ValueError) as error:
        raise FetchError(Problem.BAD_URL) from error
    if url.scheme not in {"http", "https"} or not url.host or url.userinfo:
        raise FetchError(Problem.BAD_URL)
    return url.copy_with(fragment=None)


def redirect_target(current: httpx.URL, location: str) -> httpx.URL:
    """Where a redirect from `current` to `location` (absolute or relative) leads.

    Raises:
        FetchError: `BAD_URL` if that is not an http(s) address.
    """
    try:
        joined = current.join(location.strip())
    except (httpx.InvalidURL, ValueError) as error:
        raise FetchError(Problem.BAD_URL) from error
    return web_address(str(joined))


async def read_capped(chunks: AsyncIterable[bytes], limit: int) -> bytes:
    """The bytes of `chunks`, read only until they pass `limit`.

    Raises:
        FetchError: `TOO_LARGE` as soon as more than `limit` bytes have come.
    """
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise FetchError(Problem.TOO_LARGE, limit)
        parts.append(chunk)
    return b"".join(parts)


def html_type(content_type: str | None) -> bool:
    """Whether a Content-Type header says HTML (`text/html; charset=utf-8`)."""
    return (content_type or "").split(";", 1)[0].strip().lower() == "text/html"


async def system_resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for `host`.

    Raises:
        FetchError: `NO_ADDRESS` if it gives none.
    """
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise FetchError(Problem.NO_ADDRESS, host) from error
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in found))
    if not addresses:
        raise FetchError(Problem.NO_ADDRESS, host)
    return addresses


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """How the bot fetches pages.

    Attributes:
        allowed: Which addresses may be connected to.
        timeout: Seconds the whole fetch may take, redirects included.
        max_bytes: The largest page read.
        max_redirects: The most redirects followed.
        resolve: Name resolution (the system's; tests give their own).
    """

    allowed: AddressRule = public_address
    timeout: float = 30.0
    max_bytes: int = MAX_PAGE_BYTES
    max_redirects: int = MAX_REDIRECTS
    resolve: Resolver = field(default=system_resolve)


async def fetch_page(text: str, policy: FetchPolicy) -> Page:
    """Fetch the HTML page at `text` as `policy` allows.

    Raises:
        FetchError: Why it was not fetched: a bad address, a private one (on any hop), too
            many redirects, an error status, not HTML, too large, too slow or unreachable.
    """
    url = web_address(text)
    try:
        async with asyncio.timeout(policy.timeout):
            return await _fetch(url, policy)
    except TimeoutError as error:
        raise FetchError(Problem.TIMEOUT, policy.timeout) from error
    except httpx.TimeoutException as error:
        raise FetchError(Problem.TIMEOUT, min(policy.timeout, STEP_TIMEOUT)) from error


async def _fetch(url: httpx.URL, policy: FetchPolicy) -> Page:
    timeout = httpx.Timeout(min(policy.timeout, STEP_TIMEOUT))
    headers = {"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml"}
    async with httpx.AsyncClient(
        timeout=timeout, follow_redirects=False, trust_env=False, headers=headers
    ) as client:
        for _ in range(policy.max_redirects + 1):
            response = await _connect(client, url, policy)
            try:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    url = redirect_target(url, response.headers["location"])
                    logger.debug("redirected to %s", url)
                    continue
                if not response.is_success:
                    raise FetchError(Problem.STATUS, response.status_code)
                content_type = response.headers.get("content-type")
                if not html_type(content_type):
                    raise FetchError(Problem.NOT_HTML, content_type or "none")
                length = response.headers.get("content-length", "")
                if length.isdigit() and int(length) > policy.max_bytes:
                    raise FetchError(Problem.TOO_LARGE, policy.max_bytes)
                body = await read_capped(response.aiter_bytes(), policy.max_bytes)
                return Page(str(url), body, response.charset_encoding)
            finally:
                await response.aclose()
    raise FetchError(Problem.REDIRECTS, policy.max_redirects)


async def _connect(
    client: httpx.AsyncClient, url: httpx.URL, policy: FetchPolicy
) -> httpx.Response:
    """Send a GET for `url` to one of its host's checked addresses; the response, unread.

    Raises:
        FetchError: If the host has an address that may not be used, or none answers.
    """
    host = url.host
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    addresses = [literal] if literal else await policy.resolve(host, port)
    if (refused := forbidden(addresses, policy.allowed)) is not None:
        raise FetchError(Problem.PRIVATE, str(refused) if literal else f"{host} ({refused})")
    failure: httpx.TransportError | None = None
    for address in addresses:
        request = _pinned(client, url, address, named=literal is None)
        try:
            return await client.send(request, stream=True)
        except httpx.ConnectError as error:  # try the host's next address
            failure = error
        except httpx.TimeoutException:
            raise
        except httpx.TransportError as error:
            raise FetchError(Problem.CONNECTION, type(error).__name__) from error
    assert failure is not None
    raise FetchError(Problem.CONNECTION, str(failure) or type(failure).__name__) from failure


def _pinned(
    client: httpx.AsyncClient, url: httpx.URL, address: IPAddress, *, named: bool
) -> httpx.Request:
    """A GET of `url` sent to `address`, the name kept in the Host header and for TLS."""
    if not named:
        return client.build_request("GET", url)
    name = url.raw_host.decode("ascii")
    host = name if url.port is None else f"{name}:{url.port}"
    extensions = {"sni_hostname": name} if url.scheme == "https" else {}
    return client.build_request(
        "GET", url.copy_with(host=str(address)), headers={"Host": host}, extensions=extensions
    )
