"""`wordcrowd serve`: the collector's serve command, serving the composed app (wordcrowd.app)."""

from __future__ import annotations

from collector.cli import serve_command

serve = serve_command("wordcrowd.app:create_app")
