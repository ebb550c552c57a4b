"""A backup's checks as properties: any bit of any file flipped, or any value of the manifest changed, is
refused by ``cpp_shared.backup.verify``; the backup as taken verifies."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpp_shared import backup as bk
from cpp_shared.config import Settings
from cpp_shared.store.sqlite import SQLiteStore


@pytest.fixture(scope="module")
def taken():
    root = Path(tempfile.mkdtemp(prefix="cpp-backup-"))
    env = {"CPP_MODE": "development", "CPP_DATA_DIR": str(root / "var")}
    store_settings = {"plans": Settings.from_env("plans", env)}
    store = SQLiteStore(bk.sqlite_path(store_settings["plans"]))
    for n in range(1, 6):
        with store.unit_of_work() as uow:
            uow.insert("children", {"_id": f"child-{n}", "n": n})
            uow.append("audit", {"action": "register", "n": n})
            uow.publish("child.registered.v1", {"n": n}, message_id=f"event-{n}")
    store.close()
    result = bk.backup(store_settings, root / "backups")
    yield result, store_settings
    shutil.rmtree(root, ignore_errors=True)


def test_the_backup_as_taken_verifies(taken):
    result, store_settings = taken
    manifest, plans = bk.verify(result.folder, store_settings)
    assert manifest == result.manifest
    assert plans[0].heads["audit"]["last_seq"] == 5
    assert manifest["services"]["plans"]["outbox"] == {"last_seq": 5, "pending": 5}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_bit_flipped_in_the_database_is_refused(taken, data):
    result, store_settings = taken
    path = result.folder / "plans" / "plans.db"
    original = path.read_bytes()
    position = data.draw(st.integers(min_value=0, max_value=len(original) - 1))
    bit = data.draw(st.integers(min_value=0, max_value=7))
    changed = bytearray(original)
    changed[position] ^= 1 << bit
    path.write_bytes(bytes(changed))
    try:
        with pytest.raises(bk.RestoreRefused, match="plans/plans.db: its sha256 does not match"):
            bk.verify(result.folder, store_settings)
    finally:
        path.write_bytes(original)


def leaves(value, path=()):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from leaves(inner, (*path, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from leaves(inner, (*path, i))
    else:
        yield path


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_value_of_the_manifest_changed_is_refused(taken, data):
    result, store_settings = taken
    path = result.folder / "manifest.json"
    original = path.read_text()
    manifest = json.loads(original)
    where = data.draw(st.sampled_from(sorted(leaves(manifest), key=repr)))
    parent = manifest
    for step in where[:-1]:
        parent = parent[step]
    old = parent[where[-1]]
    new = data.draw(
        st.one_of(st.integers(), st.text(), st.none()).filter(lambda v: v != old or type(v) is not type(old))
    )
    parent[where[-1]] = new
    path.write_text(json.dumps(manifest))
    try:
        with pytest.raises(bk.RestoreRefused, match="manifest.json"):
            bk.verify(result.folder, store_settings)
    finally:
        path.write_text(original)
