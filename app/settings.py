"""Every knob of the app, read from the environment once, at start."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _default_database_url() -> str:
    return f"sqlite+aiosqlite:///{ROOT / 'var' / 'tickets.db'}"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = field(default_factory=_default_database_url)
    cache_url: str = "memory://"
    secret_key: str = "dev-only-secret"
    # Upper bound of the in-memory store, body and bookkeeping included.
    cache_max_bytes: int = 64 * 1024 * 1024

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        defaults = cls()
        return cls(
            host=env.get("HOST", defaults.host),
            port=int(env.get("PORT", defaults.port)),
            database_url=env.get("DATABASE_URL", defaults.database_url),
            cache_url=env.get("CACHE_URL", defaults.cache_url),
            secret_key=env.get("SECRET_KEY", defaults.secret_key),
            cache_max_bytes=int(env.get("CACHE_MAX_BYTES", defaults.cache_max_bytes)),
        )
