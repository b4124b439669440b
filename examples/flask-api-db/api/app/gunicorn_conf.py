"""gunicorn settings, overridable through the environment (GUNICORN_WORKERS, PORT)."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
accesslog = "-"
errorlog = "-"
# The healthcheck and a reverse proxy in front: no need for long keep-alives.
keepalive = 2
graceful_timeout = 10
