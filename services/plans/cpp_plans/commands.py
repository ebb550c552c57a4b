"""`cpp audit ...`: commands the plans service adds to the cpp command line."""
from __future__ import annotations

import sys

import click

from cpp_shared.config import Settings
from cpp_shared.store import open_store

from . import audit as audit_log


@click.group(help="The plans service's audit log.")
def audit() -> None:
    pass


@audit.command(help="Check the audit log's hash chain from its first entry to its last.")
def verify() -> None:
    store = open_store(Settings.from_env("plans").store_url)
    report = store.verify_log(audit_log.LOG)
    if report.ok:
        click.echo(f"audit log intact: {report.checked} entries, chain verified")
        return
    click.echo(f"audit log BROKEN at entry {report.first_bad_seq}: {report.reason} "
               f"({report.checked} entries checked)", err=True)
    sys.exit(1)
