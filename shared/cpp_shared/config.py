"""Settings of one service, read from the environment.

Every setting has a CPP_ name so that `cpp up`, gunicorn and docker-compose
configure the services the same way. Service-specific settings are looked up
as CPP_<SERVICE>_<NAME> first (e.g. CPP_PLANS_STORE_URL), then CPP_<NAME>.

Each of these names may instead be given as <NAME>_FILE, the path of a file
holding the value (docker compose's secrets under /run/secrets/), e.g.
CPP_NOTIFY_SECRETS_KEY_FILE: the value is the file's content without its
trailing newline (an empty file, like an empty variable, leaves the setting
unset). Setting both forms of one name is refused, and so is a file that
cannot be read. Settings whose own name ends in _FILE are paths
already and have no such form.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import overload

MODES = ("development", "production")


class ConfigError(Exception):
    """A setting is missing or unsafe; the service must not start."""


def default_port(service: str) -> int:
    """The port a service listens on when CPP_<SERVICE>_PORT (and CPP_PORT) is unset: the one its spec gives
    (``ServiceSpec.port``, found through the ``cpp.services`` entry points). A service that is not installed has
    none."""
    from .services import UnknownService, load_service  # the services' specs import this module

    try:
        return load_service(service).port
    except UnknownService as exc:
        raise ConfigError(f"CPP_{service.upper()}_PORT is not set, and there is no default port: {exc}") from None


@overload
def _lookup(env: Mapping[str, str], service: str, name: str, default: str) -> str: ...


@overload
def _lookup(env: Mapping[str, str], service: str, name: str, default: None = None) -> str | None: ...


def _lookup(env: Mapping[str, str], service: str, name: str, default: str | None = None) -> str | None:
    specific = env_value(env, f"CPP_{service.upper()}_{name}")
    if specific is not None:
        return specific
    general = env_value(env, f"CPP_{name}")
    return general if general is not None else default


def env_value(env: Mapping[str, str], key: str) -> str | None:
    """The variable ``key``, or the content of the file ``key``_FILE names
    (without its trailing newline); None when neither is set or the value is
    empty, as an empty variable is."""
    value = env.get(key) or None
    path = None if key.endswith("_FILE") else env.get(f"{key}_FILE") or None
    if path is None:
        return value
    if value is not None:
        raise ConfigError(f"both {key} and {key}_FILE are set: set one of them")
    try:
        content = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{key}_FILE names {path}, which cannot be read: {reason}") from None
    return content.rstrip("\r\n") or None


#: Settings that name a file the platform writes, so it need not exist at start.
WRITTEN_FILES = ("WORKER_HEARTBEAT_FILE", "DEV_SIGNING_KEY_FILE")
#: Keys a process makes on first use in development mode (never in production).
MADE_IN_DEVELOPMENT = ("AUDIT_CHECKPOINT_KEY_FILE", "TRANSFER_SIGNING_KEY_FILE")


def check_setting_files(env: Mapping[str, str], *, development: bool) -> None:
    """Refuse, naming the variable and the path, a CPP_..._FILE setting whose file cannot be read: a secret
    missing from its mount (a Kubernetes Secret or a compose secret not given) stops the process at start, with
    the name to look for, rather than the first request or event that needs it."""
    skip = WRITTEN_FILES + (MADE_IN_DEVELOPMENT if development else ())
    for key in sorted(env):
        path = env[key]
        if not (key.startswith("CPP_") and key.endswith("_FILE") and path) or key.endswith(skip):
            continue
        try:
            with open(path, "rb") as f:
                f.read(1)
        except OSError as exc:
            raise ConfigError(f"{key} names {path}, which cannot be read: {exc.strerror or exc}") from None


def _float_list(text: str, setting: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{setting} must be a comma-separated list of seconds, got {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise ConfigError(f"{setting} must list at least one positive delay, got {text!r}")
    return values


@dataclass(frozen=True)
class Settings:
    service: str
    mode: str
    data_dir: Path
    store_url: str
    broker_url: str
    plugins: tuple[str, ...]
    host: str
    # CPP_<SERVICE>_PORT, else CPP_PORT; None when neither is set: ``port`` is then the service's default.
    configured_port: int | None
    # authentication
    dev_signing_key_file: Path
    oidc_jwks_url: str | None
    oidc_issuer: str | None
    oidc_audience: str
    # messaging
    retry_delays: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0, 600.0)
    prefetch: int = 50
    relay_batch: int = 200
    # The outbox relay's lease (see cpp_shared.messaging.relay): a relay that
    # dies holding it is replaced within about 1.1 times this.
    relay_lease_seconds: float = 1.5
    log_format: str = "json"
    max_body_bytes: int = 1024 * 1024
    # The environment the settings were read from, for a service's own
    # settings (``setting``): CPP_<SERVICE>_<NAME>, then CPP_<NAME>.
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @overload
    def setting(self, name: str, default: str) -> str: ...

    @overload
    def setting(self, name: str, default: None = None) -> str | None: ...

    def setting(self, name: str, default: str | None = None) -> str | None:
        return _lookup(self.environ, self.service, name, default)

    @property
    def port(self) -> int:
        """The port the service listens on: the configured one, else its default (``default_port``), looked
        up when asked, so that settings read for another purpose need no installed service."""
        return default_port(self.service) if self.configured_port is None else self.configured_port

    @property
    def max_attempts(self) -> int:
        """The first delivery plus one retry per configured delay."""
        return len(self.retry_delays) + 1

    @property
    def is_development(self) -> bool:
        return self.mode == "development"

    @classmethod
    def from_env(cls, service: str, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        mode = (_lookup(env, service, "MODE", "production") or "production").lower()
        if mode not in MODES:
            raise ConfigError(f"CPP_MODE must be one of {', '.join(MODES)}, got {mode!r}")
        data_dir = Path(_lookup(env, service, "DATA_DIR", "var"))
        store_url = _lookup(env, service, "STORE_URL") or f"sqlite:///{(data_dir / f'{service}.db').resolve()}"
        broker_url = _lookup(env, service, "BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
        plugins = tuple(p.strip() for p in (_lookup(env, service, "PLUGINS", "england") or "").split(",") if p.strip())
        port_text = _lookup(env, service, "PORT")
        try:
            port = None if port_text is None else int(port_text)
        except ValueError:
            raise ConfigError(f"CPP_{service.upper()}_PORT must be a number, got {port_text!r}") from None
        try:
            max_body_bytes = int(_lookup(env, service, "MAX_BODY_BYTES", str(1024 * 1024)))
            prefetch = int(_lookup(env, service, "BUS_PREFETCH", "50"))
            relay_batch = int(_lookup(env, service, "RELAY_BATCH", "200"))
        except ValueError as exc:
            raise ConfigError(f"a messaging setting is not a number: {exc}") from None
        lease_text = _lookup(env, service, "RELAY_LEASE_SECONDS", "1.5")
        try:
            relay_lease_seconds = float(lease_text)
        except ValueError:
            relay_lease_seconds = float("nan")
        if not 0.3 <= relay_lease_seconds <= 600:
            raise ConfigError(
                f"CPP_RELAY_LEASE_SECONDS must be a number of seconds from 0.3 to 600, got {lease_text!r}"
            )
        return cls(
            service=service,
            mode=mode,
            data_dir=data_dir,
            store_url=store_url,
            broker_url=broker_url,
            plugins=plugins,
            host=_lookup(env, service, "HOST", "127.0.0.1"),
            configured_port=port,
            dev_signing_key_file=Path(_lookup(env, service, "DEV_SIGNING_KEY_FILE") or data_dir / "dev-signing.key"),
            oidc_jwks_url=_lookup(env, service, "OIDC_JWKS_URL"),
            oidc_issuer=_lookup(env, service, "OIDC_ISSUER"),
            oidc_audience=_lookup(env, service, "OIDC_AUDIENCE", "cpp"),
            retry_delays=_float_list(
                _lookup(env, service, "BUS_RETRY_DELAYS", "1,5,30,120,600"), "CPP_BUS_RETRY_DELAYS"
            ),
            prefetch=prefetch,
            relay_batch=relay_batch,
            relay_lease_seconds=relay_lease_seconds,
            log_format=_lookup(env, service, "LOG_FORMAT", "json"),
            max_body_bytes=max_body_bytes,
            environ=dict(env),
        )
