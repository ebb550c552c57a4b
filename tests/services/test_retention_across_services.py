"""Retention from end to end: ``cpp retention run`` on a deployment seeded through the plans API, its events handed to
the scheduler, notify, docs and the returns as their workers would. A dry run changes nothing anywhere; the run
erases the child whose records are due in the plans service, and its ``child.erased.v1`` erases every other
service's copy: afterwards no store, log or outbox of any service holds the child's ids or name, each service's
audit log shows the erasure (ids and counts only), and the child kept by an open case is untouched."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from cpp_returns.projection import catch_up

from cpp_docs.render import Renderer
from cpp_plans.commands import retention
from cpp_shared.store.scoped import unscoped
from tests.helpers import bearer, cli_environment, new_child
from tests.services.test_erasure_services import (
    CONSUMERS,
    KEPT,
    Platform,
    audit_erasures,
    everything,
    holding,
    logs,
)

ERASED = {"given_names": "Ottoline", "family_name": "Brackenbury"}
LATER = date(2100, 1, 1)  # long after every England rule's period has ended
NHS = "9434765919"  # the standard NHS test number


def run(make_settings, monkeypatch, *args):
    settings = make_settings("plans")
    cli_environment(monkeypatch, settings)
    return CliRunner().invoke(retention, ["run", "--today", LATER.isoformat(), *args], catch_exceptions=False)


@pytest.fixture
def deployment(make_settings, token_for):
    p = Platform(make_settings, token_for)
    d0 = date.today() - timedelta(days=40)
    p.kept = p.child_to_agreed_plan(KEPT, d0)  # a plan in force: never due
    # The other: a case closed after its strategy discussion (child protection records, due long after).
    plans_child = new_child(p.plans, p.sw, **ERASED, identifiers=[{"scheme": "nhs_number", "value": NHS}])
    case = p.ok(p.plans.post("/v1/cases", json={"child_id": plans_child, "team_manager": "tm-1"}, headers=p.sw))
    p.ok(p.plans.post(f"/v1/cases/{case['id']}/strategy-discussions", json={"held_on": d0.isoformat()}, headers=p.sw))
    p.ok(
        p.plans.post(
            f"/v1/cases/{case['id']}/closure",
            json={"closed_on": date.today().isoformat(), "reason": "RC7", "notes": "No longer in need."},
            headers={**p.sw, "If-Match": '"2"'},
        )
    )
    p.erased = {"child_id": plans_child, "case_id": case["id"]}
    # A partner looked the child up: the audit entry of the lookup keeps the NHS number asked about.
    partner = bearer(token_for("partner", user="hv-jones"))
    p.ok(p.plans.get("/v1/lookup", query_string={"nhs_number": NHS}, headers=partner))
    p.pump()
    Renderer(p.ctx["docs"]).run_once(use_lease=False)
    catch_up(p.store("returns"))
    for store in stores(p).values():  # as their relays would have, long before the records fall due
        store.outbox_mark_sent([m.seq for m in store.outbox_pending(100_000)])
    return p


def stores(p):
    return {"plans": p.plans_app.extensions["cpp"].store, **{s: p.store(s) for s in CONSUMERS}}


def test_a_dry_run_then_a_run_erase_the_due_child_from_every_service_with_each_audit_showing_it(
    deployment, make_settings, monkeypatch
):
    p = deployment
    erased = (p.erased["child_id"], p.erased["case_id"], ERASED["family_name"])
    kept = (p.kept["child_id"], p.kept["case_id"], p.kept["plan_id"], KEPT["family_name"])
    before = {s: holding(store, *erased) for s, store in stores(p).items()}
    assert before["plans"] and before["scheduler"] and before["returns"], before  # the child was there to erase
    kept_before = {s: holding(store, *kept) for s, store in stores(p).items()}

    # The dry run names the due child, by id, and changes nothing in any service.
    untouched = {s: everything(store) for s, store in stores(p).items()}
    listing = run(make_settings, monkeypatch, "--dry-run")
    assert listing.exit_code == 0, listing.output
    assert p.erased["child_id"] in listing.output and p.kept["child_id"] not in listing.output
    assert ERASED["family_name"] not in listing.output
    after = {s: everything(store) for s, store in stores(p).items()}
    for service in after:
        collections = after[service].keys() | untouched[service].keys()
        changed = {c for c in collections if after[service].get(c) != untouched[service].get(c)}
        assert changed <= {"_scoped_records"}, (service, changed)  # the scoped view's note of collections it met

    # The run erases the plans service's records and publishes child.erased.v1, which every service hears.
    done = run(make_settings, monkeypatch)
    assert done.exit_code == 0, done.output
    [published] = [m.body for m in stores(p)["plans"].outbox_pending(100_000) if m.routing_key == "child.erased.v1"]
    assert published["data"]["child_id"] == p.erased["child_id"]
    assert not any(n in json.dumps(published) for n in ERASED.values()), "the event carries no personal data"
    p.pump()
    Renderer(p.ctx["docs"]).run_once(use_lease=False)
    catch_up(p.store("returns"))

    for service, store in stores(p).items():
        left = holding(store, *erased)
        if service == "plans":
            # The plans store keeps only the unsent erasure event itself (ids) until its relay sends it.
            assert set(left) <= {"_outbox"}, left
            assert [m["body"]["type"] for m in everything(store).get("_outbox", []) if m["_id"] in left["_outbox"]] == [
                "child.erased.v1"
            ] * len(left.get("_outbox", []))
        else:
            assert set(left) <= {"erasures"}, (service, left)
        for log_name, records in logs(store).items():
            assert not [r.seq for r in records if ERASED["family_name"] in json.dumps(r.entry)], (service, log_name)
        [entry] = audit_erasures(store)
        assert (entry["record_type"], entry["record_id"]) == ("child", p.erased["child_id"])
        assert entry["detail"]["erasure_id"] == published["data"]["erasure_id"]
        assert unscoped(store).verify_log("audit").ok
        assert holding(store, *kept) == kept_before[service], service

    # The plans audit log: the lookup's entry (the NHS number) redacted in place, confirmed by the entry after it,
    # the chain whole; the erasure's own entry names ids and counts only.
    plans_audit = unscoped(stores(p)["plans"]).read_log("audit", limit=100_000)
    assert not [r.seq for r in plans_audit if NHS in json.dumps(r.entry)]
    [redaction] = [r.entry for r in plans_audit if "redaction" in r.entry]
    assert redaction["child_id"] == p.erased["child_id"] and len(redaction["redaction"]["records"]) == 1
    assert [r.entry for r in plans_audit if r.seq == redaction["redaction"]["records"][0]["seq"]] == [
        {"redacted": published["data"]["erasure_id"]}
    ]
    assert unscoped(stores(p)["plans"]).verify_log("audit", batch=7).ok

    # Run again: nothing more is due, nothing is published twice.
    again = run(make_settings, monkeypatch)
    assert again.exit_code == 0, again.output
    assert [m.routing_key for m in stores(p)["plans"].outbox_pending(100_000)].count("child.erased.v1") == 1
