"""Feed bodies to `ParsedFeed`, and the feeds file and OPML: no network here."""
