"""The container healthcheck: GET /healthz on the local gunicorn (no curl in slim images)."""

from __future__ import annotations

import sys
import urllib.request

try:
    with urllib.request.urlopen("http://127.0.0.1:8000/healthz", timeout=3) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError as e:
    print(f"healthcheck: {e}", file=sys.stderr)
    sys.exit(1)
