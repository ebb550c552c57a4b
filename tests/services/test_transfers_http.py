"""Transfers between councils over HTTP, with two stacks in one test: an
england,bromley deployment and an england,greenwich one, each with its own
SQLite stores (plans and scheduler), the scheduler fed the plans service's
events as the bus would.

Bromley records the family's move and exports the signed package; the
package verifies (joserfc in the service, PyJWT and ``cryptography`` here,
and its payload against the JSON Schema with jsonschema); Greenwich imports
it, its scheduler sets the transfer-in conference 15 working days from the
notification on Greenwich's calendar, partners' lookups see the child on a
plan meanwhile, and the plan's history reads the same on both sides. The
transfer-in conference is held at Greenwich, then Bromley's plan ends with
``moved_to_another_council``, its open deadlines cancelled. A package whose
signature or schema fails is refused whole, naming what is wrong, and
nothing is written."""

from __future__ import annotations

import base64
import json
import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import holidays
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jsonschema import Draft202012Validator

from cpp_plans import transfer_package as pkg
from cpp_plans.app import create_app as create_plans_app
from cpp_scheduler.app import create_app as create_scheduler_app
from tests.helpers import KEY_WORKER_ATTENDS, Pump, bearer
from tests.services.test_lookup_http import NHS, child_body, put_on_plan
from tests.services.test_plans_lifecycle_http import DETAILED

TODAY = date.today()
D0 = TODAY - timedelta(days=40)  # Bromley's initial conference
NOTIFIED = TODAY - timedelta(days=7)  # the day Greenwich was told of the move
ROLES = ("social_worker", "team_manager", "chair", "partner")


@dataclass
class Stack:
    """One council's deployment: its plans app, its scheduler and its people's tokens."""

    plans_app: Any
    scheduler: Any
    who: dict[str, dict[str, str]]
    pump: Pump

    @property
    def plans(self):
        return self.plans_app.test_client()

    @property
    def store(self):
        return self.plans_app.extensions["cpp"].store

    @property
    def settings(self):
        return self.plans_app.extensions["cpp"].settings

    def deadlines(self, case_id: str) -> dict[str, dict]:
        return {d["rule_id"]: d for d in self.scheduler.store.collection("deadlines").find({"case_id": case_id})}


def stack(make_settings, token_for, data_dir: Path, plugins: str, code: str, **env: str) -> Stack:
    own = {
        "CPP_PLUGINS": plugins,
        "CPP_DATA_DIR": str(data_dir / code.lower()),
        # the tokens of both stacks are signed by the test's development key
        "CPP_DEV_SIGNING_KEY_FILE": str(data_dir / "dev-signing.key"),
        **env,
    }
    plans_app = create_plans_app(make_settings("plans", **own))
    scheduler = create_scheduler_app(make_settings("scheduler", **own)).extensions["cpp"]
    # The social worker is Sam Social (sw-1), the plans' key worker, at each council.
    users = {"social_worker": "sw-1"}
    who = {
        role: bearer(token_for(role, authority=code, user=users.get(role, f"{code.lower()}-{role}"))) for role in ROLES
    }
    return Stack(plans_app, scheduler, who, Pump(plans_app.extensions["cpp"].store, scheduler))


@pytest.fixture
def bromley(make_settings, token_for, data_dir):
    return stack(make_settings, token_for, data_dir, "england,bromley", "BRM")


def trust(path: Path, *senders: Stack) -> Path:
    """A JWKS of the senders' transfer keys, as `cpp transfer public-key` prints each."""
    keys = [pkg.signing_key(s.settings, s.plans_app.extensions["cpp"].authority["code"]).public_jwk() for s in senders]
    path.write_text(json.dumps({"keys": keys}))
    return path


@pytest.fixture
def greenwich(make_settings, token_for, data_dir, bromley):
    trusted = trust(data_dir / "greenwich-trusts.json", bromley)
    return stack(
        make_settings, token_for, data_dir, "england,greenwich", "GRN", CPP_TRANSFER_TRUSTED_KEYS_FILE=str(trusted)
    )


def on_plan_at(council: Stack) -> tuple[str, str, str]:
    """A child on a plan at the council: registered, conferenced, the detailed plan agreed at a core group, a
    visit. Returns (child, case, plan) ids."""
    plans, sw, chair = council.plans, council.who["social_worker"], council.who["chair"]
    child_id = plans.post("/v1/children", json=child_body(NHS), headers=sw).json["id"]
    case_id, plan = put_on_plan(plans, sw, chair, child_id, D0)
    meeting = plans.post(
        f"/v1/plans/{plan['id']}/core-group-meetings",
        headers=sw,
        json={
            "held_on": (D0 + timedelta(days=5)).isoformat(),
            "detailed_plan_agreed": True,
            "attendees": [KEY_WORKER_ATTENDS],
            "plan": DETAILED,
        },
    )
    assert meeting.status_code == 201, meeting.json
    visit = plans.post(
        f"/v1/plans/{plan['id']}/visits",
        headers=sw,
        json={
            "visited_on": (D0 + timedelta(days=6)).isoformat(),
            "announced": True,
            "child_seen": True,
            "seen_alone": False,
            "by": "Sam Social",
        },
    )
    assert visit.status_code == 201, visit.json
    council.pump()
    return child_id, case_id, plan["id"]


def move_out(council: Stack, case_id: str) -> str:
    """The move recorded at the sending council; the signed package it exports."""
    sw = council.who["social_worker"]
    moving = council.plans.post(
        f"/v1/cases/{case_id}/transfer-out",
        json={"receiving_council": "Royal Borough of Greenwich", "notified_on": NOTIFIED.isoformat()},
        headers=sw,
    )
    assert moving.status_code == 200, moving.json
    assert moving.json["status"] == "on_plan" and moving.json["transfer_out"]["notified_on"] == NOTIFIED.isoformat()
    package = council.plans.get(f"/v1/cases/{case_id}/transfer-package", headers=sw)
    assert package.status_code == 200, package.get_data(as_text=True)
    assert package.mimetype == "application/jose"
    return package.get_data(as_text=True)


def verified_elsewhere(token: str, jwk: dict[str, Any]) -> dict[str, Any]:
    """The package checked by two libraries other than the service's: PyJWT, and cryptography's Ed25519 over
    the JWS signing input (RFC 7515, 5.2); the payload."""
    raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    public = Ed25519PublicKey.from_public_bytes(raw)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA" and header["kid"] == jwk["kid"]
    by_pyjwt = json.loads(jwt.api_jws.PyJWS().decode(token, key=public, algorithms=["EdDSA"]))
    protected, payload, signature = token.split(".")
    public.verify(  # raises InvalidSignature when it does not verify
        base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)), f"{protected}.{payload}".encode("ascii")
    )
    by_hand = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert by_pyjwt == by_hand
    return by_hand


def working_days_after(start: date, n: int) -> date:
    """The n-th working day after ``start`` in England, counted here from the holidays library."""
    closed = holidays.country_holidays("GB", subdiv="ENG", years=range(start.year, start.year + 2))
    day = start
    while n:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in closed:
            n -= 1
    return day


def comparable(entries: list[dict]) -> list[dict]:
    return [{k: v for k, v in e.items() if k != "previous_council"} for e in entries]


def test_a_family_moves_from_bromley_to_greenwich(bromley, greenwich):
    child_id, case_id, plan_id = on_plan_at(bromley)
    token = move_out(bromley, case_id)
    out_started = [m.body for m in bromley.store.outbox_pending(1000) if m.routing_key == "transfer.out_started.v1"]
    assert [e["data"]["receiving_council"] for e in out_started] == ["Royal Borough of Greenwich"]
    actions = [r.entry.get("action") for r in bromley.store.read_log("audit", limit=10_000)]
    assert "start_transfer_out" in actions

    # The package verifies with the sending council's public key, and its payload is valid against the schema.
    jwk = pkg.signing_key(bromley.settings, "BRM").public_jwk()
    payload = verified_elsewhere(token, jwk)
    assert not list(Draft202012Validator(pkg.schema()).iter_errors(payload))
    assert payload["sending_authority"] == {"code": "BRM", "name": "London Borough of Bromley"}
    assert [v["number"] for v in payload["plans"][0]["versions"]] == [1, 2]

    # Greenwich receives it: the child registered, a case waiting for the transfer-in conference.
    gsw = greenwich.who["social_worker"]
    received = greenwich.plans.post("/v1/transfers/in", json={"package": token}, headers=gsw)
    assert received.status_code == 201, received.json
    g_case = received.json
    assert g_case["status"] == "transfer_in_pending"
    assert g_case["transfer_in"]["from_council"] == {"code": "BRM", "name": "London Borough of Bromley"}
    g_child = g_case["child_id"]
    [event] = [m.body for m in greenwich.store.outbox_pending(1000) if m.routing_key == "transfer.received.v1"]
    assert event["data"]["notified_on"] == NOTIFIED.isoformat() and event["data"]["with_package"] is True

    # Its deadline: the transfer-in conference within 15 working days of the notification, on Greenwich's calendar.
    greenwich.pump()
    due = greenwich.deadlines(g_case["id"])["transfer-in-conference"]
    assert due["due_on"] == working_days_after(NOTIFIED, 15).isoformat()
    assert due["status"] in ("pending", "approaching", "overdue")

    # Partners see the child on a plan while the family moves, at both councils.
    for council in (bromley, greenwich):
        told = council.plans.get(f"/v1/lookup?nhs_number={NHS}", headers=council.who["partner"]).json
        assert told["subject_of_plan"] is True, told
    told = greenwich.plans.get(f"/v1/lookup?nhs_number={NHS}", headers=greenwich.who["partner"]).json
    assert told["plan_status"] == "transfer_in_pending" and told["since"] == D0.isoformat()
    assert told["categories"] == payload["plans"][0]["categories"] == ["neglect"]  # the latest agreed

    # The plan's history reads the same on both sides: its versions, its conferences, the chronology.
    bsw = bromley.who["social_worker"]
    [history] = greenwich.plans.get(f"/v1/children/{g_child}/transfer-history", headers=gsw).json["items"]
    [sent_plan] = history["package"]["plans"]
    versions = bromley.plans.get(f"/v1/plans/{plan_id}/versions", headers=bsw).json["versions"]
    assert [(v["number"], v["status"], v["agreed"], v["content"]) for v in sent_plan["versions"]] == [
        (v["number"], v["status"], v["agreed"], v["content"]) for v in versions
    ]
    conferences = [bromley.plans.get(f"/v1/conferences/{c['id']}", headers=bsw).json for c in g_case_refs(bromley)]
    assert [(c["_id"], c["kind"], c["outcome"]) for c in history["package"]["conferences"]] == [
        (c["id"], c["kind"], c["outcome"]) for c in conferences
    ]
    theirs = bromley.plans.get(f"/v1/children/{child_id}/chronology", headers=bsw).json["entries"]
    ours = greenwich.plans.get(f"/v1/children/{g_child}/chronology", headers=gsw).json["entries"]
    previous = [e for e in ours if e.get("previous_council")]
    assert {e["previous_council"]["code"] for e in previous} == {"BRM"}
    assert comparable(previous) == theirs
    assert [e["type"] for e in ours if not e.get("previous_council")] == ["transfer_received", "case_opened"]

    # Greenwich holds its transfer-in conference: it decides, as an initial conference does.
    conference = greenwich.plans.post(
        f"/v1/cases/{g_case['id']}/conferences",
        json={"kind": "transfer_in", "scheduled_for": TODAY.isoformat()},
        headers=gsw,
    )
    assert conference.status_code == 201, conference.json
    held = greenwich.plans.post(
        f"/v1/conferences/{conference.json['id']}/outcome",
        json={"held_on": TODAY.isoformat(), "plan_required": True, "outline_plan": sent_plan["content"]},
        headers=greenwich.who["chair"],
    )
    assert held.status_code == 200, held.json
    assert held.json["case"]["status"] == "on_plan" and held.json["plan"]["status"] == "outline"
    greenwich.pump()
    after_conference = greenwich.deadlines(g_case["id"])
    assert after_conference["transfer-in-conference"]["status"] == "met"
    # The plan made here has the clocks of a plan an initial conference made (Greenwich's first core group).
    assert {"first-core-group", "first-review-conference"} <= set(after_conference)
    told = greenwich.plans.get(f"/v1/lookup?nhs_number={NHS}", headers=greenwich.who["partner"]).json
    assert told["plan_status"] == "outline" and told["since"] == TODAY.isoformat()

    # Bromley's plan then ends: the family moved for good; its open deadlines are cancelled with that reason.
    open_before = [
        d for d in bromley.deadlines(case_id).values() if d["status"] in ("pending", "approaching", "overdue")
    ]
    assert open_before
    tm = bromley.who["team_manager"]
    tag = bromley.plans.get(f"/v1/plans/{plan_id}", headers=tm).headers["ETag"]
    ended = bromley.plans.post(
        f"/v1/plans/{plan_id}/ending",
        json={
            "reason": "moved_to_another_council",
            "on": TODAY.isoformat(),
            "receiving_council": "Royal Borough of Greenwich",
            "transfer_in_conference_on": TODAY.isoformat(),
        },
        headers={**tm, "If-Match": tag},
    )
    assert ended.status_code == 201, ended.json
    assert bromley.plans.get(f"/v1/cases/{case_id}", headers=tm).json["status"] == "closed"
    bromley.pump()
    after = bromley.deadlines(case_id)
    assert {after[d["rule_id"]]["status"] for d in open_before} == {"cancelled"}
    assert {after[d["rule_id"]]["cancelled"]["reason"] for d in open_before} == {"moved_to_another_council"}


def g_case_refs(council: Stack) -> list[dict]:
    [case] = council.store.collection("cases").find({})
    return case["conferences"]


# --- refusals: nothing is written -----------------------------------------------


def store_rows(council: Stack) -> list[str]:
    """Every row of the plans service's SQLite database: records, outbox, audit log."""
    path = council.settings.store_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        return list(db.iterdump())


def refused(council: Stack, body: dict) -> dict:
    before = store_rows(council)
    answer = council.plans.post("/v1/transfers/in", json=body, headers=council.who["social_worker"])
    assert answer.status_code == 422, answer.json
    assert store_rows(council) == before, "a refused package wrote something"
    return answer.json


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def test_a_package_whose_signature_fails_is_refused_whole(bromley, greenwich):
    _, case_id, _ = on_plan_at(bromley)
    token = move_out(bromley, case_id)
    protected, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["receiving_council"] = "Somewhere Else"  # changed on the way
    tampered = f"{protected}.{_b64(json.dumps(body).encode())}.{signature}"
    answer = refused(greenwich, {"package": tampered})
    assert answer["message"] == "signature" and "does not verify" in answer["errors"]["json"]["signature"][0]
    assert greenwich.store.collection("children").find({}) == []


def test_a_package_from_a_council_not_trusted_is_refused(bromley, make_settings, token_for, data_dir):
    _, case_id, _ = on_plan_at(bromley)
    token = move_out(bromley, case_id)
    stranger = stack(make_settings, token_for, data_dir, "england,greenwich", "GRN")  # trusts nobody
    answer = refused(stranger, {"package": token})
    assert answer["message"] == "kid not trusted"
    assert "not trusted" in answer["errors"]["json"]["signature"][0]


def test_a_signed_package_that_breaks_the_schema_is_refused_by_field_path(bromley, greenwich):
    _, case_id, _ = on_plan_at(bromley)
    token = move_out(bromley, case_id)
    payload = verified_elsewhere(token, pkg.signing_key(bromley.settings, "BRM").public_jwk())
    payload["plans"][0]["versions"] = []  # every agreed version must travel
    del payload["notified_on"]
    broken = pkg.signing_key(bromley.settings, "BRM").sign(payload)  # signed properly, by a trusted key
    answer = refused(greenwich, {"package": broken})
    assert answer["message"] == "schema"
    errors = answer["errors"]["json"]["package"]
    assert "plans.0.versions" in errors and "(package)" in errors
    assert "notified_on" in errors["(package)"][0]


def test_a_move_notified_without_a_package_opens_the_case_and_its_deadline(greenwich):
    sw = greenwich.who["social_worker"]
    notice = {"from_council": "Leeds City Council", "notified_on": NOTIFIED.isoformat(), "child": child_body(NHS)}
    received = greenwich.plans.post("/v1/transfers/in", json={"notification": notice}, headers=sw)
    assert received.status_code == 201, received.json
    assert received.json["transfer_in"]["from_council"] == {"code": None, "name": "Leeds City Council"}
    greenwich.pump()
    due = greenwich.deadlines(received.json["id"])["transfer-in-conference"]
    assert due["due_on"] == working_days_after(NOTIFIED, 15).isoformat()
    told = greenwich.plans.get(f"/v1/lookup?nhs_number={NHS}", headers=greenwich.who["partner"]).json
    assert told["subject_of_plan"] is True and told["since"] == NOTIFIED.isoformat()
    # The same child again: found by NHS number, and already in an open case here.
    again = greenwich.plans.post("/v1/transfers/in", json={"notification": notice}, headers=sw)
    assert again.status_code == 409, again.json
    assert len(greenwich.store.collection("children").find({})) == 1


def test_a_move_is_recorded_once_and_only_for_a_plan_in_force(bromley):
    _, case_id, _ = on_plan_at(bromley)
    sw = bromley.who["social_worker"]
    early = bromley.plans.get(f"/v1/cases/{case_id}/transfer-package", headers=sw)
    assert early.status_code == 409, early.json  # the move is not recorded: no receiving council yet
    move_out(bromley, case_id)
    again = bromley.plans.post(
        f"/v1/cases/{case_id}/transfer-out",
        json={"receiving_council": "Leeds City Council", "notified_on": NOTIFIED.isoformat()},
        headers=sw,
    )
    assert again.status_code == 409, again.json
    future = bromley.plans.post(
        f"/v1/cases/{case_id}/transfer-out",
        json={"receiving_council": "Leeds", "notified_on": (TODAY + timedelta(days=1)).isoformat()},
        headers=sw,
    )
    assert future.status_code == 409  # already moving: the state is checked first
    assert bromley.plans.get(f"/v1/cases/{case_id}/transfer-package", headers=bromley.who["partner"]).status_code == 403


def test_a_package_sent_twice_with_its_key_receives_the_child_once(bromley, greenwich):
    _, case_id, _ = on_plan_at(bromley)
    token = move_out(bromley, case_id)
    headers = {**greenwich.who["social_worker"], "Idempotency-Key": "package-1"}
    first = greenwich.plans.post("/v1/transfers/in", json={"package": token}, headers=headers)
    again = greenwich.plans.post("/v1/transfers/in", json={"package": token}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201) and first.json == again.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(greenwich.store.collection("cases").find({})) == 1
    assert len(greenwich.store.collection("transfer_histories").find({})) == 1
    # Without its key, the same package again finds the child already in an open case here.
    assert (
        greenwich.plans.post(
            "/v1/transfers/in", json={"package": token}, headers=greenwich.who["social_worker"]
        ).status_code
        == 409
    )


def test_a_package_that_follows_a_notification_joins_its_case(bromley, greenwich):
    _, case_id, _ = on_plan_at(bromley)
    token = move_out(bromley, case_id)
    sw = greenwich.who["social_worker"]
    notice = {"from_council": "Bromley", "notified_on": NOTIFIED.isoformat(), "child": child_body(NHS)}
    notified = greenwich.plans.post("/v1/transfers/in", json={"notification": notice}, headers=sw).json
    assert notified["transfer_in"]["package_id"] is None
    joined = greenwich.plans.post("/v1/transfers/in", json={"package": token}, headers=sw)
    assert joined.status_code == 201, joined.json
    assert joined.json["id"] == notified["id"] and joined.json["transfer_in"]["package_id"]
    assert joined.json["transfer_in"]["from_council"] == {"code": "BRM", "name": "London Borough of Bromley"}
    assert joined.json["transfer_in"]["notified_on"] == NOTIFIED.isoformat()  # the timescale still counts from it
    [history] = greenwich.plans.get(f"/v1/children/{notified['child_id']}/transfer-history", headers=sw).json["items"]
    assert history["package"]["sending_authority"]["code"] == "BRM" and history["signed_by"].startswith("BRM-")
    told = greenwich.plans.get(f"/v1/lookup?nhs_number={NHS}", headers=greenwich.who["partner"]).json
    assert told["since"] == D0.isoformat()  # since the previous council's plan began
    # Once it has its package, another is refused: the child is in an open case here.
    assert greenwich.plans.post("/v1/transfers/in", json={"package": token}, headers=sw).status_code == 409


def test_a_package_from_a_council_whose_record_is_free_text_is_coded_here_where_certain(bromley, greenwich):
    """A sending council whose child record is free text (made before the census's codes) sends gender,
    ethnicity and disability as text: the receiving council codes what certainly reads as a code and keeps the
    rest for a person here to code; the child.registered.v1 it publishes carries the codes."""
    _, case_id, _ = on_plan_at(bromley)
    token = move_out(bromley, case_id)
    key = pkg.signing_key(bromley.settings, "BRM")
    payload = verified_elsewhere(token, key.public_jwk())
    payload["child"].pop("disabilities", None)
    payload["child"].update(gender="Girl", ethnicity="White Polish", disability="None")
    received = greenwich.plans.post(
        "/v1/transfers/in", json={"package": key.sign(payload)}, headers=greenwich.who["social_worker"]
    )
    assert received.status_code == 201, received.json
    child = greenwich.plans.get(f"/v1/children/{received.json['child_id']}", headers=greenwich.who["social_worker"])
    assert (child.json["gender"], child.json["disabilities"]) == ("2", ["NONE"])
    assert "ethnicity" not in child.json and child.json["uncoded"] == {"ethnicity": "White Polish"}
    [registered] = [
        m.body["data"] for m in greenwich.store.outbox_pending(1000) if m.routing_key == "child.registered.v1"
    ]
    assert (registered["gender"], registered["ethnicity"], registered["disabilities"]) == ("2", None, ["NONE"])
