"""gunicorn settings, overridable through the environment (GUNICORN_WORKERS, PORT)."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
accesslog = "-"
errorlog = "-"
# The healthcheck and a reverse proxy in front: no need for long keep-alives.
keepalive = 2
# SIGTERM (`stack stop`, or a rolling update retiring this replica): gunicorn stops accepting,
# each worker finishes the request in progress and exits; a worker still busy after
# graceful_timeout is killed. The service's stop_grace_period (15 s) is longer, so the daemon's
# SIGKILL never comes first.
graceful_timeout = 10
