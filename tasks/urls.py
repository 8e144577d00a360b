"""URL normalization, site comparison and the stable article key.

Everything here is a pure function of its arguments: no network, no clock, no settings. The
warehouse key of an article is `article_id(canonical_url(...))`, so these rules decide what
counts as "the same article" and must stay deterministic and idempotent.

We use w3lib for percent-encoding and IDNA (it is idempotent and leaves existing escapes alone)
and courlan only for the public-suffix lookup in `same_site`. courlan's own `normalize_url` is
not used: it sorts query parameters, drops blank ones (`?amp`), rewrites `%20` as `+`, decodes
punycode hosts to Unicode and strips anything that merely *contains* "source", "ref" or "id"
(`?source=`, `?uid=`), which would change or merge URLs that point at different pages.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import SplitResult, unquote_plus, urljoin, urlsplit, urlunsplit

from courlan import extract_domain
from w3lib.url import safe_url_string

__all__ = [
    "TRACKING_PARAMS",
    "TRACKING_PREFIXES",
    "article_id",
    "canonical_url",
    "normalize_url",
    "same_site",
]

TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        # Ad-network click ids.
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "ttclid",
        "twclid",
        "li_fat_id",
        "igshid",
        # Mailchimp, HubSpot, Marketo.
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        # Google Analytics cross-domain linker.
        "_ga",
        "_gl",
        # Publisher and social share campaign tags.
        "ocid",
        "cmpid",
        "ito",
        "ncid",
        "sr_share",
        "ref_src",
        "ref_url",
        "spm",
        "smid",
        "s_cid",
        "xtor",
        "wt.mc_id",
    }
)
"""Query parameter names (compared lower-cased) that only track the click, never select content."""

TRACKING_PREFIXES: tuple[str, ...] = (
    "utm_",  # Google Analytics campaign tags
    "at_",  # AT Internet / Piano: at_medium, at_campaign, at_custom1...
    "pk_",  # Matomo/Piwik campaigns
    "mtm_",  # Matomo campaigns
    "hsa_",  # HubSpot ads
    "oly_",  # Omeda
)
"""Prefixes of tracking parameter names (lower-cased)."""

_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# WHATWG URL parsing removes tab and newline anywhere and trims C0 controls and spaces.
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_TRIM = "".join(map(chr, range(0x21))) + "\u00a0\ufeff"
_PERCENT_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")


def normalize_url(url: str, base: str | None = None) -> str | None:
    """Return `url` absolute and normalized, or None when it is not a usable http(s) URL.

    Resolved against `base` when relative; scheme and host lower-cased; default port, user
    info, fragment and tracking parameters removed; other query parameters kept in their
    order; dot segments resolved; non-ASCII percent-encoded (hosts as punycode). Applying it
    twice gives the same result.
    """
    if not isinstance(url, str):
        return None
    url = _TAB_NEWLINE.sub("", url).strip(_TRIM)
    if not url:
        return None
    if base:
        base = _TAB_NEWLINE.sub("", base).strip(_TRIM)
        try:
            url = urljoin(base, url)
        except ValueError:
            return None
    try:
        parts = urlsplit(safe_url_string(url))
        scheme = parts.scheme.lower()
        if scheme not in _SCHEMES:
            return None
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except (ValueError, UnicodeError):
        return None
    # A host left non-ASCII failed IDNA (a bidi override, say): not a name DNS can hold. C0
    # controls and DEL are forbidden in hosts (WHATWG); a flipped byte put a NUL in one.
    if not host or not host.isascii() or any(c in host for c in ' %<>\\^`{|}"'):
        return None
    if any(c < "!" or c == "\x7f" for c in host):
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    path = _upper_escapes(_remove_dot_segments(parts.path)) or "/"
    query = _strip_tracking(parts.query)
    return urlunsplit(SplitResult(scheme, netloc, path, query, ""))


def same_site(a: str, b: str) -> bool:
    """True when two URLs (or bare hosts) belong to the same registrable domain.

    The registrable domain is the public suffix plus one label, from the Public Suffix List
    that courlan ships (offline): `www.bbc.co.uk` and `news.bbc.co.uk` match, two
    `*.blogspot.com` blogs do not. Hosts without one (IP addresses, `localhost`) must be
    equal, ignoring a leading "www." and the port.
    """
    host_a, host_b = _host(a), _host(b)
    if not host_a or not host_b:
        return False
    if host_a == host_b:
        return True
    domain_a = extract_domain(f"http://{host_a}/")
    domain_b = extract_domain(f"http://{host_b}/")
    return domain_a is not None and domain_a == domain_b


def canonical_url(final_url: str, declared: str | None) -> str:
    """The URL an article is keyed by.

    The page's declared canonical (`rel=canonical` or `og:url`) wins when it is an absolute
    http(s) URL on the same site as `final_url`; a canonical pointing at another site is
    ignored, because a page must not be able to claim another publisher's key. Otherwise the
    normalized `final_url` (or `final_url` itself, stripped, if it cannot be normalized).
    """
    final = normalize_url(final_url) or final_url.strip()
    if declared and urlsplit(declared.strip()).scheme.lower() in _SCHEMES:
        normalized = normalize_url(declared)
        if normalized and same_site(normalized, final):
            return normalized
    return final


def article_id(canonical: str) -> str:
    """Stable warehouse key: the first 32 hex digits of SHA-256 of the normalized URL."""
    key = normalize_url(canonical) or canonical.strip()
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def hostname(url: str) -> str:
    """The URL's host, lower-cased, without a trailing dot; "" when there is none."""
    try:
        return (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return ""


def site_label(url: str) -> str | None:
    """`https://www.ukbdnews.com/x` → `ukbdnews`: the label a site most often calls itself."""
    labels = hostname(url).removeprefix("www.").split(".")
    return labels[-2] if len(labels) >= 2 else None


def _host(url_or_host: str) -> str:
    text = url_or_host.strip()
    return hostname(text if "//" in text else f"http://{text}").removeprefix("www.")


def _is_tracking(name: str) -> bool:
    name = unquote_plus(name).strip().lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def _strip_tracking(query: str) -> str:
    # Work on the raw pairs so that kept parameters keep their exact spelling and order;
    # parse_qsl/urlencode would re-encode them (and drop `?amp`-style blank ones).
    pairs = [p for p in query.split("&") if p and not _is_tracking(p.split("=", 1)[0])]
    return _upper_escapes("&".join(pairs))


def _upper_escapes(text: str) -> str:
    return _PERCENT_ESCAPE.sub(lambda m: m.group(0).upper(), text)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, so `/a/./b/../c` and `/a/c` are one URL."""
    if "." not in path:
        return path
    output: list[str] = []
    segments = path.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    result = "/".join(output)
    if path.startswith("/") and not result.startswith("/"):
        result = "/" + result
    return result
