"""The network edge: polite, bounded HTTP for feeds and pages; it takes a `FetchConfig`."""
