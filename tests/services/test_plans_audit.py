"""The plans service's audit log: every read and write, hash-chained."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

from tests.helpers import bearer, ensure_child


def open_case(plans, token, child_id="child-1"):
    resp = plans.post("/v1/cases", json={"child_id": ensure_child(plans, child_id)}, headers=bearer(token))
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def test_writes_and_reads_are_audited_in_order(plans, plans_store, token_for):
    case_id = open_case(plans, token_for("social_worker", user="sw-1"))
    assert plans.get(f"/v1/cases/{case_id}", headers=bearer(token_for("team_manager", user="tm-1"))).status_code == 200
    page = plans.get("/v1/audit", headers=bearer(token_for("auditor", user="au-1"))).json
    entries = [r["entry"] for r in page["records"]]
    assert [(e["action"], e["actor"], e["role"]) for e in entries] == [
        ("create", "sw-1", "social_worker"),
        ("read", "tm-1", "team_manager"),
    ]
    assert all(
        e["record_type"] == "case"
        and e["record_id"] == case_id
        and e["child_id"] == "child-1"
        and e["authority"] == "ENG"
        and e["request_id"]
        for e in entries
    )
    seqs = [r["seq"] for r in page["records"]]
    assert seqs == [1, 2] and page["records"][1]["prev_hash"] == page["records"][0]["hash"]
    assert plans_store.verify_log("audit").ok


def test_a_refused_write_leaves_no_audit_entry(plans, plans_store, token_for):
    assert plans.post("/v1/cases", json={}, headers=bearer(token_for())).status_code == 422
    assert (
        plans.post(
            "/v1/cases", json={"child_id": ensure_child(plans, "c")}, headers=bearer(token_for("partner"))
        ).status_code
        == 403
    )
    assert plans_store.read_log("audit") == []


def test_only_auditors_read_the_audit_log(plans, token_for):
    for role in ("social_worker", "team_manager", "chair", "partner", "admin"):
        assert plans.get("/v1/audit", headers=bearer(token_for(role))).status_code == 403, role
    assert plans.get("/v1/audit").status_code == 401


def test_the_audit_log_pages(plans, token_for):
    token = token_for()
    for i in range(5):
        open_case(plans, token, f"c{i}")
    auditor = bearer(token_for("auditor"))
    first = plans.get("/v1/audit?limit=3", headers=auditor).json
    assert [r["seq"] for r in first["records"]] == [1, 2, 3] and first["next_after_seq"] == 3
    rest = plans.get(f"/v1/audit?after_seq={first['next_after_seq']}&limit=3", headers=auditor).json
    # Seq 6 is the auditor's own reading of the first page.
    assert [r["seq"] for r in rest["records"]] == [4, 5, 6] and rest["next_after_seq"] == 6
    assert rest["records"][2]["entry"]["record_type"] == "audit_log"
    assert rest["records"][2]["entry"]["detail"] == {"count": 3, "last_seq": 3}
    assert plans.get("/v1/audit?limit=0", headers=auditor).status_code == 422


def test_another_authoritys_case_is_not_found(plans, plans_store, token_for):
    plans_store.inner.collection("cases").insert_one(
        {"_id": "theirs", "authority": "BRO", "child_id": "x", "status": "open"}
    )
    assert plans.get("/v1/cases/theirs", headers=bearer(token_for())).status_code == 404
    assert plans_store.read_log("audit") == [], "nothing was read, so nothing is audited"


def cpp_audit_verify(data_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPP_")}
    env.update({"CPP_DATA_DIR": str(data_dir), "CPP_MODE": "development"})
    return subprocess.run(
        [sys.executable, "-m", "cpp_shared.cli", "audit", "verify"], env=env, capture_output=True, text=True, timeout=60
    )


def test_cpp_audit_verify_detects_a_tampered_entry(plans, plans_store, token_for, data_dir):
    token = token_for()
    for i in range(3):
        case_id = open_case(plans, token, f"c{i}")
        plans.get(f"/v1/cases/{case_id}", headers=bearer(token))
    ok = cpp_audit_verify(data_dir)
    assert ok.returncode == 0 and "6 entries" in ok.stdout, ok.stdout + ok.stderr

    # Someone with access to the file (who can drop the store's guard triggers)
    # rewrites who read the second case.
    with sqlite3.connect(plans_store.inner.path) as db:
        db.execute("DROP TRIGGER IF EXISTS _log_no_update")
        [(raw,)] = db.execute("SELECT entry FROM _log WHERE log = 'audit' AND seq = 4").fetchall()
        forged = {**json.loads(raw), "actor": "nobody"}
        db.execute("UPDATE _log SET entry = ? WHERE log = 'audit' AND seq = 4", (json.dumps(forged),))
    broken = cpp_audit_verify(data_dir)
    assert broken.returncode == 1
    assert "BROKEN at entry 4" in broken.stderr, broken.stderr


def test_a_listings_read_entries_are_committed_with_other_requests_units(plans, plans_store, token_for, monkeypatch):
    """The cases and plans listings append an entry for each record listed
    and hand them, in one unit, to the group commit that the other audited
    reads share (group_commit.py): under load they share its commits."""
    from cpp_shared.store import group_commit

    sw = token_for("social_worker", user="sw-1")
    first, second = open_case(plans, sw, "child-1"), open_case(plans, sw, "child-2")
    handed: list[list[tuple]] = []
    commit = group_commit.GroupCommitter.commit

    def spy(self, uow):
        ops = getattr(uow, "inner", uow).ops  # (the service's store may be a scoped view)
        handed.append([(op[2]["action"], op[2]["record_type"], op[2]["record_id"]) for op in ops if op[0] == "append"])
        return commit(self, uow)

    monkeypatch.setattr(group_commit.GroupCommitter, "commit", spy)
    listed = plans.get("/v1/cases?worker=me", headers=bearer(sw)).json["items"]
    assert {c["id"] for c in listed} == {first, second}
    assert handed == [[("read", "case", c["id"]) for c in listed]]
    assert plans.get("/v1/plans", headers=bearer(sw)).json["items"] == []
    assert handed[1:] == [], "nothing listed, nothing to commit"
    assert [r.entry["record_id"] for r in plans_store.read_log("audit")][-2:] == [c["id"] for c in listed]
    assert plans_store.verify_log("audit").ok
