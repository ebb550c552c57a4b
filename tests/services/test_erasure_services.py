"""A child's erasure (``child.erased.v1``) in every service that keeps a copy: the scheduler, notify, docs and
the returns.

Two children walked over the plans API to an agreed plan, every event handed to the scheduler, notify, docs
and the returns as their workers would (and the scheduler's events on to the other three), the documents
rendered; then the plans service's ``child.erased.v1`` for one of them handed to each service. Checked in each
store directly (every collection and log, for the erased child's id and name), over each service's API, in
its audit log, for a second delivery of the same erasure (under a new event id too), and for the other
child, whose records stay as they were.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from cpp_returns.app import create_app as create_returns_app
from cpp_returns.projection import catch_up, project_once, rebuild

from cpp_docs.app import create_app as create_docs_app
from cpp_docs.files import open_file_store
from cpp_docs.render import Renderer
from cpp_notify.app import create_app as create_notify_app
from cpp_notify.domain.minimise import DEFAULT_CLASSES
from cpp_plans.app import create_app as create_plans_app
from cpp_scheduler.app import create_app as create_scheduler_app
from cpp_shared.contracts.catalogue import validate_event
from cpp_shared.erasure import Erasure
from cpp_shared.messaging.events import new_event
from cpp_shared.store import AlreadyProcessed, Store
from cpp_shared.store.mongo import MongoStore
from cpp_shared.store.scoped import unscoped
from tests.helpers import KEY_WORKER_ATTENDS, bearer, hand_over, new_child
from tests.services.test_docs_http import PLAN
from tests.services.test_plans_lifecycle_http import OUTLINE

ERASED = {"given_names": "Zebulon", "family_name": "Quillfeather"}
KEPT = {"given_names": "Xanthe", "family_name": "Marchbanks"}
CONSUMERS = ("scheduler", "notify", "docs", "returns")


class Platform:
    """The plans service and the four services that keep copies of its children, in one deployment."""

    def __init__(self, make_settings, token_for, kind: str = "sqlite"):
        self.plans_app = create_plans_app(make_settings("plans"))
        self.plans = self.plans_app.test_client()

        def settings(service: str):
            if kind == "sqlite":
                return make_settings(service)
            return make_settings(service, CPP_STORE_URL=f"mongomock://erasure_{service}_{uuid.uuid4().hex}")

        self.apps = {
            "scheduler": create_scheduler_app(settings("scheduler")),
            "notify": create_notify_app(settings("notify")),
            "docs": create_docs_app(settings("docs")),
            "returns": create_returns_app(settings("returns")),
        }
        self.ctx = {name: app.extensions["cpp"] for name, app in self.apps.items()}
        self.client = {name: app.test_client() for name, app in self.apps.items()}
        self.sw = bearer(token_for("social_worker", user="sw-1"))
        self.tm = bearer(token_for("team_manager", user="tm-1", name="Pat Manager"))
        self.chair = bearer(token_for("chair", user="chair-1"))
        self.admin = bearer(token_for("admin", user="admin-1"))
        self.seen: set[tuple[str, str]] = set()
        assert self.plans.get("/v1/categories", headers=self.tm).status_code == 200  # the manager is on the staff list
        # A partner's webhook subscription to plans' events: deliveries name the child.
        self.store("notify").collection("subscriptions").insert_one(
            {
                "_id": "sub_" + uuid.uuid4().hex,
                "authority": "ENG",
                "owner": "admin-1",
                "url": "https://partner.example/hook",
                "event_types": ["plan.*", "conference.*"],
                "status": "active",
                "allow_private": False,
                "audience": "internal",
                "scope": {"classes": [*DEFAULT_CLASSES, "personal"]},
                "secrets": [],
            }
        )

    def store(self, name: str) -> Store:
        return self.ctx[name].store

    def pump(self) -> None:
        """Every event committed by plans (and by the scheduler), handed once to each service that hears it."""
        sources = {"plans": self.plans_app.extensions["cpp"].store, "scheduler": self.store("scheduler")}
        moved = True
        while moved:
            moved = False
            for source, store in sources.items():
                for m in store.outbox_pending(10_000):
                    for target in CONSUMERS:
                        if target == source or (source, m.message_id + target) in self.seen:
                            continue
                        self.seen.add((source, m.message_id + target))
                        hand_over(self.ctx[target], m.body)
                        moved = True

    def ok(self, resp, status=(200, 201)):
        assert resp.status_code in status, resp.json
        return resp.json

    def child_to_agreed_plan(self, names: dict[str, str], d0: date) -> dict[str, str]:
        child_id = new_child(self.plans, self.sw, **names)
        case_id = self.ok(
            self.plans.post("/v1/cases", json={"child_id": child_id, "team_manager": "tm-1"}, headers=self.sw)
        )["id"]
        self.ok(
            self.plans.post(
                f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": d0.isoformat()}, headers=self.sw
            )
        )
        self.ok(
            self.plans.post(
                f"/v1/cases/{case_id}/enquiry-outcome",
                headers=self.sw,
                json={"completed_on": d0.isoformat(), "conference_required": True},
            )
        )
        conf = self.ok(
            self.plans.post(
                f"/v1/cases/{case_id}/conferences",
                headers=self.sw,
                json={"kind": "initial", "scheduled_for": (d0 + timedelta(days=3)).isoformat()},
            )
        )
        plan_id = self.ok(
            self.plans.post(
                f"/v1/conferences/{conf['id']}/outcome",
                headers=self.chair,
                json={"held_on": (d0 + timedelta(days=3)).isoformat(), "plan_required": True, "outline_plan": OUTLINE},
            )
        )["plan"]["id"]
        self.ok(
            self.plans.post(
                f"/v1/plans/{plan_id}/core-group-meetings",
                headers=self.sw,
                json={
                    "held_on": (d0 + timedelta(days=10)).isoformat(),
                    "detailed_plan_agreed": True,
                    "attendees": [{"name": "Alex Parent"}, KEY_WORKER_ATTENDS],
                    "notes": "Seen at nursery.",
                    "plan": PLAN,
                },
            )
        )
        return {"child_id": child_id, "case_id": case_id, "plan_id": plan_id, "conference_id": conf["id"]}


def erased_event(child_id: str, erasure_id: str = "er-1") -> dict[str, Any]:
    event = new_event(
        "child.erased.v1",
        source="/services/plans",
        subject=child_id,
        data={
            "child_id": child_id,
            "erasure_id": erasure_id,
            "rule": "child_protection_until_25",
            "due_on": "2026-01-02",
            "erased_at": "2026-01-03T09:00:00+00:00",
        },
        authority="ENG",
    )
    validate_event(event)
    return event


def everything(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Every document of every collection of a service's database, and (as ``_outbox``) every event in its
    outbox, sent or not."""
    database = unscoped(store)
    found = {name: database.collection(name).find({}) for name in database.collection_names()}
    if isinstance(database, MongoStore):
        rows = [(m["message_id"], json.dumps(m["body"]), m["sent_at"]) for m in database.db["outbox"].find()]
    else:
        with sqlite3.connect(database.path) as db:  # type: ignore[attr-defined]
            rows = db.execute("SELECT message_id, body, sent_at FROM _outbox").fetchall()
    if rows:
        found["_outbox"] = [{"_id": m, "body": json.loads(b), "sent": s is not None} for m, b, s in rows]
    return found


def logs(store: Store) -> dict[str, list[Any]]:
    database = unscoped(store)
    return {name: database.read_log(name, limit=100_000) for name in ("audit", "returns_history")}


def holding(store: Store, *needles: str) -> dict[str, list[str]]:
    """Which documents, in which collections, hold any of ``needles`` anywhere (ids and names)."""
    found: dict[str, list[str]] = {}
    for name, docs in everything(store).items():
        hits = [d["_id"] for d in docs if any(n in json.dumps(d, ensure_ascii=False) for n in needles)]
        if hits:
            found[name] = hits
    return found


def audit_erasures(store: Store) -> list[dict[str, Any]]:
    return [r.entry for r in unscoped(store).read_log("audit", limit=100_000) if r.entry.get("action") == "erase"]


@pytest.fixture(params=["sqlite", "mongomock"])
def platform(request, make_settings, token_for):
    """The consumers' stores on SQLite, or on MongoDB's adapter (over mongomock; the documents' bytes in GridFS)."""
    p = Platform(make_settings, token_for, request.param)
    assert all(isinstance(unscoped(p.store(s)), MongoStore) == (request.param == "mongomock") for s in CONSUMERS)
    d0 = date.today() - timedelta(days=40)
    p.erased = p.child_to_agreed_plan(ERASED, d0)
    p.kept = p.child_to_agreed_plan(KEPT, d0)
    p.pump()
    Renderer(p.ctx["docs"]).run_once(use_lease=False)
    catch_up(p.store("returns"))
    for service in CONSUMERS:  # as their relays would: the events published so far are sent, and kept
        store = p.store(service)
        store.outbox_mark_sent([m.seq for m in store.outbox_pending(10_000)])
    return p


def test_every_service_erases_its_copy_and_audits_it_once(platform):
    p = platform
    erased, kept = p.erased, p.kept
    name, other = ERASED["family_name"], KEPT["family_name"]
    ids = (erased["child_id"], erased["case_id"], erased["plan_id"], name)
    before = {s: holding(p.store(s), *ids) for s in CONSUMERS}
    # What is erased was there: each service held the child, by id and by name.
    assert before["scheduler"].keys() >= {"deadlines", "children", "case_people", "plans", "meetings", "case_events"}
    assert before["notify"].keys() >= {"children", "plan_people", "case_people", "deliveries", "messages"}
    assert before["docs"].keys() >= {
        "documents",
        "jobs",
        "snapshots",
        "plans",
        "children",
        "child_languages",
        "meetings",
    }
    assert before["returns"].keys() >= {"return_children"}
    assert "_outbox" in before["scheduler"], "the scheduler's deadline events name the child"
    assert any(name in json.dumps(r.entry) for r in unscoped(p.store("returns")).read_log("returns_history"))
    kept_ids = (kept["child_id"], kept["case_id"], kept["plan_id"], other)
    kept_before = {s: holding(p.store(s), *kept_ids) for s in CONSUMERS}
    docs_files = open_file_store(p.store("docs"), p.ctx["docs"].settings.data_dir)
    erased_files = {
        d["sha256"] for d in everything(p.store("docs"))["documents"] if d["child_id"] == erased["child_id"]
    }
    kept_files = {d["sha256"] for d in everything(p.store("docs"))["documents"] if d["child_id"] == kept["child_id"]}
    assert erased_files and kept_files and not erased_files & kept_files
    assert all(docs_files.read(f) for f in erased_files)

    # Reads of the child's records, each audited in its service's log (ids, never names).
    p.ok(p.client["scheduler"].get("/v1/deadlines", query_string={"child_id": erased["child_id"]}, headers=p.sw))
    p.ok(p.client["docs"].get(f"/v1/plans/{erased['plan_id']}/documents", headers=p.sw))
    p.ok(p.client["notify"].get("/v1/inbox", headers=p.sw))
    p.ok(p.client["returns"].get("/v1/performance", headers=p.tm))

    event = erased_event(erased["child_id"])
    for service in CONSUMERS:
        hand_over(p.ctx[service], event)
    Renderer(p.ctx["docs"]).run_once(use_lease=False)  # its pass removes the erased documents' files
    catch_up(p.store("returns"))

    for service in CONSUMERS:
        store = p.store(service)
        left = holding(store, *ids)
        assert left.keys() <= {"erasures"}, (service, left)  # the erasure's own record: ids and counts
        [record] = everything(store)["erasures"]
        assert (record["_id"], record["child_id"], record["rule"]) == (
            "er-1",
            erased["child_id"],
            event["data"]["rule"],
        )
        # Nothing of the child in any log but ids: no name anywhere.
        for log_name, records in logs(store).items():
            assert not [r.seq for r in records if name in json.dumps(r.entry, ensure_ascii=False)], (service, log_name)
        [entry] = audit_erasures(store)
        assert (entry["record_type"], entry["record_id"], entry["child_id"]) == ("child", *[erased["child_id"]] * 2)
        assert entry["detail"]["erasure_id"] == "er-1" and entry["detail"]["rule"] == "child_protection_until_25"
        counts = entry["detail"]["counts"]
        assert {k for k, v in counts.items() if v} <= set(before[service]) | {"returns_history"}, counts
        uncounted = set(before[service]) - set(counts) - {"erasures", "_outbox"}
        assert not uncounted, (service, "held the child, not counted", uncounted)
        assert store.verify_log("audit").ok
        # The other child's records are all there.
        assert holding(store, *kept_ids) == kept_before[service], service

    # The returns' history log: the child's records redacted in place, the chain whole.
    history = unscoped(p.store("returns")).read_log("returns_history", limit=100_000)
    redacted = [r.seq for r in history if r.entry == {"redacted": "er-1"}]
    [redaction] = [r for r in history if "redaction" in r.entry]
    assert [x["seq"] for x in redaction.entry["redaction"]["records"]] == redacted and redacted
    assert redaction.entry["child_id"] == erased["child_id"] and redaction.entry["records"] == len(redacted)
    assert p.store("returns").verify_log("returns_history").ok
    assert p.store("returns").verify_log("returns_history", batch=3).ok

    # The files: the erased child's documents' bytes are gone, the other child's are read as before.
    for f in erased_files:
        with pytest.raises(Exception, match="missing"):
            docs_files.read(f)
    assert all(docs_files.read(f) for f in kept_files)
    assert everything(p.store("docs")).get("file_sweeps", []) == []

    # A second delivery of the event changes nothing; the same erasure under a new event id neither.
    snapshot = {
        s: (everything(p.store(s)), len(unscoped(p.store(s)).read_log("audit", limit=100_000))) for s in CONSUMERS
    }
    for service in CONSUMERS:
        with pytest.raises(AlreadyProcessed):
            hand_over(p.ctx[service], event)
        hand_over(p.ctx[service], erased_event(erased["child_id"]))
        assert len(audit_erasures(p.store(service))) == 1
        after = everything(p.store(service))
        assert {k: v for k, v in after.items() if k != "deliveries"} == {
            k: v for k, v in snapshot[service][0].items() if k != "deliveries"
        }, service


def test_nothing_of_the_child_is_read_over_the_apis_afterwards(platform):
    p = platform
    erased, kept = p.erased, p.kept
    name = ERASED["family_name"]
    for service in CONSUMERS:
        hand_over(p.ctx[service], erased_event(erased["child_id"]))
    catch_up(p.store("returns"))
    scheduler, docs, notify, returns = (p.client[s] for s in ("scheduler", "docs", "notify", "returns"))

    for child, gone in ((erased, True), (kept, False)):
        deadlines = p.ok(scheduler.get("/v1/deadlines", query_string={"case_id": child["case_id"]}, headers=p.sw))
        assert (deadlines["total"] == 0) is gone
        events = scheduler.get(f"/v1/cases/{child['case_id']}/events", headers=p.sw)
        assert (events.status_code == 404) is gone
        listed = docs.get(f"/v1/plans/{child['plan_id']}/documents", headers=p.sw)
        assert (listed.status_code == 404 or listed.json.get("documents") == []) is gone, listed.json
        case_docs = docs.get(f"/v1/cases/{child['case_id']}/documents", headers=p.sw)
        assert (case_docs.status_code == 404 or case_docs.json.get("documents") == []) is gone, case_docs.json
    inbox = p.ok(notify.get("/v1/inbox", headers=p.sw))
    assert inbox["items"], "the other child's notices are still there"
    assert not [m for m in inbox["items"] if name in m["subject"] + m["body"]]
    year = date.today().year + (1 if date.today().month > 3 else 0)
    census = returns.get("/v1/returns/cin-census", query_string={"year": year}, headers=p.tm)
    assert census.status_code == 200
    assert erased["child_id"] not in census.get_data(as_text=True)
    assert kept["child_id"] in census.get_data(as_text=True)
    start = (date.today() - timedelta(days=60)).isoformat()
    figures = p.ok(
        returns.get("/v1/performance", query_string={"from": start, "to": date.today().isoformat()}, headers=p.tm)
    )
    shown = {c["child_id"] for f in figures["figures"].values() for c in f["children"]}
    assert erased["child_id"] not in shown and kept["child_id"] in shown
    # A rebuild from the log, which skips the redacted records, gives the same children.
    rebuilt = rebuild(p.store("returns"))
    assert rebuilt.children == 1


def test_an_event_about_the_child_heard_after_the_erasure_brings_nothing_back(platform):
    p = platform
    erased = p.erased
    for service in ("notify", "returns"):
        hand_over(p.ctx[service], erased_event(erased["child_id"]))
    late = [
        e
        for e in (m["body"] for m in everything(p.store("scheduler"))["_outbox"])
        if (e.get("data") or {}).get("child_id") == erased["child_id"]
    ]
    assert late, "the scheduler published deadlines about the child"
    notify_before, returns_before = everything(p.store("notify")), logs(p.store("returns"))
    for event in late[:3]:
        late_event = {**event, "id": str(uuid.uuid4())}  # heard again, as if published late
        hand_over(p.ctx["notify"], late_event)
        hand_over(p.ctx["returns"], late_event)
    assert everything(p.store("notify")) == notify_before
    assert len(logs(p.store("returns"))["returns_history"]) == len(returns_before["returns_history"])


def test_an_erasure_that_fails_half_way_leaves_everything_and_is_done_whole_when_retried(platform, monkeypatch):
    p = platform
    erased = p.erased
    event = erased_event(erased["child_id"])
    real_finish = Erasure.finish

    def fail_at_the_end(self):
        real_finish(self)  # every deletion and redaction asked for, then the handler fails
        raise RuntimeError("the worker is stopped")

    def state(service):  # every record and log entry (a collection made empty at the failed commit aside)
        return {k: v for k, v in everything(p.store(service)).items() if v}, logs(p.store(service))

    for service in CONSUMERS:
        before = state(service)
        monkeypatch.setattr(Erasure, "finish", fail_at_the_end)
        with pytest.raises(RuntimeError):
            hand_over(p.ctx[service], event)
        assert state(service) == before, service
        monkeypatch.setattr(Erasure, "finish", real_finish)
        hand_over(p.ctx[service], event)  # the broker delivers it again
        assert len(audit_erasures(p.store(service))) == 1
        assert holding(p.store(service), erased["child_id"], ERASED["family_name"]).keys() <= {"erasures"}


def test_a_fold_begun_before_the_erasure_does_not_bring_the_child_back(platform, monkeypatch):
    """The returns' worker folds the log while the consumer erases: a fold that read the child's records
    before the erasure committed must not write their history after it."""
    p = platform
    store = p.store("returns")
    child_id = new_child(p.plans, p.sw, given_names="Yusuf", family_name="Oddington")
    p.ok(p.plans.post("/v1/cases", json={"child_id": child_id, "team_manager": "tm-1"}, headers=p.sw))
    p.pump()  # kept in the log, not folded yet
    assert not store.collection("return_children").find({"child_id": child_id})
    real_commit_all = store.commit_all
    erased_meanwhile = []

    def erase_then_commit(units):
        if not erased_meanwhile:  # the fold has read the log; the consumer erases the child now
            erased_meanwhile.append(True)
            hand_over(p.ctx["returns"], erased_event(child_id, "er-9"))  # committed through this same method
        return real_commit_all(units)

    monkeypatch.setattr(store, "commit_all", erase_then_commit)
    project_once(store)
    monkeypatch.setattr(store, "commit_all", real_commit_all)
    assert erased_meanwhile
    catch_up(store)
    assert store.collection("return_children").find({"child_id": child_id}) == []
    assert "Oddington" not in json.dumps(everything(store)) + json.dumps(
        [r.entry for r in logs(store)["returns_history"]]
    )
    assert store.collection("return_children").find({"child_id": p.kept["child_id"]})


def test_a_webhook_chain_shared_with_another_child_moves_on_to_its_next_delivery(make_settings):
    """A family's events are chained by their subject: removing the erased child's delivery at the head lets the
    other child's, queued behind it, be sent."""
    app = create_notify_app(make_settings("notify"))
    ctx = app.extensions["cpp"]
    chain = "sub_1:family-1"
    with ctx.store.unit_of_work() as uow:
        uow.insert("delivery_chains", {"_id": chain, "subscription_id": "sub_1", "pending": 3, "next_seq": 4})
        for seq, child, state in ((1, "child-a", "ready"), (2, "child-b", "queued"), (3, "child-a", "queued")):
            uow.insert(
                "deliveries",
                {
                    "_id": f"msg_{seq}",
                    "chain": chain,
                    "seq": seq,
                    "state": state,
                    "in_chain": True,
                    "next_attempt_at": 1.0 if state == "ready" else None,
                    "child_ids": [child],
                    "body": "{}",
                },
            )
        uow.insert("delivery_chains", {"_id": "sub_1:plan-a", "subscription_id": "sub_1", "pending": 1, "next_seq": 2})
        uow.insert(
            "deliveries",
            {"_id": "msg_4", "chain": "sub_1:plan-a", "seq": 1, "state": "ready", "child_ids": ["child-a"], "body": ""},
        )
    hand_over(ctx, erased_event("child-a"))
    deliveries = ctx.store.collection("deliveries").find({}, sort=[("_id", 1)])
    assert [(d["_id"], d["state"]) for d in deliveries] == [("msg_2", "ready")]
    assert deliveries[0]["next_attempt_at"] is not None
    [kept] = ctx.store.collection("delivery_chains").find({})
    assert (kept["_id"], kept["pending"], kept["next_seq"]) == (chain, 1, 4)
