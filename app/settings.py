"""Every knob of the app, read from the environment once, at start.

``HOST`` and ``PORT`` are the server's, read by ``scripts/run``, not here.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
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
    # Shared by the app and its edge (edge/tickets.vcl), both ways: the edge
    # answers a purge or a probe only with it, and sends it with every request
    # (which is how the app tells its edge from any other local client,
    # app/clients.py). EDGE_SECRET, else derived from SECRET_KEY; scripts/run
    # passes the same to the edge.
    edge_secret: str = ""
    # The share of cacheable GETs whose HIT is rendered again in the background
    # and compared with the entry (app/cache/verify.py): 0 is off, 0.001 one in
    # a thousand.
    cache_verify_rate: float = 0.0
    # Password hashes (Argon2, 64 MiB each) running at once in a process; a
    # sign-up or login past it gets 503 at once (app/accounts/passwords.py).
    hash_concurrency: int = field(default_factory=lambda: os.cpu_count() or 1)
    # The Argon2 parameters passwords are hashed with: "standard", or
    # "cheapest" for test suites alone (app/accounts/passwords.py, HASHINGS).
    password_hashing: str = "standard"
    # Proxies whose X-Forwarded-For is believed (addresses or networks), besides
    # the edge that proves itself with EDGE_SECRET (app/clients.py).
    trusted_proxies: tuple[str, ...] = ()

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
            edge_secret=edge_secret_of(env),
            cache_verify_rate=_rate(env.get("CACHE_VERIFY_RATE")),
            hash_concurrency=int(env.get("HASH_CONCURRENCY") or defaults.hash_concurrency),
            password_hashing=env.get("PASSWORD_HASHING") or defaults.password_hashing,
            trusted_proxies=_names(env.get("TRUSTED_PROXIES")),
        )


_SECRET = re.compile(r"[A-Za-z0-9_-]{16,256}")  # what the VCL can hold as written


def edge_secret_of(env: dict[str, str]) -> str:
    """``EDGE_SECRET``, or one derived from ``SECRET_KEY`` (never the key itself),
    or "" when neither is set (an edge started so answers no purge)."""
    secret = env.get("EDGE_SECRET", "")
    if not secret and env.get("SECRET_KEY"):
        key = env["SECRET_KEY"].encode()
        secret = hmac.new(key, b"tickets edge control", hashlib.sha256).hexdigest()
    if secret and not _SECRET.fullmatch(secret):
        raise ValueError("EDGE_SECRET must be 16-256 letters, digits, '-' or '_'")
    return secret


def edge_secret_or_new() -> str:
    """What scripts/run gives the edge and the app: the settings' secret, or a new one."""
    return edge_secret_of(dict(os.environ)) or secrets.token_hex(32)


def _names(value: str | None) -> tuple[str, ...]:
    """``"a, b,"`` -> ``("a", "b")``."""
    return tuple(name.strip() for name in (value or "").split(",") if name.strip())


def _rate(value: str | None) -> float:
    """``CACHE_VERIFY_RATE``: unset or empty is 0 (off); else a share from 0 to 1."""
    rate = float(value or 0)
    if not 0 <= rate <= 1:
        raise ValueError(f"CACHE_VERIFY_RATE must be from 0 to 1, got {value}")
    return rate
