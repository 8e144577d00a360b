"""HTML to `Article`: what the extraction workers import (trafilatura and our readers; no httpx)."""
