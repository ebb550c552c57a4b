"""Children recorded before their gender, ethnicity and disabilities were the census's codes are coded by the
migration (cpp migrate, 0003) where the text certainly means a code; the rest is kept in ``uncoded`` and the
child listed for a person to code. On SQLite and MongoDB alike; run again, nothing more changes."""

from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner

from cpp_plans.app import create_app
from cpp_plans.commands import migrate
from cpp_plans.migrations import code_characteristics, run_pending, uncoded_children
from cpp_shared.audit import LOG
from cpp_shared.contracts.catalogue import validate_event
from cpp_shared.store import open_store
from tests.helpers import bearer, cli_environment


def old_child(child_id, given, gender, ethnicity, disability=None, authority="ENG"):
    """A child as stored before the codes: free text."""
    child = {
        "_id": child_id,
        "authority": authority,
        "given_names": given,
        "family_name": "Example",
        "family_name_key": "example",
        "date_of_birth": "2018-02-03",
        "identifiers": [],
        "people_with_parental_responsibility": [],
        "gender": gender,
        "ethnicity": ethnicity,
        "first_language": "English",
        "interpreter_needed": False,
        "address": {"lines": ["1 High Street"]},
        "created_at": "2024-01-01T09:00:00+00:00",
        "created_by": "sw-1",
    }
    if disability is not None:
        child["disability"] = disability
    return child


OLD = [
    old_child("c-ana", "Ana", "female", "White British", "None"),
    old_child("c-ben", "Ben", " M ", "mixed - white and black african", "Hearing, vision"),
    old_child("c-cal", "Cal", "Boy", "White Polish", "Hearing impairment in the left ear."),
    old_child("c-dee", "Dee", "prefers not to say", "Black African"),
    old_child("c-eve", "Eve", "2", "WBRI"),  # already coded
]


def seed(store):
    with store.unit_of_work() as uow:
        for child in OLD:
            uow.insert("children", child)


@pytest.mark.parametrize("kind", ["sqlite", "mongomock"])
def test_free_text_is_coded_where_certain_and_kept_for_a_person_where_not(kind, tmp_path):
    url = f"sqlite:///{tmp_path / 'plans.db'}" if kind == "sqlite" else f"mongomock://codes_{uuid.uuid4().hex}"
    store = open_store(url)
    seed(store)

    assert code_characteristics(store) == ["c-ana", "c-ben", "c-cal", "c-dee"]
    got = {c["_id"]: c for c in store.collection("children").find({})}
    fields = ("gender", "ethnicity", "disabilities", "uncoded", "disability")
    assert {k: got["c-ana"].get(k) for k in fields} == {
        "gender": "2", "ethnicity": "WBRI", "disabilities": ["NONE"], "uncoded": None, "disability": None
    }  # fmt: skip
    assert {k: got["c-ben"].get(k) for k in fields} == {
        "gender": "1", "ethnicity": "MWBA", "disabilities": ["HEAR", "VIS"], "uncoded": None, "disability": None
    }  # fmt: skip
    assert {k: got["c-cal"].get(k) for k in fields} == {
        "gender": "1",
        "ethnicity": None,
        "disabilities": None,
        "uncoded": {"ethnicity": "White Polish", "disabilities": "Hearing impairment in the left ear."},
        "disability": None,
    }
    assert {k: got["c-dee"].get(k) for k in fields} == {
        "gender": None, "ethnicity": "BAFR", "disabilities": None, "uncoded": {"gender": "prefers not to say"},
        "disability": None,
    }  # fmt: skip
    assert got["c-eve"] == {**OLD[4], "version": 1}  # already coded: untouched
    assert all(got[c]["version"] == 2 and got[c]["updated_by"] == "migration" for c in ("c-ana", "c-dee"))

    # each child changed: its audit entry and child.updated.v1 with the codes, as the catalogue declares it
    events = [m.body for m in store.outbox_pending(100)]
    assert [(e["type"], e["subject"]) for e in events] == [("child.updated.v1", c) for c in ("c-ana", "c-ben",
                                                                                              "c-cal", "c-dee")]  # fmt: skip
    for event in events:
        validate_event(event)
    assert (events[1]["data"]["gender"], events[1]["data"]["disabilities"]) == ("1", ["HEAR", "VIS"])
    assert (events[3]["data"]["gender"], events[3]["data"]["ethnicity"]) == (None, "BAFR")
    entries = [r.entry for r in store.read_log(LOG)]
    assert [(e["action"], e["record_id"]) for e in entries] == [("code_characteristics", c) for c in ("c-ana",
                                                                 "c-ben", "c-cal", "c-dee")]  # fmt: skip
    assert entries[2]["detail"]["uncoded"] == ["disabilities", "ethnicity"]

    assert uncoded_children(store, "ENG") == [
        {"child_id": "c-cal", "child": "Cal Example", "uncoded": got["c-cal"]["uncoded"]},
        {"child_id": "c-dee", "child": "Dee Example", "uncoded": {"gender": "prefers not to say"}},
    ]

    assert code_characteristics(store) == []  # safe to repeat: nothing more to do
    assert {c["_id"]: c for c in store.collection("children").find({})} == got
    assert len(store.outbox_pending(100)) == 4


def test_cpp_migrate_codes_the_children_and_names_those_left(data_dir, make_settings, monkeypatch, token_for):
    settings = make_settings("plans")
    app = create_app(settings)
    store = app.extensions["cpp"].store
    seed(store)
    cli_environment(monkeypatch, settings)
    run = CliRunner().invoke(migrate, [])
    assert run.exit_code == 0, run.output
    assert "0003 children's gender, ethnicity and disabilities coded as the census codes them: 4" in run.output
    assert "children to code by hand" in run.output and ": 2" in run.output
    assert (
        "child c-cal (Cal Example): disabilities 'Hearing impairment in the left ear.', ethnicity 'White Polish'"
        in (run.output)
    )
    assert "child c-dee (Dee Example): gender 'prefers not to say'" in run.output
    again = CliRunner().invoke(migrate, [])
    assert "0003 children's gender, ethnicity and disabilities coded as the census codes them: applied before" in (
        again.output
    )
    assert "child c-dee (Dee Example)" in again.output  # still to code: named again

    # a team manager lists them over the API and codes one; it leaves the list
    tm = bearer(token_for("team_manager", user="tm-1"))
    client = app.test_client()
    listed = client.get("/v1/children?uncoded=true", headers=tm).json["items"]
    assert [c["id"] for c in listed] == ["c-cal", "c-dee"]
    coded = client.patch("/v1/children/c-dee", json={"gender": "9"}, headers={**tm, "If-Match": '"2"'})
    assert coded.status_code == 200 and "uncoded" not in coded.json and coded.json["gender_label"] == "Indeterminate"
    assert [c["id"] for c in client.get("/v1/children?uncoded=true", headers=tm).json["items"]] == ["c-cal"]


def test_run_pending_runs_the_coding_once(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'plans.db'}")
    seed(store)
    runs = run_pending(store, "ENG")
    assert [(r.version, r.carried) for r in runs][-1] == ("0003", 4)
    assert [r.carried for r in run_pending(store, "ENG")][-1] is None
