"""Retention in the plans service: legal holds over HTTP, the records due for erasure (``GET /v1/retention/due``)
and ``cpp retention run`` on a store seeded through the API: a dry run that changes nothing, a run that erases
each due child in one commit with its audit entry and ``child.erased.v1``, and a run stopped half-way then run
again."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from click.testing import CliRunner

from cpp_plans.api import retention as retention_api
from cpp_plans.commands import retention
from cpp_plans.service_layer import retention as keeping
from tests.helpers import bearer, cli_environment, ok
from tests.services.test_children_http import full_child

# A day long after every record's period ends (England: 35 years after the last entry of child protection
# records; the 21st birthday and 3 years without an entry for referrals).
LATER = date(2100, 1, 1)


@pytest.fixture
def who(token_for):
    return {
        role: bearer(token_for(role, user=f"{role}-1", name=f"{role.title()} One", team="North"))
        for role in ("social_worker", "team_manager", "chair", "auditor", "admin")
    }


def register(plans, who, name, **extra):
    body = {**full_child(), "given_names": name, "identifiers": [], **extra}
    return ok(plans.post("/v1/children", json=body, headers=who["social_worker"]), 201)["id"]


@pytest.fixture
def seeded(plans, who):
    """Four children: one whose case was closed after enquiries (child protection records), one with a case still
    open, one registered only (referral records) and one registered only with a legal hold; the first two in one
    family."""
    sw = who["social_worker"]
    kids = {name: register(plans, who, name) for name in ("Closed", "Open", "Plain", "Held")}
    for name in ("Closed", "Open"):
        case = ok(plans.post("/v1/cases", json={"child_id": kids[name]}, headers=sw), 201)["id"]
        held_on = (date.today() - timedelta(days=3)).isoformat()
        ok(plans.post(f"/v1/cases/{case}/strategy-discussions", json={"held_on": held_on}, headers=sw), 201)
        if name == "Closed":
            body = {"closed_on": date.today().isoformat(), "reason": "RC7", "notes": "No longer in need."}
            ok(plans.post(f"/v1/cases/{case}/closure", json=body, headers={**sw, "If-Match": '"2"'}))
    person = {
        "name": "Pat Parent",
        "role": "parent",
        "parental_responsibility": True,
        "relationships": [{"child_id": kids["Closed"], "relationship": "mother"}],
    }
    family = {"name": "The Parents", "children": [kids["Closed"], kids["Open"]], "people": [person]}
    kids["family"] = ok(plans.post("/v1/families", json=family, headers=sw), 201)["id"]
    hold = {"reason": "Disclosure ordered in care proceedings.", "set_by": "Family Court"}
    kids["hold"] = ok(
        plans.post(f"/v1/children/{kids['Held']}/legal-holds", json=hold, headers=who["team_manager"]), 201
    )["id"]
    return kids


def run(data_dir, make_settings, monkeypatch, *args):
    settings = make_settings("plans")
    cli_environment(monkeypatch, settings)
    return CliRunner().invoke(retention, ["run", "--today", LATER.isoformat(), *args], catch_exceptions=False)


def snapshot(store):
    return {name: sorted(map(json.dumps, store.collection(name).find({}))) for name in store.collection_names()}


def erased_events(store):
    return [m.body for m in store.outbox_pending(100_000) if m.routing_key == "child.erased.v1"]


# --- legal holds ----------------------------------------------------------------------------------------------


def test_a_hold_is_placed_listed_and_lifted_by_a_manager_and_audited(plans, plans_store, who):
    child = register(plans, who, "Hal")
    tm = who["team_manager"]
    until = (date.today() + timedelta(days=365)).isoformat()
    hold = ok(
        plans.post(
            f"/v1/children/{child}/legal-holds",
            json={"reason": "A subject access request is open.", "set_by": "Information governance", "until": until},
            headers=who["admin"],
        ),
        201,
    )
    assert hold["in_force"] and hold["until"] == until and hold["placed_by"] == "admin-1"
    assert [h["id"] for h in ok(plans.get(f"/v1/children/{child}/legal-holds", headers=who["auditor"]))["items"]] == [
        hold["id"]
    ]
    lifted = ok(
        plans.delete(f"/v1/children/{child}/legal-holds/{hold['id']}", json={"reason": "Answered."}, headers=tm)
    )
    assert not lifted["in_force"] and lifted["lifted"]["by"] == "team_manager-1"
    again = plans.delete(f"/v1/children/{child}/legal-holds/{hold['id']}", json={"reason": "Again."}, headers=tm)
    assert again.status_code == 409
    actions = [r.entry["action"] for r in plans_store.read_log("audit") if r.entry["record_type"] == "legal_hold"]
    assert actions == ["place_legal_hold", "list", "lift_legal_hold"]


def test_bad_holds_are_refused_by_field_and_write_nothing(plans, plans_store, who):
    child = register(plans, who, "Bea")
    url = f"/v1/children/{child}/legal-holds"
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    resp = plans.post(url, json={"reason": "  ", "until": yesterday}, headers=who["team_manager"])
    assert resp.status_code == 422
    assert set(resp.json["errors"]["json"]) == {"reason", "set_by", "until"}
    resp = plans.post(url, json={"reason": "Kept.", "set_by": "Court", "until": yesterday}, headers=who["admin"])
    assert resp.status_code == 422 and "until" in resp.json["errors"]["json"]
    refused = plans.post(url, json={"reason": "Kept.", "set_by": "Court"}, headers=who["social_worker"])
    assert refused.status_code == 403
    assert (
        plans.post(
            "/v1/children/nobody/legal-holds", json={"reason": "x", "set_by": "y"}, headers=who["admin"]
        ).status_code
        == 404
    )
    assert plans_store.collection("legal_holds").count_documents({}) == 0
    lift = plans.delete(f"{url}/nohold", json={"reason": "x"}, headers=who["admin"])
    assert lift.status_code == 404


# --- the due listing --------------------------------------------------------------------------------------------


def test_the_due_listing_names_ids_rules_and_dates_and_what_a_hold_keeps(plans, who, seeded, monkeypatch):
    assert ok(plans.get("/v1/retention/due", headers=who["admin"]))["due"] == []  # nothing is due today
    monkeypatch.setattr(retention_api, "today", lambda: LATER)
    listing = ok(plans.get("/v1/retention/due", headers=who["auditor"]))
    due = {item["child_id"]: item for item in listing["due"]}
    assert set(due) == {seeded["Closed"], seeded["Plain"]}
    assert due[seeded["Closed"]]["rule"] == "child_protection" and due[seeded["Plain"]]["rule"] == "referral"
    assert [h["child_id"] for h in listing["held"]] == [seeded["Held"]]
    assert listing["held"][0]["holds"] == [seeded["hold"]]
    assert "Closed" not in json.dumps(listing)  # no names
    assert plans.get("/v1/retention/due", headers=who["team_manager"]).status_code == 403


# --- cpp retention run ------------------------------------------------------------------------------------------


def test_a_dry_run_lists_what_is_due_and_changes_nothing(plans_store, seeded, data_dir, make_settings, monkeypatch):
    before = snapshot(plans_store)
    log = len(plans_store.read_log("audit", limit=100_000))
    result = run(data_dir, make_settings, monkeypatch, "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"child {seeded['Closed']}  rule child_protection" in result.output
    assert f"child {seeded['Plain']}  rule referral" in result.output
    assert seeded["Open"] not in result.output and seeded["Held"] not in result.output
    assert "Closed" not in result.output.replace("child_protection", "")  # no names in the listing
    assert "nothing erased" in result.output
    assert snapshot(plans_store) == before
    assert len(plans_store.read_log("audit", limit=100_000)) == log
    assert erased_events(plans_store) == []


def test_a_run_erases_each_due_child_with_its_audit_entry_and_one_event(
    plans, plans_store, who, seeded, data_dir, make_settings, monkeypatch
):
    plans_store.outbox_mark_sent([m.seq for m in plans_store.outbox_pending(100_000)])  # as the relay would
    result = run(data_dir, make_settings, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "erased: 2" in result.output
    closed, plain = seeded["Closed"], seeded["Plain"]
    for child in (closed, plain):
        assert plans.get(f"/v1/children/{child}", headers=who["social_worker"]).status_code == 404
        text = json.dumps([plans_store.collection(n).find({}) for n in plans_store.collection_names()])
        assert child not in text
    everything = json.dumps([plans_store.collection(n).find({}) for n in plans_store.collection_names()])
    assert "Closed" not in everything and "Plain" not in everything  # their names gone
    # Nor do the events sent about them keep them in the outbox: only the erasure's own (no personal data).
    outbox = plans_store.inner._connection().execute("SELECT body FROM _outbox").fetchall()
    mentions = [json.loads(body) for (body,) in outbox if closed in body or plain in body]
    assert {m["type"] for m in mentions} == {"child.erased.v1"}
    assert not any("Closed" in body or "Plain" in body for (body,) in outbox)
    # The family keeps the child still on it, without the erased child or the relationship to them.
    family = ok(plans.get(f"/v1/families/{seeded['family']}", headers=who["social_worker"]))
    assert closed not in json.dumps(family) and seeded["Open"] in json.dumps(family)
    # Kept: the open case's child and the held one.
    for child in (seeded["Open"], seeded["Held"]):
        ok(plans.get(f"/v1/children/{child}", headers=who["social_worker"]))

    erasures = [r.entry for r in plans_store.read_log("audit", limit=100_000) if r.entry["action"] == "erase"]
    assert sorted(e["record_id"] for e in erasures) == sorted([closed, plain])
    entry = next(e for e in erasures if e["record_id"] == closed)
    assert entry["record_type"] == "child" and entry["actor"].startswith("operator:")
    assert entry["detail"]["rule"] == "child_protection"
    assert entry["detail"]["removed"]["children"] == 1 and entry["detail"]["removed"]["cases"] == 1
    assert entry["detail"]["anonymised"] == {"families": 1}
    assert "Closed" not in json.dumps(erasures) and "Okafor" not in json.dumps(erasures)
    assert plans_store.verify_log("audit").ok

    events = erased_events(plans_store)
    assert sorted(e["data"]["child_id"] for e in events) == sorted([closed, plain])
    assert {e["data"]["erasure_id"] for e in events} == {e["detail"]["erasure_id"] for e in erasures}

    again = run(data_dir, make_settings, monkeypatch)
    assert "due for erasure on 2100-01-01: 0" in again.output and "erased: 0" in again.output
    assert len(erased_events(plans_store)) == 2


def test_a_run_stopped_half_way_is_finished_by_the_next_without_a_second_erasure(
    plans_store, seeded, data_dir, make_settings, monkeypatch
):
    real = keeping.erase
    calls: list[str] = []

    def crash_on_the_second(deps, child_id, **kw):
        calls.append(child_id)
        if len(calls) == 2:

            def fail(uow, child):
                raise RuntimeError("the machine went away")

            return real(deps, child_id, **kw, uow_hook=fail)
        return real(deps, child_id, **kw)

    monkeypatch.setattr(keeping, "erase", crash_on_the_second)
    with pytest.raises(RuntimeError):
        run(data_dir, make_settings, monkeypatch)
    first, second = calls
    assert [e["data"]["child_id"] for e in erased_events(plans_store)] == [first]
    assert plans_store.collection("children").find_one({"_id": second}) is not None  # whole: nothing of it erased
    assert plans_store.collection("cases").count_documents({"child_id": second}) == (
        1 if second == seeded["Closed"] else 0
    )

    monkeypatch.setattr(keeping, "erase", real)
    result = run(data_dir, make_settings, monkeypatch)
    assert result.exit_code == 0, result.output
    assert f"child {first}" not in result.output and "erased: 1" in result.output
    events = erased_events(plans_store)
    assert sorted(e["data"]["child_id"] for e in events) == sorted([first, second])
    erasures = [r.entry for r in plans_store.read_log("audit", limit=100_000) if r.entry["action"] == "erase"]
    assert sorted(e["record_id"] for e in erasures) == sorted([first, second])


def test_the_same_erasure_cannot_be_published_twice(plans, plans_store, who, plans_app):
    """The event's id comes from the erasure's: even a second erasure of a child with the same rule and day (a
    record put back from a backup, say) is refused whole by the outbox."""
    from cpp_shared.auth import Principal
    from cpp_shared.store import DuplicateKey

    child = register(plans, who, "Twice")
    ctx = plans_app.extensions["cpp"]
    operator = Principal(user="operator:test", role="operator", authority="ENG")
    saved = plans_store.collection("children").find_one({"_id": child})
    with plans_app.app_context():
        assert keeping.erase(ctx, child, today=LATER, actor=operator) is not None
        plans_store.collection("children").insert_one(saved)
        with pytest.raises(DuplicateKey):
            keeping.erase(ctx, child, today=LATER, actor=operator)
    assert plans_store.collection("children").find_one({"_id": child}) is not None
    assert len(erased_events(plans_store)) == 1


def test_an_unknown_authority_is_refused(data_dir, make_settings, monkeypatch):
    result = run(data_dir, make_settings, monkeypatch, "--authority", "BRM")
    assert result.exit_code == 2 and "BRM" in result.output


def test_a_record_changed_while_the_run_reads_it_is_left_whole_and_the_run_says_so(
    plans_store, seeded, data_dir, make_settings, monkeypatch
):
    real = keeping.gather

    def changed_meanwhile(deps, child_id):
        found = real(deps, child_id)
        if child_id == seeded["Plain"]:  # someone corrects the child's record after the run read it
            plans_store.collection("children").update_one({"_id": child_id}, {"$inc": {"version": 1}})
        return found

    monkeypatch.setattr(keeping, "gather", changed_meanwhile)
    result = run(data_dir, make_settings, monkeypatch)
    assert result.exit_code == 1
    assert f"child {seeded['Plain']}: a record changed while it was read; nothing erased" in result.output
    assert plans_store.collection("children").find_one({"_id": seeded["Plain"]}) is not None
    assert plans_store.collection("children").find_one({"_id": seeded["Closed"]}) is None
    assert [e["data"]["child_id"] for e in erased_events(plans_store)] == [seeded["Closed"]]


def test_a_family_conference_keeps_the_other_children_and_loses_every_entry_about_the_erased_one():
    group = {
        "_id": "fc-1",
        "family_id": "f-1",
        "children": [{"child_id": "gone", "case_id": "c1"}, {"child_id": "kept", "case_id": "c2"}],
        "outcome": {"held_on": "2026-01-01", "children": [{"child_id": "gone", "plan_required": True}]},
    }
    after = keeping._without_child(group, "gone")
    assert after is not None and "gone" not in json.dumps(after)
    assert after["children"] == [{"child_id": "kept", "case_id": "c2"}] and after["outcome"]["children"] == []
    assert keeping._without_child({**group, "children": [{"child_id": "gone"}]}, "gone") is None
    family = {"children": ["gone"], "people": [{"relationships": [{"child_id": "gone"}]}]}
    assert keeping._without_child(family, "gone") is None


def test_a_run_reads_the_audit_log_once_and_redacts_a_lookup_made_while_it_runs(
    plans_store, seeded, data_dir, make_settings, monkeypatch
):
    from cpp_shared import audit as shared_audit
    from cpp_shared.auth import Principal
    from cpp_shared.store import SQLiteStore

    read = {"records": 0}
    real_read_log, real_gather = SQLiteStore.read_log, keeping.gather

    def counted(self, log, **kw):
        page = real_read_log(self, log, **kw)
        read["records"] += len(page) if log == "audit" else 0
        return page

    def looked_up_meanwhile(deps, child_id):
        if child_id == seeded["Plain"]:  # a partner looks the child up while the run goes on
            with plans_store.unit_of_work() as uow:
                lookup = {"nhs_number": "9434765919", "plan_status": "none"}
                health = Principal(user="health-1", role="health", authority="ENG")
                uow.append(
                    "audit",
                    shared_audit.entry("lookup", "child", child_id, child_id=child_id, detail=lookup, principal=health),
                )
        return real_gather(deps, child_id)

    monkeypatch.setattr(SQLiteStore, "read_log", counted)
    monkeypatch.setattr(keeping, "gather", looked_up_meanwhile)
    result = run(data_dir, make_settings, monkeypatch)
    assert result.exit_code == 0 and "erased: 2" in result.output, result.output
    log = real_read_log(plans_store.inner, "audit", limit=100_000)
    # Two children erased, the log read once (and caught up with what was appended meanwhile), not once for each.
    assert 0 < read["records"] <= len(log), (read["records"], len(log))
    # The lookup made mid-run (as the erasure read the child's records) is redacted with them: its entry is the
    # erasure's marker now.
    erasure = next(
        e["data"]["erasure_id"] for e in erased_events(plans_store) if e["data"]["child_id"] == seeded["Plain"]
    )
    assert [r.entry for r in log].count({"redacted": erasure}) == 1
    assert "9434765919" not in json.dumps([r.entry for r in log])
    assert plans_store.inner.verify_log("audit").ok


def test_the_listing_reads_each_collection_once_for_many_children_and_finds_what_one_by_one_would(
    plans, plans_app, who, seeded, monkeypatch
):
    ctx = plans_app.extensions["cpp"]
    children = sorted(d["_id"] for d in ctx.store.collection("children").find({}))
    assert len(children) == 4
    one_by_one = {child: keeping.gather(ctx, child) for child in children}
    queries = []
    real_find = keeping._find
    monkeypatch.setattr(
        keeping, "_find", lambda store, name, filter: queries.append(name) or real_find(store, name, filter)
    )
    together = keeping.gather_many(ctx, children)
    for child in children:
        assert {n: sorted(d["_id"] for d in docs) for n, docs in together[child].documents.items()} == {
            n: sorted(d["_id"] for d in docs) for n, docs in one_by_one[child].documents.items()
        }, child
    # The two children of one family each find it; only the closed case's child has a case's records.
    family = seeded["family"]
    assert family in [d["_id"] for d in together[seeded["Closed"]].of("families")]
    assert family in [d["_id"] for d in together[seeded["Open"]].of("families")]
    assert together[seeded["Closed"]].of("cases") and not together[seeded["Plain"]].of("cases")
    # Each collection once for the four (a collection with nothing to look for, none).
    assert len(queries) == len(set(queries)) + queries.count("visits") - 1, queries
    monkeypatch.setattr(keeping, "CHUNK", 3)
    queries.clear()
    assert {c: r.counts() for c, r in keeping.gather_many(ctx, children).items()} == {
        c: r.counts() for c, r in together.items()
    }
    assert max(queries.count(name) for name in set(queries)) <= 4, queries  # two chunks (visits: twice each)
