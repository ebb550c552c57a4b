"""``cpp demo``: the made-up caseload of ``demo.py`` (development only)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import NoReturn

import click

from cpp_shared.config import ConfigError, Settings

from . import demo as demo_data
from . import people

STORE_SERVICES = ("plans", "scheduler", "notify", "docs")


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"cpp demo: {message}", err=True)
    sys.exit(code)


def _settings() -> Settings:
    try:
        return Settings.from_env("web")
    except ConfigError as exc:
        _fail(str(exc))


def _running(settings: Settings) -> list[str]:
    """The services of this deployment that answer now."""
    import requests

    from .client import Services

    urls = Services.from_settings(settings).urls
    web = settings.setting("URL") or f"http://127.0.0.1:{settings.port}"
    answering = []
    for name, url in {**urls, "web": web}.items():
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                answering.append(name)
        except requests.RequestException:
            pass
    return answering


def seed(settings: Settings, *, wait: float = 120.0) -> None:
    from cpp_shared.auth import issue_dev_token
    from cpp_shared.plugins import Plugins

    from .client import Services

    authority = Plugins(settings.plugins).authority()["code"]
    urls = Services.from_settings(settings).urls
    tokens: dict[str, str] = {}

    def token_for(user: str) -> str:
        if user not in tokens:
            p = people.by_user(user)
            if p is None:
                raise click.ClickException(f"{user!r} is not one of the made-up people")
            tokens[user] = issue_dev_token(
                settings,
                role=p.role,
                authority=authority,
                user=p.user,
                name=p.name,
                email=p.email,
                team=p.team,
                manager=p.manager,
                create_key=False,
            )
        return tokens[user]

    demo_data.wait_until_ready(urls, timeout=wait, say=click.echo)
    seeder = demo_data.Seeder(urls, token_for, Path(settings.data_dir), say=click.echo)
    seeder.run()


def _stores(settings: Settings, data_dir: Path) -> list[Path]:
    """The data folder's stores and files of records, or a refusal when a
    store is elsewhere (a MongoDB, another folder): this clears only the folder."""
    paths: list[Path] = []
    for service in STORE_SERVICES:
        url = Settings.from_env(service, settings.environ).store_url
        if not url.startswith("sqlite:///"):
            _fail(
                f"the {service} store is not a file in the data folder ({url.split('://')[0]}): "
                "--reset clears only the data folder's stores"
            )
        store = Path(url.removeprefix("sqlite:///"))
        paths += [store, store.with_name(f"{store.stem}-limits{store.suffix}")]  # and its rate limits' counters
    if not settings.setting("SESSION_URL"):
        paths.append(data_dir / "web-sessions.db")
    for path in list(paths):
        if data_dir not in path.resolve().parents:
            _fail(f"{path} is outside the data folder {data_dir}: --reset clears only the data folder's stores")
        paths += [Path(f"{path}{suffix}") for suffix in ("-wal", "-shm", "-journal", "-write-turn")]
    paths.append(data_dir / "docs")  # the documents' files
    paths += sorted((data_dir / "audit-checkpoints").glob("*.jsonl"))  # checkpoints of the logs removed
    paths += [data_dir / demo_data.STATE, data_dir / demo_data.MARKER]
    return [p for p in paths if p.exists()]


@click.command(
    help="The made-up caseload for trying the platform (development only): ten children of made-up "
    "families at every stage, created through the services' APIs. `cpp up` seeds it on a "
    "deployment's first start (CPP_DEMO=0: not); with no option, seed now (the platform running; "
    "safe to repeat)."
)
@click.option(
    "--if-new",
    is_flag=True,
    help="seed only when this data folder has not been seeded and CPP_DEMO is "
    "not 0 (what `cpp up` runs once every service is up)",
)
@click.option(
    "--reset",
    is_flag=True,
    help="with the platform stopped, remove the data folder's stores (records, "
    "documents, sessions), so that the next `cpp up` starts again and seeds "
    "the caseload anew (CPP_DEMO=0: starts empty)",
)
@click.option("--yes", is_flag=True, help="do not ask before --reset removes the data")
@click.option("--wait", default=120.0, show_default=True, help="seconds to wait for every service's /readyz")
def demo(if_new: bool, reset: bool, yes: bool, wait: float) -> None:
    settings = _settings()
    if not settings.is_development:
        _fail("the demonstration caseload is for development only (CPP_MODE=development, as `cpp up` sets)")
    data_dir = Path(settings.data_dir).resolve()
    if reset:
        running = _running(settings)
        if running:
            _fail(
                f"the platform is running ({', '.join(running)} answered): stop it first (Ctrl-C where "
                "`make run` or `cpp up` runs), then run `cpp demo --reset` again; the next start seeds anew"
            )
        doomed = _stores(settings, data_dir)
        if not doomed:
            click.echo(f"cpp demo: nothing to remove in {data_dir}; the next `cpp up` seeds the caseload")
            return
        click.echo(
            "This removes every record of this deployment (children, cases, plans, deadlines, "
            "notifications, documents, sessions):"
        )
        for path in doomed:
            click.echo(f"  {path}")
        if not yes and not click.confirm("Remove them?", default=False):
            _fail("nothing removed", code=1)
        for path in doomed:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        click.echo(
            "cpp demo: removed. The next `make run` (or `cpp up`) starts again"
            + (" and seeds the made-up caseload." if demo_data.enabled(settings.environ) else " empty (CPP_DEMO=0).")
        )
        return
    if if_new and not demo_data.enabled(settings.environ):
        click.echo("cpp demo: CPP_DEMO=0: starting empty")
        return
    if if_new and demo_data.seeded(data_dir):
        click.echo(f"cpp demo: {data_dir} has its demonstration caseload already")
        return
    click.echo(f"cpp demo: seeding the made-up caseload in {data_dir} through the services' APIs...")
    try:
        seed(settings, wait=wait)
    except demo_data.SeedError as exc:
        _fail(
            f"seeding stopped: {exc}\nRun `cpp demo` again once the cause is put right: it goes on where it "
            "stopped, making nothing twice.",
            code=1,
        )
    click.echo(
        f"cpp demo: done: {len(demo_data.CASELOAD)} children of made-up families; sign in at the web "
        "application to see them"
    )
