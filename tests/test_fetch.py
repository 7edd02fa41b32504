"""Fetching pages: the address rules as a table, then real fetches from a local server."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import AsyncIterator

import pytest

from bot.fetch import (
    MAX_PAGE_BYTES,
    FetchError,
    FetchPolicy,
    IPAddress,
    Problem,
    address_rule,
    any_unicast,
    fetch_page,
    forbidden,
    html_type,
    public_address,
    read_capped,
    redirect_target,
    web_address,
)
from tests.page_server import CHUNK, ENDLESS_LIMIT, PageServer


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),  # loopback
        ("127.9.9.9", False),
        ("::1", False),
        ("10.1.2.3", False),  # RFC 1918
        ("172.16.0.1", False),
        ("172.31.255.254", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # link-local (cloud metadata)
        ("fe80::1", False),
        ("fc00::1", False),  # unique-local
        ("fd12:3456::1", False),
        ("0.0.0.0", False),  # unspecified
        ("::", False),
        ("224.0.0.1", False),  # multicast
        ("ff02::1", False),
        ("100.64.0.1", False),  # shared address space (carrier NAT)
        ("192.0.2.1", False),  # documentation
        ("255.255.255.255", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("::ffff:10.0.0.1", False),
        ("::ffff:93.184.216.34", True),
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("2002:5db8:d822::", True),  # 6to4 of 93.184.216.34
    ],
)
def test_public_address(address: str, public: bool) -> None:
    assert public_address(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("127.0.0.1", True),
        ("10.0.0.1", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("ff02::1", False),
    ],
)
def test_private_hosts_allowed_still_refuses_unspecified_and_multicast(
    address: str, allowed: bool
) -> None:
    assert any_unicast(ipaddress.ip_address(address)) is allowed
    assert address_rule(True) is any_unicast and address_rule(False) is public_address


def test_a_host_is_refused_if_any_of_its_addresses_is() -> None:
    addresses: list[IPAddress] = [
        ipaddress.ip_address("93.184.216.34"),
        ipaddress.ip_address("127.0.0.1"),
    ]
    assert forbidden(addresses, public_address) == ipaddress.ip_address("127.0.0.1")
    assert forbidden(addresses[:1], public_address) is None


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("https://kompas.com/a/b", "https://kompas.com/a/b"),
        ("  http://Kompas.COM/a?x=1#top ", "http://kompas.com/a?x=1"),
        ("ftp://kompas.com/a", None),
        ("javascript:alert(1)", None),
        ("file:///etc/passwd", None),
        ("kompas.com/a", None),
        ("https://user:secret@kompas.com/", None),
        ("https:///nohost", None),
        ("http://[::1", None),
    ],
)
def test_web_address(text: str, url: str | None) -> None:
    if url is None:
        with pytest.raises(FetchError) as refused:
            web_address(text)
        assert refused.value.problem is Problem.BAD_URL
    else:
        assert str(web_address(text)) == url


@pytest.mark.parametrize(
    ("location", "target"),
    [
        ("/b", "https://site.test/b"),
        ("c", "https://site.test/a/c"),
        ("//other.test/x", "https://other.test/x"),
        ("http://127.0.0.1:9/x", "http://127.0.0.1:9/x"),
        ("gopher://site.test/", None),
        ("data:text/html,hi", None),
    ],
)
def test_redirect_target(location: str, target: str | None) -> None:
    current = web_address("https://site.test/a/b")
    if target is None:
        with pytest.raises(FetchError):
            redirect_target(current, location)
    else:
        assert str(redirect_target(current, location)) == target


@pytest.mark.parametrize(
    ("content_type", "html"),
    [
        ("text/html", True),
        ("Text/HTML; charset=UTF-8", True),
        ("application/xhtml+xml", False),
        ("application/pdf", False),
        ("text/plain", False),
        (None, False),
    ],
)
def test_html_type(content_type: str | None, html: bool) -> None:
    assert html_type(content_type) is html


async def test_a_body_is_read_only_until_it_passes_the_limit() -> None:
    consumed = 0

    async def ten_megabytes() -> AsyncIterator[bytes]:
        nonlocal consumed
        for _ in range(10 * 1024 * 1024 // CHUNK):
            consumed += 1
            yield b"x" * CHUNK

    with pytest.raises(FetchError) as refused:
        await read_capped(ten_megabytes(), MAX_PAGE_BYTES)
    assert refused.value.problem is Problem.TOO_LARGE
    assert consumed == MAX_PAGE_BYTES // CHUNK + 1  # one chunk past the limit, no more

    async def small() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cd"

    assert await read_capped(small(), 4) == b"abcd"


LOCAL = ipaddress.ip_address("127.0.0.1")


def only_local(address: IPAddress) -> bool:
    """A policy for the tests: 127.0.0.1 alone counts as public."""
    return address == LOCAL


def policy(**changes: object) -> FetchPolicy:
    return FetchPolicy(allowed=only_local, **changes)  # type: ignore[arg-type]


async def problem_of(url: str, fetch_policy: FetchPolicy) -> Problem:
    with pytest.raises(FetchError) as refused:
        await fetch_page(url, fetch_policy)
    return refused.value.problem


async def test_fetches_a_page_from_the_local_server(pages: PageServer) -> None:
    page = await fetch_page(f"{pages.base_url}/berita-navigasi", policy())
    assert page.url == f"{pages.base_url}/berita-navigasi"
    assert b"Banjir rob setinggi 70 sentimeter" in page.html
    assert page.encoding == "utf-8"


async def test_private_addresses_are_refused_before_any_request(pages: PageServer) -> None:
    with pytest.raises(FetchError) as refused:
        await fetch_page(f"{pages.base_url}/berita-navigasi", FetchPolicy())
    assert refused.value.problem is Problem.PRIVATE
    assert "127.0.0.1" in str(refused.value)
    port = pages.base_url.rsplit(":", 1)[1]
    # A name is resolved first: localhost is the machine itself.
    localhost = f"http://localhost:{port}/berita-navigasi"
    assert await problem_of(localhost, FetchPolicy()) is Problem.PRIVATE

    # A name is refused if any of its addresses is, though another would be allowed.
    async def both(host: str, port: int) -> list[IPAddress]:
        return [LOCAL, ipaddress.ip_address("::1")]

    assert await problem_of(localhost, policy(resolve=both)) is Problem.PRIVATE
    assert pages.requests == []


async def test_redirects_are_followed_and_each_hop_is_checked(pages: PageServer) -> None:
    target = f"{pages.base_url}/dateline-subjudul"
    page = await fetch_page(f"{pages.base_url}/redirect?to={target}", policy())
    assert page.url == target and b"Indramayu" in page.html
    # A redirect to a private address (127.0.0.2 here: this test's policy allows only
    # 127.0.0.1) is refused without connecting to it.
    port = pages.base_url.rsplit(":", 1)[1]
    hostile = f"{pages.base_url}/redirect?to=http://127.0.0.2:{port}/berita-navigasi"
    assert await problem_of(hostile, policy()) is Problem.PRIVATE
    assert [path for path, _ in pages.requests] == ["/redirect", "/dateline-subjudul", "/redirect"]


async def test_a_redirect_loop_stops_after_five_redirects(pages: PageServer) -> None:
    assert await problem_of(f"{pages.base_url}/loop", policy()) is Problem.REDIRECTS
    assert len(pages.requests) == 6  # the first request and five redirects


async def test_a_hanging_page_times_out(pages: PageServer) -> None:
    started = time.monotonic()
    assert await problem_of(f"{pages.base_url}/hang", policy(timeout=0.5)) is Problem.TIMEOUT
    assert time.monotonic() - started < 5


async def test_a_page_over_the_limit_is_refused_without_reading_it(pages: PageServer) -> None:
    assert await problem_of(f"{pages.base_url}/big", policy()) is Problem.TOO_LARGE
    assert await problem_of(f"{pages.base_url}/endless", policy()) is Problem.TOO_LARGE
    # The client stopped reading at 5 MB; what the server wrote beyond that sat in buffers.
    assert pages.endless_sent < ENDLESS_LIMIT // 2


async def test_not_html_and_error_statuses_are_refused(pages: PageServer) -> None:
    assert await problem_of(f"{pages.base_url}/pdf", policy()) is Problem.NOT_HTML
    assert await problem_of(f"{pages.base_url}/missing", policy()) is Problem.STATUS


async def test_a_name_is_resolved_once_and_the_checked_address_is_used(pages: PageServer) -> None:
    # DNS rebinding: the first answer is checked, a second (private) answer would follow. The
    # connection goes to the checked address, with the name in the Host header.
    answers = [[LOCAL], [ipaddress.ip_address("10.0.0.1")]]
    asked: list[str] = []

    async def rebinding(host: str, port: int) -> list[IPAddress]:
        asked.append(host)
        return list(answers.pop(0))

    port = int(pages.base_url.rsplit(":", 1)[1])
    page = await fetch_page(f"http://news.test:{port}/berita-navigasi", policy(resolve=rebinding))
    assert page.url == f"http://news.test:{port}/berita-navigasi"
    assert asked == ["news.test"]
    assert pages.requests == [("/berita-navigasi", f"news.test:{port}")]


async def test_an_unknown_name_and_a_closed_port_are_refused(pages: PageServer) -> None:
    async def nowhere(host: str, port: int) -> list[IPAddress]:
        raise FetchError(Problem.NO_ADDRESS, host)

    assert await problem_of("http://nowhere.test/", policy(resolve=nowhere)) is Problem.NO_ADDRESS
    assert await problem_of("http://127.0.0.1:1/", policy()) is Problem.CONNECTION
