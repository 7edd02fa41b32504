"""A web page → a Markdown article with front matter, by trafilatura.

trafilatura finds the article in a page (its title, publication date, author and site name,
and its headings and paragraphs) and drops the rest: navigation, comments, sidebars, share
buttons, footers. The result is an article file in the corpus's Markdown format (see
`retrieval.frontmatter`), which `retrieval.corpus` then loads like any other.

Pure and synchronous: HTML in, text out; fetching pages is the caller's business. Extraction
takes from milliseconds to about a second on a large page, so a server runs it in a thread.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import trafilatura

from retrieval.frontmatter import Metadata, front_matter, iso_date, web_url

logger = logging.getLogger(__name__)

_SPACES = re.compile(r"\s+")
_TITLE_LINE = re.compile(r"^#\s+(.+?)\s*#*\s*$")
# htmldate's extensive search guesses dates from any text ("© 2025" becomes 1 January 2025);
# without it a date comes from the page's metadata, its markup or a date shown as one.
_DATES = {"extensive_search": False, "original_date": True}
# Less paragraph text than this is no article: a menu or a caption that the extractor's
# fallbacks picked up from a page with nothing else.
MIN_ARTICLE_CHARS = 120


@dataclass(frozen=True, slots=True)
class WebArticle:
    """The article found in a page.

    Attributes:
        metadata: Its title, address, date, author and site, where the page has them.
        markdown: The article file: front matter, `# title`, then its headings and paragraphs.
    """

    metadata: Metadata
    markdown: str


def html_article(html: bytes | str, url: str | None = None) -> WebArticle | None:
    """Extract the article of a page; None when it has no article text.

    Args:
        html: The page (bytes are decoded as the page declares, or as detected).
        url: Where it was fetched from; it becomes the article's `url`. Without one (an
            uploaded file) the page's own canonical address is used, if it gives one.

    Returns:
        The article, or None if the page has less than `MIN_ARTICLE_CHARS` of paragraph text
        (an index page, a login form, an empty or non-HTML document).
    """
    tree = trafilatura.load_html(html)
    if tree is None:
        return None
    found = trafilatura.extract_metadata(tree, default_url=url, date_config=_DATES)
    body = trafilatura.extract(
        trafilatura.load_html(html),  # extraction prunes the tree it is given
        url=url,
        output_format="markdown",
        include_formatting=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        favor_precision=True,
        with_metadata=False,
        date_extraction_params=_DATES,
    )
    if not body:
        return None
    lines = body.strip().splitlines()
    heading_title = None
    if lines and (first := _TITLE_LINE.match(lines[0])):
        heading_title = first.group(1)
        lines = lines[1:]
    paragraphs = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if sum(len(line.strip()) for line in paragraphs) < MIN_ARTICLE_CHARS:
        return None
    title = _clean(found.title) or _clean(heading_title)
    metadata = Metadata(
        title=title,
        url=web_url(url) or web_url(found.url),
        date=iso_date(found.date),
        author=_clean(found.author),
        site=_site(found.sitename, found.hostname, url or found.url),
    )
    text = front_matter(metadata)
    if title:
        text += f"# {title}\n\n"
    text += "\n".join(lines).strip() + "\n"
    return WebArticle(metadata, text)


def _site(name: str | None, hostname: str | None, url: str | None) -> str | None:
    """The site's name, unless it is only the address's host (which readers see anyway)."""
    site = _clean(name)
    if site is None:
        return None
    parts = urlsplit(url or "")
    hosts = {hostname, parts.netloc, parts.hostname}
    hosts |= {host.removeprefix("www.") for host in hosts if host}
    return None if site.lower() in hosts else site


def _clean(value: str | None) -> str | None:
    """One line of text, or None for nothing."""
    text = _SPACES.sub(" ", value or "").strip()
    return text or None
