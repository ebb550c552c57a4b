"""A child's gender, ethnicity and disabilities as the Children in Need census codes them, over HTTP: the codes
accepted with their labels, anything else a 422 naming the field and the codes allowed with nothing written, the
Unique Pupil Number an identifier of England's, and the events about the record carrying what the census needs."""

from __future__ import annotations

import json

import pytest

from cpp_shared import census_codes
from tests.helpers import bearer
from tests.services.test_children_http import events, full_child, minimal_child, nothing_written, register, today


@pytest.mark.parametrize("code", list(census_codes.GENDER))
def test_every_gender_code_is_accepted_with_its_label(client, sw, code):
    child = register(client, sw, minimal_child(gender=code)).json
    assert (child["gender"], child["gender_label"]) == (code, census_codes.GENDER[code])


@pytest.mark.parametrize("code", list(census_codes.ETHNICITY))
def test_every_ethnicity_code_is_accepted_with_its_label(client, sw, code):
    child = register(client, sw, minimal_child(ethnicity=code)).json
    assert (child["ethnicity"], child["ethnicity_label"]) == (code, census_codes.ETHNICITY[code])


def test_disabilities_are_listed_with_their_labels_in_order(client, sw):
    child = register(client, sw, minimal_child(disabilities=["VIS", "AUT", "DDA"])).json
    assert child["disabilities"] == ["VIS", "AUT", "DDA"]
    assert child["disability_labels"] == ["Vision", "Autism", "Other"]
    assert register(client, sw, minimal_child(family_name="Other")).json["disability_labels"] is None


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("gender", "female", "1 (Male), 2 (Female), 0 (Not recorded or unborn), 9 (Indeterminate)"),
        ("gender", "F", "Not a gender code of the Children in Need census"),
        ("gender", "3", "Allowed: 1 (Male)"),
        ("ethnicity", "White British", "WBRI (White British)"),
        ("ethnicity", "wbri", "NOBT (Information not yet obtained)"),
        ("disabilities", ["deaf"], "NONE (No disability), MOB (Mobility)"),
        ("disabilities", ["NONE", "HEAR"], "NONE (No disability) is given alone"),
        ("disabilities", ["HEAR", "HEAR"], "Give each disability once"),
        ("disabilities", "HEAR", "Not a valid list"),
    ],
)
def test_anything_but_the_census_codes_is_a_422_naming_the_field_and_nothing_is_written(
    client, store, sw, field, value, says
):
    resp = client.post("/v1/children", json=full_child(**{field: value}), headers=sw)
    assert resp.status_code == 422, resp.json
    assert list(resp.json["errors"]["json"]) == [field]
    assert says in json.dumps(resp.json["errors"]["json"][field])
    assert nothing_written(store)


def test_the_free_text_disability_field_is_gone(client, store, sw):
    resp = client.post("/v1/children", json=full_child(disability="Hearing impairment"), headers=sw)
    assert resp.status_code == 422 and "disability" in resp.json["errors"]["json"]
    assert nothing_written(store)


def test_a_change_to_a_code_not_in_the_list_is_refused_and_the_record_stays(client, store, sw):
    child = register(client, sw).json
    before = events(store)
    for change in ({"gender": "boy"}, {"ethnicity": "Other"}, {"disabilities": ["NONE", "MOB"]}):
        resp = client.patch(f"/v1/children/{child['id']}", json=change, headers={**sw, "If-Match": '"1"'})
        assert resp.status_code == 422 and list(resp.json["errors"]["json"]) == list(change)
    assert client.get(f"/v1/children/{child['id']}", headers=sw).json == child
    assert events(store) == before


def test_the_events_carry_the_census_fields_of_the_record_after_the_change(client, store, sw):
    due = (today().replace(day=1)).isoformat()
    unborn = register(
        client, sw, minimal_child(date_of_birth=None, expected_date_of_birth=due, gender="0", ethnicity="NOBT")
    ).json
    child = register(
        client,
        sw,
        full_child(identifiers=[{"scheme": "upn", "value": "b801 2000 05001"}], disabilities=None, ethnicity="APKN"),
    ).json
    assert {"scheme": "upn", "value": "B801200005001"} in child["identifiers"]
    patched = client.patch(
        f"/v1/children/{child['id']}", json={"disabilities": ["LD", "COMM"]}, headers={**sw, "If-Match": '"1"'}
    )
    assert patched.status_code == 200, patched.json
    found = [(key, body["data"]) for key, body in events(store)]
    census = [
        {
            k: data.get(k, "absent")
            for k in (
                "date_of_birth",
                "expected_date_of_birth",
                "gender",
                "ethnicity",
                "disabilities",
                "upn",
                "date_of_death",
            )
        }
        for _, data in found
    ]
    assert [key for key, _ in found] == ["child.registered.v1", "child.registered.v1", "child.updated.v1"]
    assert census == [
        {
            "date_of_birth": None,
            "expected_date_of_birth": due,
            "gender": "0",
            "ethnicity": "NOBT",
            "disabilities": None,
            "upn": None,
            "date_of_death": "absent",
        },
        {
            "date_of_birth": "2019-05-31",
            "expected_date_of_birth": None,
            "gender": "2",
            "ethnicity": "APKN",
            "disabilities": None,
            "upn": "B801200005001",
            "date_of_death": "absent",
        },
        {
            "date_of_birth": "2019-05-31",
            "expected_date_of_birth": None,
            "gender": "2",
            "ethnicity": "APKN",
            "disabilities": ["LD", "COMM"],
            "upn": "B801200005001",
            "date_of_death": "absent",
        },
    ]
    assert unborn["gender_label"] == "Not recorded or unborn"


def test_a_upn_with_a_wrong_check_letter_is_refused(client, store, sw):
    resp = client.post(
        "/v1/children", json=full_child(identifiers=[{"scheme": "upn", "value": "A801200005001"}]), headers=sw
    )
    assert resp.status_code == 422 and "check letter" in json.dumps(resp.json["errors"])
    assert nothing_written(store)


def test_children_left_uncoded_are_listed_and_coding_them_takes_them_off_the_list(client, store, sw, token_for):
    coded = register(client, sw, minimal_child(given_names="Coded")).json
    left = register(client, sw, minimal_child(given_names="Left", family_name="Uncoded")).json
    stored = store.collection("children").find_one({"_id": left["id"]})
    with store.unit_of_work() as uow:  # as the migration leaves a record it could not code
        uow.replace(
            "children",
            {
                **{k: v for k, v in stored.items() if k not in ("version", "gender")},
                "uncoded": {"gender": "Not sure", "disabilities": "Deaf in one ear"},
            },
            expected_version=1,
        )
    tm = bearer(token_for("team_manager", user="tm-1"))
    listed = client.get("/v1/children?uncoded=true", headers=tm).json
    assert [c["id"] for c in listed["items"]] == [left["id"]] and listed["total"] == 1
    assert listed["items"][0]["uncoded"] == {"gender": "Not sure", "disabilities": "Deaf in one ear"}
    assert [c["id"] for c in client.get("/v1/children?uncoded=false", headers=tm).json["items"]] == [coded["id"]]
    assert client.get("/v1/children?uncoded=maybe", headers=tm).status_code == 422

    resp = client.patch(
        f"/v1/children/{left['id']}", json={"gender": "9", "disabilities": None}, headers={**sw, "If-Match": '"2"'}
    )
    assert resp.status_code == 200 and resp.json["uncoded"] == {"disabilities": "Deaf in one ear"}  # not coded
    resp = client.patch(
        f"/v1/children/{left['id']}", json={"disabilities": ["HEAR"]}, headers={**sw, "If-Match": '"3"'}
    )
    assert resp.status_code == 200 and "uncoded" not in resp.json
    assert client.get("/v1/children?uncoded=true", headers=tm).json["items"] == []
