"""Imported once by the extraction pool's fork server (see `collect.process_pool`), so every
worker forked from it starts with trafilatura imported and the language model loaded instead of
paying for both itself. Importing this module has that cost on purpose; nothing else imports it."""

import tasks.extract  # noqa: F401 -- imported for its side effect: trafilatura and lxml loaded
import tasks.stories  # noqa: F401 -- datasketch, for the story sketch made after extraction
from tasks.language import load_model

load_model()
