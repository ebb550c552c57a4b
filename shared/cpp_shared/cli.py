"""The ``cpp`` command line."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import click

from . import heartbeat
from .config import ConfigError, Settings


def _fail(message: str) -> NoReturn:
    click.echo(f"cpp: {message}", err=True)
    sys.exit(2)


@click.group(help="The child protection plan platform.")
@click.version_option(
    package_name="cpp-shared",
    prog_name="cpp",
    message="%(prog)s %(version)s (the platform's shared library and command)",
)
def main() -> None:
    pass


def service_main(service: str, argv: list[str] | None = None) -> None:
    """``python -m cpp_<service> [serve [OPTIONS] | worker]``: the service's web (the default) or its worker,
    as ``cpp serve <service>`` and ``cpp worker <service>`` run them."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("serve", "worker"):
        command = args.pop(0)
    elif args and not args[0].startswith("-"):
        click.echo(f"usage: python -m cpp_{service} [serve [--bind HOST:PORT] [--workers N] | worker]", err=True)
        sys.exit(2)
    else:
        command = "serve"
    main.main([command, service, *args], prog_name=f"python -m cpp_{service}")


@main.command(
    help="Print a development bearer token (single-machine mode only). It is signed with the "
    "development key in CPP_DATA_DIR (default ./var), which the services must share."
)
@click.option("--role", required=True, help="social_worker, team_manager, chair, partner, auditor or admin")
@click.option("--also", "also", multiple=True, help="another role the user holds (repeat for more)")
@click.option("--authority", default=None, help="authority code (default: the deployment's, from its plugins)")
@click.option("--user", default="dev-user", show_default=True, help="the user id (the token's sub)")
@click.option("--name", default=None, help="the user's display name (the name claim)")
@click.option("--email", default=None, help="the user's email address (the email claim)")
@click.option("--team", default=None, help="the user's team (the team claim)")
@click.option("--manager", default=None, help="the user id of the user's manager (the manager claim)")
@click.option("--ttl", default=12 * 3600, show_default=True, help="lifetime in seconds")
def token(
    role: str,
    authority: str | None,
    user: str,
    name: str | None,
    email: str | None,
    team: str | None,
    manager: str | None,
    ttl: int,
    also: tuple[str, ...],
) -> None:
    from .auth import issue_dev_token
    from .plugins import PluginError, Plugins

    os.environ.setdefault("CPP_MODE", "development")
    try:
        settings = Settings.from_env("plans")
        key = settings.dev_signing_key_file
        if not key.exists():
            _fail(
                f"no development signing key at {key.resolve()} (data folder {settings.data_dir.resolve()}): "
                "start the platform once with `make run` (or `cpp up`), or set CPP_DATA_DIR to the folder the "
                "services use; a token signed by another key would only be refused"
            )
        if authority is None:
            authority = Plugins(settings.plugins).authority()["code"]
        click.echo(f"cpp token: signed with the development key in {settings.data_dir.resolve()}", err=True)
        click.echo(
            issue_dev_token(
                settings,
                role=role,
                authority=authority,
                user=user,
                ttl_seconds=ttl,
                name=name,
                email=email,
                team=team,
                manager=manager,
                create_key=False,
                also=also,
            )
        )
    except (ConfigError, PluginError, ValueError) as exc:
        _fail(str(exc))


@main.command(help="List the active plugins (CPP_PLUGINS) and the hooks each implements.")
def plugins() -> None:
    from .plugins import PluginError, Plugins, available_plugins

    try:
        active = Plugins(Settings.from_env("plans").plugins)
    except (ConfigError, PluginError) as exc:
        _fail(str(exc))
    authority = active.authority()
    click.echo(f"authority: {authority['code']} ({authority['name']})")
    layers = active.layers()
    for p in active.describe():
        click.echo(f"{p.name:12} {p.module:20} {layers[p.name] or 'layer not said':14} {', '.join(p.hooks)}")
    for warning in active.warnings:
        click.echo(f"warning: {warning}")
    inactive = sorted(set(available_plugins()) - set(active.order))
    if inactive:
        click.echo(f"installed but not active: {', '.join(inactive)}")


def _preflight(service: str, *, worker: bool = False):
    """Fail fast, with a plain message, on what would stop the service (its ``worker``: the process that also
    signs the audit log's checkpoints)."""
    from . import audit_checkpoints
    from .auth import TokenVerifier
    from .config import check_setting_files
    from .plugins import PluginError, Plugins
    from .services import UnknownService, load_service

    try:
        spec = load_service(service)
        settings = Settings.from_env(service)
        check_setting_files(os.environ, development=settings.is_development)
        Plugins(settings.plugins).authority()
        TokenVerifier(settings)
        if worker and not settings.is_development:  # the worker signs the audit log's checkpoints
            audit_checkpoints.load_signing_key(audit_checkpoints.config(settings), create=False)
        if spec.preflight is not None:
            spec.preflight(settings)
    except (UnknownService, ConfigError, PluginError) as exc:
        _fail(f"{service}: {exc}")
    return spec, settings


@main.command(help="Serve one service's HTTP API under gunicorn.")
@click.argument("service")
@click.option("--bind", default=None, help="host:port (default: CPP_<SERVICE>_HOST/PORT)")
@click.option("--workers", default=None, type=int, help="gunicorn worker processes (default WEB_CONCURRENCY or 2)")
def serve(service: str, bind: str | None, workers: int | None) -> None:
    spec, settings = _preflight(service)
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:cpp_shared.gunicorn_conf",
        "--bind",
        bind or f"{settings.host}:{settings.port}",
        "--name",
        f"cpp-{service}",
    ]
    if workers:
        argv += ["--workers", str(workers)]
    argv.append(f"{spec.app_module}:create_app()")
    os.execv(sys.executable, argv)


@main.command(help="Run one service's worker: its outbox relay and event consumer.")
@click.argument("service")
def worker(service: str) -> None:
    from .web import build_context
    from .worker import Worker

    spec, settings = _preflight(service, worker=True)
    if not spec.worker:
        _fail(
            f"{service}: this service has no worker (it publishes and consumes no events); "
            f"`cpp serve {service}` runs all of it"
        )
    try:
        worker = Worker(build_context(spec, settings))
    except ConfigError as exc:  # e.g. no audit checkpoint key in production
        _fail(f"{service}: {exc}")
    worker.run()


@main.command(
    "worker-health",
    help="Exit 0 while the service's worker on this machine (or in this container) is "
    "alive: its heartbeat file (CPP_WORKER_HEARTBEAT_FILE) is fresh and names no "
    "stopped thread; else say why and exit 1. For a container's healthcheck.",
)
@click.argument("service")
@click.option(
    "--max-age", default=heartbeat.STALE_AFTER, show_default=True, help="seconds after which a heartbeat is stale"
)
def worker_health(service: str, max_age: float) -> None:
    try:
        path = heartbeat.heartbeat_path(Settings.from_env(service))
    except ConfigError as exc:
        _fail(f"{service}: {exc}")
    problem = heartbeat.problem(path, stale_after=max_age)
    if problem:
        click.echo(f"{service}-worker unhealthy: {problem}", err=True)
        sys.exit(1)
    click.echo(f"{service}-worker healthy")


@main.group(help="Each service's audit log: its hash chain and the signed checkpoints of its head.")
def audit() -> None:
    pass


def _audit_service(service: str) -> Settings:
    from .services import UnknownService, installed_services

    if service not in installed_services():
        _fail(str(UnknownService(f"unknown service {service!r}; installed: {', '.join(installed_services())}")))
    try:
        return Settings.from_env(service)
    except ConfigError as exc:
        _fail(f"{service}: {exc}")


@audit.command(
    "verify",
    help="Check a service's audit log: its hash chain from the first entry to the last, "
    "its checkpoint file (signatures and chaining) and the log against every signed "
    "checkpoint (a cut tail, a rewrite, a head that went backwards). Exit 1 on any "
    "problem; 'intact' only when all hold.",
)
@click.option("--service", default="plans", show_default=True)
@click.option(
    "--public-key",
    "public_key_file",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="the checkpoints' public key (PEM; default CPP_AUDIT_CHECKPOINT_PUBLIC_KEY_FILE, else derived "
    "from the private key)",
)
@click.option(
    "--checkpoint-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="the checkpoint file (default CPP_AUDIT_CHECKPOINT_DIR/<service>.jsonl), e.g. a copy kept in WORM storage",
)
@click.option(
    "--copies-from",
    multiple=True,
    metavar="SERVICE",
    help="also compare the copies of the checkpoints this other service keeps (repeatable)",
)
def audit_verify(
    service: str, public_key_file: str | None, checkpoint_file: str | None, copies_from: tuple[str, ...]
) -> None:
    from pathlib import Path

    from . import audit_checkpoints as ac
    from .store import StoreError, open_store

    settings = _audit_service(service)
    try:
        cfg = ac.config(settings)
        public_key = ac.load_public_key(cfg, Path(public_key_file) if public_key_file else None)
        copies = []
        for other in copies_from:
            other_store = open_store(_audit_service(other).store_url)
            copies += [(f"the {other} service", c) for c in ac.kept_copies(other_store, service)]
        result = ac.verify(
            open_store(settings.store_url),
            service,
            checkpoint_file=Path(checkpoint_file) if checkpoint_file else cfg.file,
            public_key=public_key,
            copies=copies,
        )
    except (ConfigError, StoreError) as exc:
        _fail(f"{service}: {exc}")
    for warning in result.warnings:
        click.echo(f"warning: {service} audit log: {warning.message}", err=True)
    for problem in result.problems:
        click.echo(f"{service} audit log: {problem.message}", err=True)
    if not result.ok:
        click.echo(f"{service} audit log NOT intact: {len(result.problems)} problem(s) found", err=True)
        sys.exit(1)
    if result.intact and (latest := result.latest) is not None:
        click.echo(
            f"{service} audit log intact: {result.entries} entries, chain verified, consistent with "
            f"{result.checkpoints} signed checkpoint(s) (latest: entry {latest['seq']} at {latest['at']}, "
            f"key {latest['key_id']})"
        )
    else:
        click.echo(f"{service} audit log chain verified: {result.entries} entries (no checkpoint to compare with)")


@audit.command(
    "checkpoint",
    help="Sign a checkpoint of a service's audit log head now, append it to the "
    "service's checkpoint file and publish it (audit.checkpointed.v1).",
)
@click.option("--service", default="plans", show_default=True)
def audit_checkpoint(service: str) -> None:
    from . import audit_checkpoints as ac
    from .plugins import PluginError, Plugins
    from .store import StoreError, open_store

    settings = _audit_service(service)
    try:
        authority = Plugins(settings.plugins).authority()["code"]
        checkpointer = ac.Checkpointer(open_store(settings.store_url), settings, authority)
        checkpoint = checkpointer.take(force=True)
        assert checkpoint is not None  # forced: always taken
    except ac.CheckpointRefused as exc:
        click.echo(f"{service} audit log: checkpoint refused: {exc}", err=True)
        sys.exit(1)
    except (ConfigError, PluginError, StoreError, OSError) as exc:
        _fail(f"{service}: {exc}")
    click.echo(
        f"{service} audit log checkpointed at entry {checkpoint['seq']} ({checkpoint['at']}, key "
        f"{checkpoint['key_id']}) in {checkpointer.path}"
    )


@main.command(
    help="Back each service's store up while the services run: a consistent copy of each SQLite store "
    "(SQLite's backup API), the docs service's files, and a manifest of checksums and log heads, in a new "
    "folder under --out. MongoDB stores are refused: use mongodump --oplog (docs/backup-and-restore.md)."
)
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="where the backup folder is made")
@click.option("--service", "services", multiple=True, help="one service's store (repeatable; default: every one)")
def backup(out: str, services: tuple[str, ...]) -> None:
    from pathlib import Path

    from . import backup as bk

    try:
        result = bk.backup(bk.service_settings(list(services) or None), Path(out))
    except (ConfigError, bk.BackupError) as exc:
        _fail(str(exc))
    for note in result.skipped:
        click.echo(f"cpp backup: {note}", err=True)
    for service, entry in result.manifest["services"].items():
        heads = ", ".join(f"{log} at seq {h['last_seq']}" for log, h in entry["logs"].items()) or "no log"
        click.echo(
            f"{service}: {len(entry['files'])} file(s); {heads}; outbox at seq {entry['outbox']['last_seq']}, "
            f"{entry['outbox']['pending']} pending"
        )
    for problem in result.problems:
        click.echo(f"cpp backup: problem: {problem}", err=True)
    click.echo(f"backup taken: {result.folder}")
    if not result.ok:
        click.echo("cpp backup: the backup holds the problems above; `cpp restore` will refuse it", err=True)
        sys.exit(1)


@main.command(
    help="Restore the stores from a backup folder `cpp backup` made. Everything is verified first (the "
    "manifest's checksum, each file's sha256, every log's chain and head, the audit checkpoints); any "
    "mismatch refuses the restore and changes nothing. Stop the services first."
)
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--service", "services", multiple=True, help="one service's store (repeatable; default: every one)")
@click.option("--force", is_flag=True, help="restore even though a service looks running")
@click.option(
    "--accept-divergent-chain",
    is_flag=True,
    help="restore even though the backup's audit log contradicts a signed checkpoint",
)
def restore(folder: str, services: tuple[str, ...], force: bool, accept_divergent_chain: bool) -> None:
    from pathlib import Path

    from . import backup as bk

    try:
        names = list(services) or list(bk.read_manifest(Path(folder))["services"])
        result = bk.restore(
            Path(folder), bk.service_settings(names), force=force, accept_divergent_chain=accept_divergent_chain
        )
    except bk.RestoreRefused as exc:
        click.echo(f"cpp restore: refused, nothing changed: {exc}", err=True)
        sys.exit(1)
    except ConfigError as exc:
        _fail(str(exc))
    for plan in result.restored:
        heads = ", ".join(f"{log} at seq {h['last_seq']}" for log, h in plan.heads.items()) or "no log"
        kept = result.kept.get(plan.service)
        click.echo(
            f"{plan.service}: restored to {result.created_at} ({heads}); "
            + (f"the replaced store is kept as {kept}" if kept else "there was no store to replace")
        )
        pending = plan.entry["outbox"]["pending"]
        if pending:
            click.echo(
                f"{plan.service}: its relay sends the {pending} event(s) pending at the backup again; "
                "consumers skip any they had already processed"
            )
        for problem in plan.divergent:
            click.echo(f"warning: {problem} (accepted)", err=True)
        moved = result.checkpoint_files_kept.get(plan.service)
        if moved:
            click.echo(
                f"{plan.service}: its audit checkpoints record entries after the backup; the file is kept as "
                f"{moved} and the worker begins a new one"
            )
    click.echo(f"restored from {result.folder}: writes made after {result.created_at} are not in the stores")


@main.group(help="A private RabbitMQ node in a folder (for `cpp up` and tests).")
def broker() -> None:
    pass


@broker.command("start", help="Start the node; prints `export` lines for eval.")
@click.option("--dir", "folder", default=None, help="the node's folder (default: CPP_DATA_DIR/rabbitmq)")
def broker_start(folder: str | None) -> None:
    from .broker import main as broker_main

    sys.exit(broker_main(["start", "--dir", folder or _default_broker_dir()]))


@broker.command("stop", help="Stop the node, keeping its data.")
@click.option("--dir", "folder", default=None)
def broker_stop(folder: str | None) -> None:
    from .broker import main as broker_main

    sys.exit(broker_main(["stop", "--dir", folder or _default_broker_dir()]))


def _default_broker_dir() -> str:
    return os.path.join(os.environ.get("CPP_DATA_DIR", "var"), "rabbitmq")


@main.command(help="Start the whole platform on this machine: a broker, and every service's web and worker processes.")
@click.option("--services", default=None, help="comma-separated subset (default: every installed service)")
def up(services: str | None) -> None:
    from .supervisor import Platform

    os.environ.setdefault("CPP_MODE", "development")
    names = [s.strip() for s in services.split(",")] if services else None
    sys.exit(Platform(names).run())


def _add_service_commands() -> None:
    """Commands that services contribute (``cpp.commands`` entry points,
    e.g. the plans service's ``cpp audit``). One that fails to load is
    reported when used, and never stops the other commands."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="cpp.commands"):
        if ep.name in main.commands:
            continue
        try:
            main.add_command(ep.load(), ep.name)
        except Exception as exc:  # a broken package must not take `cpp up` down with it
            message = f"the {ep.name!r} command ({ep.value}) failed to load: {type(exc).__name__}: {exc}"

            @click.command(ep.name, help=f"(unavailable) {message}", context_settings={"ignore_unknown_options": True})
            @click.argument("args", nargs=-1, type=click.UNPROCESSED)
            def broken(args, message=message):
                _fail(message)

            main.add_command(broken, ep.name)


_add_service_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
