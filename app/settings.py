"""Every knob of the app, read from the environment once, at start.

``HOST`` and ``PORT`` are the server's, read by ``scripts/run``, not here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _default_database_url() -> str:
    return f"sqlite+aiosqlite:///{ROOT / 'var' / 'tickets.db'}"


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=_default_database_url)
    cache_url: str = "memory://"
    # Upper bound of the in-memory store, body and bookkeeping included.
    cache_max_bytes: int = 64 * 1024 * 1024
    # The host names the app answers to; any other Host gets 400 (a page of a
    # rebound DNS name must not reach us as if it were us).
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
    # /metrics is for loopback clients, and for this bearer token when set.
    metrics_token: str | None = None
    # The edge cache in front (scripts/run starts it on EDGE_PORT): purged by tag.
    edge_url: str | None = None
    # The share of cacheable GETs whose HIT is rendered again in the background
    # and compared with the entry (app/cache/verify.py): 0 is off, 0.001 one in
    # a thousand.
    cache_verify_rate: float = 0.0
    # Password hashes (Argon2, 64 MiB each) running at once in a process; a
    # sign-up or login past it gets 503 at once (app/accounts/passwords.py).
    hash_concurrency: int = field(default_factory=lambda: os.cpu_count() or 1)
    # Proxies whose X-Forwarded-For is believed (addresses or networks), besides
    # the edge that proves itself with EDGE_SECRET (app/clients.py).
    trusted_proxies: tuple[str, ...] = ()
    # Shared by the app and the edge scripts/run starts: the edge sends it with
    # every request (edge/tickets.vcl), which is how the app knows it.
    edge_secret: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        defaults = cls()
        return cls(
            database_url=env.get("DATABASE_URL", defaults.database_url),
            cache_url=env.get("CACHE_URL", defaults.cache_url),
            cache_max_bytes=int(env.get("CACHE_MAX_BYTES", defaults.cache_max_bytes)),
            allowed_hosts=_names(env.get("ALLOWED_HOSTS")) or defaults.allowed_hosts,
            metrics_token=env.get("METRICS_TOKEN") or None,
            edge_url=f"http://127.0.0.1:{env['EDGE_PORT']}" if env.get("EDGE_PORT") else None,
            cache_verify_rate=_rate(env.get("CACHE_VERIFY_RATE")),
            hash_concurrency=int(env.get("HASH_CONCURRENCY") or defaults.hash_concurrency),
            trusted_proxies=_names(env.get("TRUSTED_PROXIES")),
            edge_secret=env.get("EDGE_SECRET") or None,
        )


def _names(value: str | None) -> tuple[str, ...]:
    """``"a, b,"`` -> ``("a", "b")``."""
    return tuple(name.strip() for name in (value or "").split(",") if name.strip())


def _rate(value: str | None) -> float:
    """``CACHE_VERIFY_RATE``: unset or empty is 0 (off); else a share from 0 to 1."""
    rate = float(value or 0)
    if not 0 <= rate <= 1:
        raise ValueError(f"CACHE_VERIFY_RATE must be from 0 to 1, got {value}")
    return rate
