"""The plans service's commands.

`cpp revoke`: an operator revokes a user's tokens, or one token, from the
plans service's machine, as an admin would with POST /v1/revocations (the
same record, audit entry and event, in one commit). For when no admin can
sign in, or the admin's own tokens are the ones to revoke.

`cpp migrate`: carry records made by earlier versions over (see migrations.py).

`cpp retention run`: list the children whose records are due for erasure and erase them (see
service_layer/retention.py and docs/retention.md)."""

from __future__ import annotations

import getpass
import json
import sys
import uuid

import click
from flask import g
from marshmallow import ValidationError

from cpp_shared.auth import Principal
from cpp_shared.config import ConfigError, Settings
from cpp_shared.plugins import PluginError
from cpp_shared.store import StoreError, VersionConflict

#: The audit entry's role for a revocation made at the command line.
OPERATOR = "operator"


@click.command(
    help="Revoke a user's tokens (--user: every token of theirs issued before now) or one token (--jti "
    "with --expires-at, its exp), with the reason: the plans service refuses them at once, the "
    "others when the event reaches them. Audited as operator:<login>."
)
@click.option("--user", default=None, help="the user (the tokens' sub)")
@click.option("--jti", default=None, help="one token's jti")
@click.option("--expires-at", default=None, help="with --jti: when that token expires (ISO-8601 with a time zone)")
@click.option("--reason", required=True, help="why, for the audit log and the event")
def revoke(user: str | None, jti: str | None, expires_at: str | None, reason: str) -> None:
    from .api.revocations import RevocationCreateSchema
    from .api.revocations import revoke as make_revocation
    from .app import create_app

    sent = {
        k: v for k, v in {"user": user, "jti": jti, "expires_at": expires_at, "reason": reason}.items() if v is not None
    }
    try:
        body = RevocationCreateSchema().load(sent)
    except ValidationError as exc:
        for field, messages in exc.normalized_messages().items():
            click.echo(f"cpp revoke: --{field.replace('_', '-')}: {' '.join(messages)}", err=True)
        sys.exit(2)
    try:
        app = create_app(Settings.from_env("plans"))
        ctx = app.extensions["cpp"]
        operator = Principal(user=f"operator:{getpass.getuser()}", role=OPERATOR, authority=ctx.authority["code"])
        with app.app_context():
            g.principal, g.request_id = operator, uuid.uuid4().hex  # what the audit entry and the event name
            doc = make_revocation(ctx.store, operator, **body)
    except (ConfigError, PluginError, StoreError) as exc:
        click.echo(f"cpp revoke: {exc}", err=True)
        sys.exit(2)
    click.echo(
        json.dumps(
            {k: doc[k] for k in ("user", "jti", "not_before", "expires_at", "revoked_at", "by")} | {"id": doc["_id"]}
        )
    )


@click.command(
    help="Carry records made before key workers were staff over: link each plan's key worker to the "
    "one member of staff with that name, give each case with no social worker the social worker "
    "who opened it, and list what an admin must link by hand. Safe to repeat. Audited as "
    "operator:<login>. Then gives plans made before they were kept their initial categories and the "
    "child's previous plans, children with cases a family of one, and children's gender, ethnicity and "
    "disabilities the census's codes where the text certainly means one, naming each child left to code "
    "by hand. Each migration runs once "
    "(recorded by version); `cpp up` runs this before the platform starts."
)
def migrate() -> None:
    from .api.staff import link_everyone
    from .app import create_app
    from .migrations import run_pending, uncoded_children

    try:
        app = create_app(Settings.from_env("plans"))
        ctx = app.extensions["cpp"]
        operator = Principal(user=f"operator:{getpass.getuser()}", role=OPERATOR, authority=ctx.authority["code"])
        with app.app_context():
            g.principal, g.request_id = operator, uuid.uuid4().hex
            report = link_everyone()
            runs = run_pending(ctx.store, ctx.authority["code"])
            uncoded = uncoded_children(ctx.store, ctx.authority["code"])
    except (ConfigError, PluginError, StoreError) as exc:
        click.echo(f"cpp migrate: {exc}", err=True)
        sys.exit(2)
    click.echo(f"key workers linked to staff: {len(report.plans_linked)}")
    click.echo(f"cases given their social worker: {len(report.cases_allocated)}")
    for run in runs:
        click.echo(f"{run.version} {run.name}: {'applied before' if run.carried is None else run.carried}")
    if report.unlinked:
        click.echo(f"to link by hand (POST /v1/staff/key-worker-links with plan_id and user): {len(report.unlinked)}")
        for item in report.unlinked:
            click.echo(
                f"  plan {item['plan_id']} ({item['status']}), child {item['child'] or 'not named'}: "
                f"key worker {item['key_worker']!r}: {item['reason']}"
            )
    if uncoded:
        click.echo(
            "children to code by hand (gender, ethnicity or disabilities as the census codes them; "
            f"GET /v1/children?uncoded=true, or the web application's Children to code): {len(uncoded)}"
        )
        for item in uncoded:
            texts = ", ".join(f"{field} {text!r}" for field, text in sorted(item["uncoded"].items()))
            click.echo(f"  child {item['child_id']} ({item['child'] or 'not named'}): {texts}")


@click.group(help="Transfers between councils: this council's transfer key, for the councils it sends packages to.")
def transfer() -> None:
    pass


@transfer.command(
    "public-key",
    help="Print this council's transfer public key as a JWK (with its kid), for a receiving council to add to its "
    "CPP_TRANSFER_TRUSTED_KEYS_FILE. In development the key is made on first use.",
)
def public_key() -> None:
    from cpp_shared.plugins import Plugins

    from .transfer_package import signing_key

    try:
        settings = Settings.from_env("plans")
        authority = Plugins(settings.plugins).authority()
        key = signing_key(settings, authority["code"])
    except (ConfigError, PluginError) as exc:
        click.echo(f"cpp transfer public-key: {exc}", err=True)
        sys.exit(2)
    click.echo(json.dumps({"keys": [key.public_jwk()]}, indent=2))


@click.group(help="Retention: the children whose records are due for erasure, and erasing them (docs/retention.md).")
def retention() -> None:
    pass


@retention.command(
    "run",
    help="List the children whose records are due for erasure today under the deployment's retention rules "
    "(child id, rule, due on; no names), then erase each one's records from the plans store: one commit per "
    "child with its audit entry and child.erased.v1, on which every other service erases its copy. With "
    "--dry-run, list only. A run stopped half-way is run again: a child erased is not found again, one not "
    "erased is erased whole. Audited as operator:<login>.",
)
@click.option("--dry-run", is_flag=True, help="list what is due, erase nothing")
@click.option("--authority", default=None, help="the authority whose records to run on (default: the deployment's)")
@click.option("--today", "on", default=None, hidden=True, help="the day to decide on (YYYY-MM-DD), for drills")
def retention_run(dry_run: bool, authority: str | None, on: str | None) -> None:
    from datetime import date

    from . import audit
    from .api.common import today
    from .app import create_app
    from .service_layer import retention as keeping

    try:
        app = create_app(Settings.from_env("plans"))
        ctx = app.extensions["cpp"]
        code = ctx.authority["code"]
        if authority is not None and authority != code:
            raise ConfigError(f"--authority {authority}: this deployment serves {code} (CPP_PLUGINS)")
        day = date.fromisoformat(on) if on else today()
        operator = Principal(user=f"operator:{getpass.getuser()}", role=OPERATOR, authority=code)
        with app.app_context():
            g.principal, g.request_id = operator, uuid.uuid4().hex
            due = keeping.due(ctx, day)
            click.echo(f"due for erasure on {day.isoformat()}: {len(due)}")
            for item in due:
                click.echo(f"  child {item.child_id}  rule {item.decision.rule}  due on {item.decision.due_on}")
            if dry_run:
                click.echo("dry run: nothing erased")
                return
            erased, changed = 0, []
            scan = audit.EntriesAbout(ctx.store, [item.child_id for item in due])  # the audit log read once
            for item in due:
                try:
                    done = keeping.erase(ctx, item.child_id, today=day, actor=operator, audit_scan=scan)
                except VersionConflict:
                    changed.append(item.child_id)
                    click.echo(f"  child {item.child_id}: a record changed while it was read; nothing erased")
                    continue
                if done is not None:
                    erased += 1
                    counts = ", ".join(f"{k} {v}" for k, v in done.counts.items())
                    click.echo(f"  erased child {done.child_id} (erasure {done.erasure_id}): {counts}")
            click.echo(f"erased: {erased}")
            if changed:
                click.echo(f"not erased, as their records changed meanwhile (run again): {len(changed)}", err=True)
                sys.exit(1)
    except (ConfigError, PluginError, StoreError, ValueError) as exc:
        click.echo(f"cpp retention run: {exc}", err=True)
        sys.exit(2)
