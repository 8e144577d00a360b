"""`newsdesk feeds import | export | add`: move subscriptions in and out of the feeds file.

Exit codes as for every command: 0 done; 1 the site or file could not be read, or no feed was
found; 2 a usage error (bad OPML, a feeds file that would not be valid).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from urllib.parse import urlsplit

from rich.console import Console
from rich.markup import escape

from newsdesk.settings import Settings
from tasks.feeds.feedlist import FeedsFileError, append_feeds, load_feeds, new_feeds
from tasks.feeds.opml import OpmlError, read_opml, slug, write_opml
from tasks.models import FeedSpec

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def run_feeds_action(
    args: argparse.Namespace, settings: Settings, out: Console, err: Console
) -> int:
    feeds_file: Path = args.feeds or settings.feeds
    try:
        if args.feeds_action == "import":
            return _import(args.opml, feeds_file, args.tag, out, err)
        if args.feeds_action == "export":
            return _export(feeds_file, args.output, out)
        return _add(args, feeds_file, settings, out, err)
    except FeedsFileError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        return EXIT_USAGE


def _existing(feeds_file: Path) -> list[FeedSpec]:
    return load_feeds(feeds_file) if feeds_file.exists() else []


def _import(opml: Path, feeds_file: Path, tags: list[str], out: Console, err: Console) -> int:
    try:
        subscriptions = read_opml(opml.read_bytes())
    except OSError as exc:
        err.print(f"[red]error:[/] {opml}: {exc.strerror or exc}")
        return EXIT_FAILED
    except OpmlError as exc:
        err.print(f"[red]error:[/] {opml}: {escape(str(exc))}")
        return EXIT_USAGE
    candidates = []
    refused = 0
    for sub in subscriptions:
        if urlsplit(sub.url).scheme not in ("http", "https"):
            refused += 1
            continue
        name = slug(sub.title or "") or slug(urlsplit(sub.url).hostname or "") or "feed"
        candidates.append(
            FeedSpec(
                name=name,
                url=sub.url,
                tags=tuple(dict.fromkeys([*sub.tags, *tags])),
                language=sub.language,
            )
        )
    added, present = new_feeds(_existing(feeds_file), candidates)
    append_feeds(feeds_file, added)
    out.print(
        f"imported {len(added)} feeds from {opml} into {feeds_file}"
        + (f" ({len(present)} already there)" if present else "")
        + (f"; skipped {refused} that are not http(s)" if refused else ""),
        soft_wrap=True,
    )
    return EXIT_OK


def _export(feeds_file: Path, output: Path | None, out: Console) -> int:
    data = write_opml(load_feeds(feeds_file))
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        output.write_bytes(data)
        out.print(f"wrote {output}", soft_wrap=True)
    return EXIT_OK


def _add(
    args: argparse.Namespace, feeds_file: Path, settings: Settings, out: Console, err: Console
) -> int:
    from tasks.feeds.parse import parse_feed
    from tasks.fetch.discover import DiscoveryError, discover_feeds

    url = args.url if "://" in args.url else f"https://{args.url}"
    if urlsplit(url).scheme not in ("http", "https"):
        err.print(f"[red]error:[/] not an http(s) URL: {escape(args.url)}")
        return EXIT_USAGE
    existing = _existing(feeds_file)  # a bad feeds file fails before anything is fetched
    try:
        found = asyncio.run(discover_feeds(url, settings.fetch_config(), parse_feed))
    except DiscoveryError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        return EXIT_FAILED
    if not found:
        err.print(
            f'[red]error:[/] no feed found at {escape(url)} (no <link rel="alternate"> feed, '
            "and none at the common paths such as /feed or /rss.xml)"
        )
        return EXIT_FAILED
    chosen = found if args.all else found[:1]
    candidates = []
    for feed in chosen:
        name = args.name if args.name and len(chosen) == 1 else None
        name = name or slug(feed.title or "") or slug(urlsplit(feed.url).hostname or "") or "feed"
        candidates.append(
            FeedSpec(name=name, url=feed.url, tags=tuple(args.tag), language=feed.language)
        )
    added, present = new_feeds(existing, candidates)
    append_feeds(feeds_file, added)
    for spec in added:
        out.print(f"added {spec.name} = {spec.url} to {feeds_file}", soft_wrap=True)
    for spec in present:
        out.print(f"already in {feeds_file}: {spec.url}", soft_wrap=True)
    others = [f.url for f in found if f not in chosen]
    if others:
        out.print("other feeds found (add them with --all): " + ", ".join(others), soft_wrap=True)
    return EXIT_OK
