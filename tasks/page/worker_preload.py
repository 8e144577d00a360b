"""Imported once by the extraction pool's fork server (see `tasks.fetch.pool`), so every
worker forked from it starts with trafilatura imported and the language model loaded instead of
paying for both itself. Importing this module has that cost on purpose; nothing else imports it."""

# Imported for their side effects: trafilatura and lxml loaded; datasketch (and scipy) for the
# story sketch each worker makes after extraction.
import tasks.page.extract
import tasks.sketches  # noqa: F401
from tasks.page.language import load_model

load_model()
