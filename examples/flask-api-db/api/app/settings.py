"""Configuration from environment variables only (twelve-factor); secrets from files.

DATABASE_HOST, DATABASE_PORT, DATABASE_NAME, DATABASE_USER and DATABASE_PASSWORD_FILE (a path,
e.g. /run/secrets/db_password) or DATABASE_PASSWORD.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


class ConfigError(RuntimeError):
    """A missing or unreadable setting; the message names the variable."""


@dataclass(frozen=True)
class DatabaseSettings:
    host: str
    port: int
    name: str
    user: str
    password: str

    def conninfo(self) -> dict[str, object]:
        return {
            "host": self.host,
            "port": self.port,
            "dbname": self.name,
            "user": self.user,
            "password": self.password,
            "connect_timeout": 5,
            "application_name": os.environ.get("HOSTNAME", "api"),
        }


def _password(env: dict[str, str]) -> str:
    path = env.get("DATABASE_PASSWORD_FILE")
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                return f.read().strip()
        except OSError as e:
            raise ConfigError(f"DATABASE_PASSWORD_FILE={path}: cannot read it ({e.strerror})") from None
    if "DATABASE_PASSWORD" in env:
        return env["DATABASE_PASSWORD"]
    raise ConfigError("set DATABASE_PASSWORD_FILE (a secret file) or DATABASE_PASSWORD")


def database_settings(env: dict[str, str] | None = None) -> DatabaseSettings:
    env = dict(os.environ if env is None else env)
    port = env.get("DATABASE_PORT", "5432")
    if not port.isdigit():
        raise ConfigError(f"DATABASE_PORT={port!r} is not a port number")
    return DatabaseSettings(
        host=env.get("DATABASE_HOST", "db"),
        port=int(port),
        name=env.get("DATABASE_NAME", "app"),
        user=env.get("DATABASE_USER", "app"),
        password=_password(env),
    )
