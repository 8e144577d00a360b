"""A run's report in the shapes people read it: a per-feed table and a short markdown summary."""

from __future__ import annotations

from tasks.models import RunReport


def feed_table(report: RunReport) -> list[dict[str, object]]:
    """One row per feed: status, HTTP code, entries, new articles, failures, duration, error."""
    return [
        {
            "feed": f.name,
            "status": f.status,
            "http": f.http_status,
            "entries": f.entries,
            "new articles": f.new_articles,
            "from feed text": f.fallback_articles,
            "failed articles": f.failed_articles,
            "capped": f.capped,
            "seconds": round(f.seconds, 2),
            "error": f.error or "",
        }
        for f in report.feeds
    ]


def summary_markdown(report: RunReport, slowest: int = 5) -> str:
    """Totals, the slowest feeds, the failing feeds, and where the warehouse is."""
    verb = "would store" if report.dry_run else "stored"
    lines = [
        f"# Ingest run{' (dry run: nothing written)' if report.dry_run else ''}",
        "",
        f"- **{report.articles_new}** new articles {verb} "
        f"({report.articles_fallback} from feed text, {report.articles_failed} without text)",
        f"- {len(report.feeds)} feeds polled, {report.feeds_failed} failed; "
        f"{report.entries_seen} entries read",
        f"- duration: {report.seconds:.1f} s",
        f"- warehouse: `{report.db}`",
    ]
    ranked = sorted(report.feeds, key=lambda f: f.seconds, reverse=True)[:slowest]
    if ranked:
        lines += ["", "## Slowest feeds", "", "| feed | seconds | status |", "|---|---:|---|"]
        lines += [f"| {f.name} | {f.seconds:.2f} | {f.status} |" for f in ranked]
    failing = [f for f in report.feeds if f.status == "failed"]
    lines += ["", "## Failing feeds", ""]
    if failing:
        lines += ["| feed | http | error |", "|---|---:|---|"]
        lines += [f"| {f.name} | {f.http_status or ''} | {_cell(f.error or '')} |" for f in failing]
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
