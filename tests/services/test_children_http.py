"""Children over HTTP (Flask test client, real SQLite store).

The app is built here from the same pieces as the plans service (the
children blueprint and its store setup), so these tests hold before and
after the blueprint is wired into cpp_plans.app."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest

from cpp_plans.api import children
from tests.helpers import bearer

NHS = "9434765919"  # the standard NHS test number
OTHER_NHS = "9434765870"


def today():
    return children.today()


def full_child(**overrides):
    body = {
        "given_names": "Amira Grace",
        "family_name": "Okafor-Smith",
        "preferred_name": "Mira",
        "date_of_birth": "2019-05-31",
        "identifiers": [{"scheme": "nhs_number", "value": "943 476 5919"}],
        "gender": "2",
        "ethnicity": "MWBA",
        "first_language": "English",
        "interpreter_needed": False,
        "disabilities": ["HEAR"],
        "accessibility_needs": "Face the child when speaking;\nwritten summaries help.",
        "address": {"lines": ["Flat 2", "14 Garden Row", "London"], "postcode": "se1 7pb"},
        "school_or_nursery": {"name": "Garden Row Primary", "contact": "Ms Adeyemi (DSL), 020 7946 0000"},
        "people_with_parental_responsibility": [
            {
                "name": "Ngozi Okafor",
                "relationship": "mother",
                "address": {"lines": ["14 Garden Row"], "postcode": "SE1 7PB"},
                "phone": "+44 7700 900123",
                "email": "ngozi@example.org",
                "first_language": "Igbo",
                "interpreter_needed": True,
            },
            {"name": "Daniel Smith", "relationship": "father"},
        ],
    }
    body.update(overrides)
    return body


def minimal_child(**overrides):
    body = {
        "given_names": "Sam",
        "family_name": "Jones",
        "date_of_birth": "2020-01-02",
        "gender": "1",
        "ethnicity": "WBRI",
        "first_language": "English",
        "interpreter_needed": False,
        "address": {"lines": ["1 High Street"]},
    }
    body.update(overrides)
    return body


def register(client, headers, body=None):
    resp = client.post("/v1/children", json=full_child() if body is None else body, headers=headers)
    assert resp.status_code == 201, resp.json
    return resp


def nothing_written(store):
    return (
        store.collection("children").count_documents({}) == 0 and pending(store) == 0 and store.read_log("audit") == []
    )


def error_at(resp, *path):
    """The messages at errors.json.<path> (list indexes are JSON object keys)."""
    node = resp.json["errors"]["json"]
    for step in path:
        node = node[str(step)]
    assert isinstance(node, list) and node and all(isinstance(m, str) for m in node), node
    return node


def events(store):
    """The events about children waiting in the outbox (not the staff directory's)."""
    return [(m.routing_key, m.body) for m in store.outbox_pending(1000) if m.routing_key != "staff.updated.v1"]


def pending(store) -> int:
    return len(events(store))


# --- the round trip ---


def test_register_read_and_change_a_child_with_every_field(client, store, sw, token_for):
    created = register(client, sw)
    child = created.json
    child_id = child["id"]
    assert child["version"] == 1 and child["created_by"] == "sw-1" and child["created_at"]
    assert created.headers["ETag"] == '"1"'
    assert created.headers["Location"] == f"/v1/children/{child_id}"
    expected = full_child()
    expected["identifiers"] = [{"scheme": "nhs_number", "value": NHS}]  # normalised
    expected["address"]["postcode"] = "SE1 7PB"
    assert {k: child[k] for k in expected} == expected
    assert not {"authority", "nhs_key", "family_name_key", "_id"} & set(child)
    assert (child["gender_label"], child["ethnicity_label"], child["disability_labels"]) == (
        "Female",
        "White and Black African",
        ["Hearing"],
    )

    stored = store.collection("children").find_one({"_id": child_id})
    assert stored["authority"] == "ENG" and stored["nhs_key"] == f"ENG:{NHS}" and stored["version"] == 1

    got = client.get(f"/v1/children/{child_id}", headers=bearer(token_for("chair")))
    assert got.status_code == 200 and got.headers["ETag"] == '"1"'
    assert got.json == child

    changes = {
        "given_names": "Amira",
        "family_name": "Okafor",
        "preferred_name": "Amy",
        "date_of_birth": "2019-06-01",
        "identifiers": [
            {"scheme": "nhs_number", "value": OTHER_NHS},
            {"scheme": "chi_number", "value": chi_with_check("010620123")},
        ],
        "gender": "2",
        "ethnicity": "BAFR",
        "first_language": "Igbo",
        "interpreter_needed": True,
        "disabilities": ["NONE"],
        "accessibility_needs": "Large print.",
        "address": {"lines": ["3 New Road", "Bromley"], "postcode": "BR1 1AA"},
        "school_or_nursery": {"name": "Little Acorns Nursery"},
        "people_with_parental_responsibility": [
            {"name": "Ngozi Okafor", "relationship": "mother", "phone": "020 7946 0001"}
        ],
    }
    patched = client.patch(f"/v1/children/{child_id}", json=changes, headers={**sw, "If-Match": '"1"'})
    assert patched.status_code == 200, patched.json
    assert patched.headers["ETag"] == '"2"'
    assert patched.json["version"] == 2 and patched.json["updated_by"] == "sw-1"
    assert {k: patched.json[k] for k in changes} == changes
    assert patched.json["created_at"] == child["created_at"]

    again = client.get(f"/v1/children/{child_id}", headers=sw)
    assert again.json == patched.json and again.headers["ETag"] == '"2"'
    assert store.collection("children").find_one({"_id": child_id})["nhs_key"] == f"ENG:{OTHER_NHS}"

    assert [(key, body["data"]) for key, body in events(store)] == [
        (
            "child.registered.v1",
            {
                "child_id": child_id,
                "child": {"name": "Mira Okafor-Smith", "date_of_birth": "2019-05-31", "nhs_number": NHS},
                "first_language": "English",
                # what the Children in Need census needs of the child, coded
                "date_of_birth": "2019-05-31",
                "expected_date_of_birth": None,
                "gender": "2",
                "ethnicity": "MWBA",
                "disabilities": ["HEAR"],
                "upn": None,
            },
        ),
        (
            "child.updated.v1",
            {
                "child_id": child_id,
                "version": 2,
                "child": {"name": "Amy Okafor", "date_of_birth": "2019-06-01", "nhs_number": OTHER_NHS},
                "first_language": "Igbo",  # the family's letters are written in it where a phrase set exists
                "date_of_birth": "2019-06-01",
                "expected_date_of_birth": None,
                "gender": "2",
                "ethnicity": "BAFR",
                "disabilities": ["NONE"],
                "upn": None,
            },
        ),
    ]
    assert all(body["subject"] == child_id and body["authority"] == "ENG" for _, body in events(store))


def chi_with_check(prefix):
    from cpp_plans.domain.identifiers import mod11_check_digit

    check = mod11_check_digit(prefix)
    assert check is not None
    return prefix + str(check)


def test_a_minimal_child_and_an_unborn_child(client, sw):
    born = register(client, sw, minimal_child()).json
    assert born["identifiers"] == [] and born["people_with_parental_responsibility"] == []
    assert "preferred_name" not in born and "school_or_nursery" not in born
    due = (today() + timedelta(days=90)).isoformat()
    unborn = register(client, sw, minimal_child(date_of_birth=None, expected_date_of_birth=due, gender="0")).json
    assert unborn["expected_date_of_birth"] == due and "date_of_birth" not in unborn


CENSUS_FIELDS = ("date_of_birth", "expected_date_of_birth", "gender", "ethnicity", "disabilities", "upn")


def test_events_say_who_the_child_is_and_nothing_else_personal(client, store, sw):
    """Events name the child (name, date of birth, NHS number: every service names them from the event) and
    give their first language (the family's letters are written in it) and what the census needs of the child
    (coded), and carry nothing else of the record: no address, contacts, accessibility needs, nor the languages
    of the people around the child."""
    child_id = register(client, sw).json["id"]
    assert (
        client.patch(
            f"/v1/children/{child_id}", json={"family_name": "Okafor"}, headers={**sw, "If-Match": '"1"'}
        ).status_code
        == 200
    )
    found = events(store)
    assert [key for key, _ in found] == ["child.registered.v1", "child.updated.v1"]
    assert found[0][1]["data"]["child"] == {
        "name": "Mira Okafor-Smith",
        "date_of_birth": "2019-05-31",
        "nhs_number": NHS,
    }
    assert found[1][1]["data"]["child"]["name"] == "Mira Okafor"  # as the record holds it after the change
    for key, body in found:
        assert set(body["data"]) <= {"child_id", "version", "child", "first_language", *CENSUS_FIELDS}, key
        assert body["data"]["first_language"] == "English", key
        assert "date_of_death" not in body["data"], key  # only when the record has one
        text = json.dumps(body)
        for personal in ("Garden Row", "SE1", "ngozi", "Igbo", "Face the child"):
            assert personal not in text, (key, personal)


# --- validation ---


def mutate(path, value):
    """A full child with the value at path replaced (value DELETE removes it)."""
    body = full_child()
    node = body
    for step in path[:-1]:
        node = node[step]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return body


DELETE = object()
FUTURE = "2999-01-01"
DUE = (children.today() + timedelta(days=60)).isoformat()  # a plausible expected date of birth

BAD_BODIES = [
    # (what, body, path of the field named in errors.json)
    ("bad NHS check digit", mutate(["identifiers", 0, "value"], "943 476 5918"), ("identifiers", 0, "value")),
    ("NHS number too short", mutate(["identifiers", 0, "value"], "943476591"), ("identifiers", 0, "value")),
    ("unknown identifier scheme", mutate(["identifiers", 0, "scheme"], "passport"), ("identifiers", 0, "scheme")),
    (
        "two NHS numbers",
        mutate(["identifiers"], [{"scheme": "nhs_number", "value": NHS}, {"scheme": "nhs_number", "value": OTHER_NHS}]),
        ("identifiers",),
    ),
    ("both dates of birth", mutate(["expected_date_of_birth"], DUE), ("date_of_birth",)),
    ("neither date of birth", mutate(["date_of_birth"], DELETE), ("expected_date_of_birth",)),
    ("null date of birth and none expected", mutate(["date_of_birth"], None), ("date_of_birth",)),
    ("future date of birth", mutate(["date_of_birth"], FUTURE), ("date_of_birth",)),
    ("not a date", mutate(["date_of_birth"], "31/05/2019"), ("date_of_birth",)),
    ("impossible date", mutate(["date_of_birth"], "2019-02-30"), ("date_of_birth",)),
    ("unknown field", mutate(["nickname"], "Mimi"), ("nickname",)),
    ("unknown nested field", mutate(["address", "flat"], "2"), ("address", "flat")),
    (
        "unknown field of a person",
        mutate(["people_with_parental_responsibility", 1, "age"], 40),
        ("people_with_parental_responsibility", 1, "age"),
    ),
    ("name not a string", mutate(["given_names"], 12), ("given_names",)),
    ("blank name", mutate(["given_names"], "   "), ("given_names",)),
    ("name with a line break", mutate(["family_name"], "Smith\nJones"), ("family_name",)),
    ("name with a NUL", mutate(["family_name"], "Smith\x00"), ("family_name",)),
    ("missing family name", mutate(["family_name"], DELETE), ("family_name",)),
    ("null family name", mutate(["family_name"], None), ("family_name",)),
    ("interpreter 'yes'", mutate(["interpreter_needed"], "yes"), ("interpreter_needed",)),
    ("interpreter 1", mutate(["interpreter_needed"], 1), ("interpreter_needed",)),
    ("identifiers not a list", mutate(["identifiers"], NHS), ("identifiers",)),
    ("address a string", mutate(["address"], "14 Garden Row"), ("address", "_schema")),
    ("address without lines", mutate(["address", "lines"], []), ("address", "lines")),
    ("bad postcode", mutate(["address", "postcode"], "12345"), ("address", "postcode")),
    ("date of birth a number", mutate(["date_of_birth"], 20190531), ("date_of_birth",)),
    ("oversize name", mutate(["given_names"], "x" * 201), ("given_names",)),
    ("oversize text", mutate(["accessibility_needs"], "x" * 4001), ("accessibility_needs",)),
    ("oversize address line", mutate(["address", "lines", 0], "x" * 201), ("address", "lines", 0)),
    ("too many address lines", mutate(["address", "lines"], ["x"] * 7), ("address", "lines")),
    (
        "too many people",
        mutate(["people_with_parental_responsibility"], [{"name": "P", "relationship": "aunt"}] * 21),
        ("people_with_parental_responsibility",),
    ),
    ("too many identifiers", mutate(["identifiers"], [{"scheme": "nhs_number", "value": NHS}] * 11), ("identifiers",)),
    (
        "bad email",
        mutate(["people_with_parental_responsibility", 0, "email"], "ngozi at example.org"),
        ("people_with_parental_responsibility", 0, "email"),
    ),
    (
        "bad phone",
        mutate(["people_with_parental_responsibility", 0, "phone"], "call me"),
        ("people_with_parental_responsibility", 0, "phone"),
    ),
    (
        "person without a relationship",
        mutate(["people_with_parental_responsibility", 1, "relationship"], DELETE),
        ("people_with_parental_responsibility", 1, "relationship"),
    ),
    ("school without a name", mutate(["school_or_nursery"], {"contact": "office"}), ("school_or_nursery", "name")),
]


@pytest.mark.parametrize("what,body,path", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_input_is_a_422_naming_the_field_and_nothing_is_written(client, store, sw, what, body, path):
    resp = client.post("/v1/children", json=body, headers=sw)
    assert resp.status_code == 422, (what, resp.json)
    assert resp.json["code"] == 422
    error_at(resp, *path)
    assert nothing_written(store)


def test_both_and_neither_dates_name_both_fields(client, sw):
    for body in (mutate(["expected_date_of_birth"], DUE), mutate(["date_of_birth"], DELETE)):
        resp = client.post("/v1/children", json=body, headers=sw)
        assert resp.status_code == 422
        assert error_at(resp, "date_of_birth") == error_at(resp, "expected_date_of_birth")


def test_an_expected_date_of_birth_must_be_near(client, store, sw):
    far = (today() + timedelta(days=800)).isoformat()
    resp = client.post("/v1/children", json=minimal_child(date_of_birth=None, expected_date_of_birth=far), headers=sw)
    assert resp.status_code == 422
    error_at(resp, "expected_date_of_birth")
    assert nothing_written(store)


def test_a_child_born_today_is_not_in_the_future(client, sw):
    register(client, sw, minimal_child(date_of_birth=today().isoformat()))


@pytest.mark.parametrize(
    "data,content_type,status",
    [
        ("{not json", "application/json", 400),
        ("[]", "application/json", 422),
        ('"a string"', "application/json", 422),
        ("given_names=Sam", "application/x-www-form-urlencoded", 422),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused_without_a_500(client, store, sw, data, content_type, status):
    resp = client.post("/v1/children", data=data, content_type=content_type, headers=sw)
    assert resp.status_code == status and resp.is_json and resp.json["code"] == status
    assert nothing_written(store)


def test_an_oversize_body_is_a_json_413_when_the_deployment_caps_bodies(app, client, store, sw):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024  # this test app only
    resp = client.post("/v1/children", json=full_child(accessibility_needs="x" * 100_000), headers=sw)
    assert resp.status_code == 413 and resp.is_json and resp.json["code"] == 413
    assert nothing_written(store)


# --- duplicates ---


def test_an_nhs_number_already_registered_is_a_409_naming_the_child(client, store, sw):
    first = register(client, sw).json["id"]
    resp = client.post(
        "/v1/children", json=full_child(identifiers=[{"scheme": "nhs_number", "value": "943-476-5919"}]), headers=sw
    )
    assert resp.status_code == 409
    assert resp.json["errors"]["existing_child_id"] == first and first in resp.json["message"]
    assert store.collection("children").count_documents({}) == 1
    assert pending(store) == 1


def test_another_authoritys_child_with_the_same_nhs_number_does_not_block_or_leak(client, store, sw):
    store.inner.collection("children").insert_one(
        {
            "_id": "theirs",
            "authority": "BRO",
            "family_name": "Okafor-Smith",
            "identifiers": [{"scheme": "nhs_number", "value": NHS}],
            "nhs_key": f"BRO:{NHS}",
        }
    )
    resp = client.post("/v1/children", json=full_child(), headers=sw)
    assert resp.status_code == 201 and "theirs" not in resp.get_data(as_text=True)


def test_changing_to_an_nhs_number_already_registered_is_a_409(client, store, sw):
    first = register(client, sw).json["id"]
    second = register(client, sw, minimal_child(identifiers=[{"scheme": "nhs_number", "value": OTHER_NHS}])).json["id"]
    resp = client.patch(
        f"/v1/children/{second}",
        json={"identifiers": [{"scheme": "nhs_number", "value": NHS}]},
        headers={**sw, "If-Match": '"1"'},
    )
    assert resp.status_code == 409 and resp.json["errors"]["existing_child_id"] == first
    assert store.collection("children").find_one({"_id": second})["version"] == 1
    assert pending(store) == 2


# --- PATCH preconditions ---


def test_patch_without_if_match_is_428_and_nothing_is_written(client, store, sw):
    child_id = register(client, sw).json["id"]
    for headers in (sw, {**sw, "If-Match": "*"}, {**sw, "If-Match": ""}):
        resp = client.patch(f"/v1/children/{child_id}", json={"family_name": "Okafor"}, headers=headers)
        assert resp.status_code == 428 and resp.json["code"] == 428
    assert store.collection("children").find_one({"_id": child_id})["family_name"] == "Okafor-Smith"
    assert pending(store) == 1


@pytest.mark.parametrize("if_match", ['"2"', '"0"', 'W/"7"', "nonsense", '"1', "W/1"])
def test_patch_with_a_stale_if_match_is_412(client, store, sw, if_match):
    child_id = register(client, sw).json["id"]
    resp = client.patch(
        f"/v1/children/{child_id}", json={"family_name": "Okafor"}, headers={**sw, "If-Match": if_match}
    )
    assert resp.status_code == 412 and '"1"' in resp.json["message"]
    assert store.collection("children").find_one({"_id": child_id})["version"] == 1
    assert pending(store) == 1


@pytest.mark.parametrize("if_match", ['W/"1"', "1"])
def test_if_match_accepts_a_weakened_or_bare_etag(client, sw, if_match):
    child_id = register(client, sw).json["id"]
    resp = client.patch(
        f"/v1/children/{child_id}", json={"family_name": "Okafor"}, headers={**sw, "If-Match": if_match}
    )
    assert resp.status_code == 200 and resp.headers["ETag"] == '"2"'


@pytest.mark.parametrize("if_match", ['"0","1","2","3"', '"5", "1"', '"1", *'])
def test_if_match_naming_more_than_one_etag_is_400_and_nothing_is_written(client, store, sw, if_match):
    child_id = register(client, sw).json["id"]
    resp = client.patch(
        f"/v1/children/{child_id}", json={"family_name": "Okafor"}, headers={**sw, "If-Match": if_match}
    )
    assert resp.status_code == 400
    assert resp.json["message"] == "If-Match must name exactly one ETag, as returned by GET"
    assert resp.json["errors"] == {"headers": {"If-Match": [resp.json["message"]]}}
    assert store.collection("children").find_one({"_id": child_id})["version"] == 1
    assert pending(store) == 1


def test_two_patches_from_the_same_read_one_wins_one_is_412(client, store, sw, token_for):
    child_id = register(client, sw).json["id"]
    etag = client.get(f"/v1/children/{child_id}", headers=sw).headers["ETag"]
    first = client.patch(f"/v1/children/{child_id}", json={"preferred_name": "Amy"}, headers={**sw, "If-Match": etag})
    other = bearer(token_for("team_manager", user="tm-1"))
    second = client.patch(
        f"/v1/children/{child_id}", json={"preferred_name": "Mimi"}, headers={**other, "If-Match": etag}
    )
    assert sorted([first.status_code, second.status_code]) == [200, 412]
    stored = store.collection("children").find_one({"_id": child_id})
    assert stored["version"] == 2 and stored["preferred_name"] == "Amy"
    assert [key for key, _ in events(store)] == ["child.registered.v1", "child.updated.v1"]


def test_two_concurrent_patches_that_both_pass_the_read_check_one_is_412_at_commit(app, store, sw, monkeypatch):
    client = app.test_client()
    child_id = register(client, sw).json["id"]
    both_read = threading.Barrier(2, timeout=10)
    real_find = children._find

    def find_then_wait(ctx, cid):
        child = real_find(ctx, cid)
        both_read.wait()  # both requests have read version 1 before either commits
        return child

    monkeypatch.setattr(children, "_find", find_then_wait)
    results = {}

    def patch(name):
        resp = app.test_client().patch(
            f"/v1/children/{child_id}", json={"preferred_name": name}, headers={**sw, "If-Match": '"1"'}
        )
        results[name] = (resp.status_code, resp.json)

    threads = [threading.Thread(target=patch, args=(name,)) for name in ("Amy", "Mimi")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(status for status, _ in results.values()) == [200, 412], results
    [(winner, _)] = [(name, body) for name, (status, body) in results.items() if status == 200]
    [loser] = [body for status, body in results.values() if status == 412]
    assert "someone else" in loser["message"]
    stored = store.collection("children").find_one({"_id": child_id})
    assert stored["version"] == 2 and stored["preferred_name"] == winner
    assert pending(store) == 2  # registered + one update
    assert len(store.read_log("audit")) == 2  # create + one update (the reads went through the patched _find)


# --- PATCH validation ---


@pytest.mark.parametrize(
    "changes,path",
    [
        ({"identifiers": [{"scheme": "nhs_number", "value": "9434765918"}]}, ("identifiers", 0, "value")),
        ({"date_of_birth": FUTURE}, ("date_of_birth",)),
        ({"given_names": None}, ("given_names",)),
        ({"given_names": "x" * 201}, ("given_names",)),
        ({"address": {"postcode": "SE1 7PB"}}, ("address", "lines")),  # an object is replaced whole, so checked whole
        (
            {"people_with_parental_responsibility": [{"name": "A"}]},
            ("people_with_parental_responsibility", 0, "relationship"),
        ),
        ({"id": "other"}, ("id",)),
        ({"version": 5}, ("version",)),
        ({"interpreter_needed": "false"}, ("interpreter_needed",)),
        ({"expected_date_of_birth": DUE}, ("date_of_birth",)),  # would leave both
        ({"date_of_birth": None}, ("expected_date_of_birth",)),  # would leave neither
        ({}, ("_schema",)),
    ],
)
def test_a_bad_patch_is_a_422_and_nothing_is_written(client, store, sw, changes, path):
    child_id = register(client, sw).json["id"]
    before = store.collection("children").find_one({"_id": child_id})
    resp = client.patch(f"/v1/children/{child_id}", json=changes, headers={**sw, "If-Match": '"1"'})
    assert resp.status_code == 422, resp.json
    error_at(resp, *path)
    assert store.collection("children").find_one({"_id": child_id}) == before
    assert pending(store) == 1


def test_a_birth_swaps_the_expected_date_for_the_date_of_birth(client, sw):
    due = (today() + timedelta(days=30)).isoformat()
    child = register(client, sw, minimal_child(date_of_birth=None, expected_date_of_birth=due)).json
    born = today().isoformat()
    resp = client.patch(
        f"/v1/children/{child['id']}",
        json={
            "date_of_birth": born,
            "expected_date_of_birth": None,
            "identifiers": [{"scheme": "nhs_number", "value": NHS}],
        },
        headers={**sw, "If-Match": '"1"'},
    )
    assert resp.status_code == 200, resp.json
    assert resp.json["date_of_birth"] == born and "expected_date_of_birth" not in resp.json
    assert resp.json["identifiers"] == [{"scheme": "nhs_number", "value": NHS}]


def test_null_removes_an_optional_field_and_the_nhs_number_can_be_reused(client, store, sw):
    child_id = register(client, sw).json["id"]
    resp = client.patch(
        f"/v1/children/{child_id}",
        json={"preferred_name": None, "school_or_nursery": None, "identifiers": []},
        headers={**sw, "If-Match": '"1"'},
    )
    assert resp.status_code == 200
    assert "preferred_name" not in resp.json and "school_or_nursery" not in resp.json
    assert "nhs_key" not in store.collection("children").find_one({"_id": child_id})
    people = [{"name": "Ngozi Okafor", "relationship": "mother", "email": None, "address": None}]
    resp = client.patch(
        f"/v1/children/{child_id}",
        json={"people_with_parental_responsibility": people},
        headers={**sw, "If-Match": '"2"'},
    )
    assert resp.status_code == 200, resp.json
    assert resp.json["people_with_parental_responsibility"] == [{"name": "Ngozi Okafor", "relationship": "mother"}]
    register(client, sw)  # the NHS number is free again


# --- scoping and roles ---


def test_another_authoritys_child_is_not_found(client, store, sw, token_for):
    store.inner.collection("children").insert_one(
        {
            **full_child(),
            "_id": "theirs",
            "authority": "BRO",
            "family_name_key": "okafor-smith",
            "nhs_key": f"BRO:{NHS}",
        }
    )
    assert client.get("/v1/children/theirs", headers=sw).status_code == 404
    assert client.get("/v1/children/theirs", headers=bearer(token_for("admin"))).status_code == 404
    resp = client.patch("/v1/children/theirs", json={"family_name": "X"}, headers={**sw, "If-Match": '"1"'})
    assert resp.status_code == 404
    assert client.get(f"/v1/children?nhs_number={NHS}", headers=sw).json["total"] == 0
    assert client.get("/v1/children?family_name=Okafor-Smith", headers=sw).json["items"] == []
    assert client.get("/v1/children", headers=sw).json["total"] == 0
    assert store.inner.collection("children").find_one({"_id": "theirs"})["family_name"] == "Okafor-Smith"
    assert store.read_log("audit") == [] and pending(store) == 0


def test_an_unknown_child_is_a_json_404(client, sw):
    resp = client.get("/v1/children/nope", headers=sw)
    assert resp.status_code == 404 and resp.json["code"] == 404


def test_a_token_for_another_authority_is_403(client, store, token_for):
    resp = client.post("/v1/children", json=full_child(), headers=bearer(token_for(authority="GG")))
    assert resp.status_code == 403
    assert nothing_written(store)


def test_a_partner_may_do_nothing_here(client, store, sw, token_for):
    child_id = register(client, sw).json["id"]
    partner = bearer(token_for("partner"))
    assert client.post("/v1/children", json=full_child(), headers=partner).status_code == 403
    assert client.post("/v1/children", json={"bad": 1}, headers=partner).status_code == 403  # the role before the body
    assert client.get(f"/v1/children/{child_id}", headers=partner).status_code == 403
    assert client.get("/v1/children", headers=partner).status_code == 403
    assert (
        client.patch(
            f"/v1/children/{child_id}", json={"family_name": "X"}, headers={**partner, "If-Match": '"1"'}
        ).status_code
        == 403
    )
    assert store.collection("children").count_documents({}) == 1 and pending(store) == 1


@pytest.mark.parametrize("role", ["chair", "auditor", "admin"])
def test_readers_who_are_not_writers_may_read_but_not_write(client, store, sw, token_for, role):
    child_id = register(client, sw).json["id"]
    token = bearer(token_for(role))
    assert client.get(f"/v1/children/{child_id}", headers=token).status_code == 200
    assert client.get("/v1/children", headers=token).status_code == 200
    assert client.post("/v1/children", json=full_child(), headers=token).status_code == 403
    assert (
        client.patch(
            f"/v1/children/{child_id}", json={"family_name": "X"}, headers={**token, "If-Match": '"1"'}
        ).status_code
        == 403
    )
    assert store.collection("children").count_documents({}) == 1


def test_a_team_manager_may_register_and_change(client, token_for):
    tm = bearer(token_for("team_manager", user="tm-1"))
    child = register(client, tm).json
    assert child["created_by"] == "tm-1"
    assert (
        client.patch(f"/v1/children/{child['id']}", json={"gender": "9"}, headers={**tm, "If-Match": '"1"'}).status_code
        == 200
    )


# --- search ---


def test_search_by_nhs_number_and_family_name_in_pages(client, sw):
    ids = [
        register(client, sw, minimal_child(given_names=f"Child {i}", family_name="Jones")).json["id"] for i in range(5)
    ]
    nhs_child = register(
        client, sw, minimal_child(family_name="Patel", identifiers=[{"scheme": "nhs_number", "value": NHS}])
    ).json["id"]
    first = client.get("/v1/children?family_name=%20jones%20&page_size=2", headers=sw).json
    assert first["total"] == 5 and first["page"] == 1 and first["page_size"] == 2
    pages = [first] + [
        client.get(f"/v1/children?family_name=JONES&page_size=2&page={p}", headers=sw).json for p in (2, 3)
    ]
    seen = [item["id"] for page in pages for item in page["items"]]
    assert sorted(seen) == sorted(ids) and len(pages[2]["items"]) == 1
    assert [i["given_names"] for i in pages[0]["items"]] == ["Child 0", "Child 1"]
    by_nhs = client.get("/v1/children?nhs_number=943%20476%205919", headers=sw).json
    assert [item["id"] for item in by_nhs["items"]] == [nhs_child] and by_nhs["total"] == 1
    everyone = client.get("/v1/children", headers=sw).json
    assert everyone["total"] == 6 and everyone["page_size"] == 20
    empty_boxes = client.get("/v1/children?family_name=&nhs_number=", headers=sw).json
    assert empty_boxes["total"] == 6


def test_search_by_date_of_birth_alone_or_with_the_family_name(client, sw):
    jones = register(client, sw, minimal_child(date_of_birth="2019-03-27")).json["id"]
    patel = register(client, sw, minimal_child(family_name="Patel", date_of_birth="2019-03-27")).json["id"]
    register(client, sw, minimal_child(date_of_birth="2019-03-28"))
    born = client.get("/v1/children?date_of_birth=2019-03-27", headers=sw).json
    assert sorted(i["id"] for i in born["items"]) == sorted([jones, patel]) and born["total"] == 2
    both = client.get("/v1/children?date_of_birth=2019-03-27&family_name=jones", headers=sw).json
    assert [i["id"] for i in both["items"]] == [jones]


@pytest.mark.parametrize(
    "query,field",
    [
        ("date_of_birth=2019-02-30", "date_of_birth"),
        ("nhs_number=9434765918", "nhs_number"),
        ("page=0", "page"),
        ("page_size=101", "page_size"),
        ("page=two", "page"),
        ("surname=Jones", "surname"),
        ("family_name=" + "x" * 201, "family_name"),
    ],
)
def test_a_bad_search_is_a_422_naming_the_parameter(client, sw, query, field):
    resp = client.get(f"/v1/children?{query}", headers=sw)
    assert resp.status_code == 422 and field in resp.json["errors"]["query"]


# --- audit and documentation ---


def test_reads_and_writes_of_a_child_are_audited(client, store, sw, token_for):
    child_id = register(client, sw).json["id"]
    client.get(f"/v1/children/{child_id}", headers=bearer(token_for("auditor", user="au-1")))
    client.patch(f"/v1/children/{child_id}", json={"gender": "9"}, headers={**sw, "If-Match": '"1"'})
    client.get("/v1/children", headers=sw)
    entries = [r.entry for r in store.read_log("audit")]
    assert [(e["action"], e["actor"], e["record_id"]) for e in entries] == [
        ("create", "sw-1", child_id),
        ("read", "au-1", child_id),
        ("update", "sw-1", child_id),
        ("read", "sw-1", child_id),
    ]
    assert entries[2]["detail"] == {"fields": ["gender"], "version": 2}
    assert store.verify_log("audit").ok


def test_the_openapi_document_lists_the_children_routes(client, sw):
    doc = client.get("/openapi.json", headers=sw).json
    assert {"/v1/children", "/v1/children/{child_id}"} <= set(doc["paths"])
    assert {"get", "post"} <= set(doc["paths"]["/v1/children"]) and {"get", "patch"} <= set(
        doc["paths"]["/v1/children/{child_id}"]
    )
    assert {"412", "428"} <= set(doc["paths"]["/v1/children/{child_id}"]["patch"]["responses"])
    assert "ChildCreate" in doc["components"]["schemas"]


def test_in_the_plans_service_an_nhs_number_is_unique_too(plans_app, token_for):
    """Guards the wiring of cpp_plans.app: the blueprint and its store setup
    (without setup_store the unique index, and so the 409, would be missing)."""
    assert "children" in plans_app.blueprints
    client, headers = plans_app.test_client(), bearer(token_for())
    assert client.post("/v1/children", json=full_child(), headers=headers).status_code == 201
    assert client.post("/v1/children", json=full_child(), headers=headers).status_code == 409


def test_a_plugin_adds_an_identifier_scheme_for_its_deployment(make_settings, monkeypatch, token_for):
    """cpp_identifier_schemes: a scheme exists where the plugin is active, and only there."""
    from cpp_plans.app import create_app
    from cpp_shared import web
    from cpp_shared.hookspecs import hookimpl
    from cpp_shared.plugins import Plugins

    def council_ref(value):
        text = str(value).strip().upper()
        if not text.startswith("BRO-") or not text[4:].isdigit():
            raise ValueError("a Bromley reference is BRO- and digits")
        return text

    class Council:
        @hookimpl
        def cpp_identifier_schemes(self):
            return [{"id": "bromley_ref", "name": "Bromley reference", "validate": council_ref, "source": "test"}]

    monkeypatch.setattr(web, "Plugins", lambda names: Plugins(names, extra=[("council", Council())]))
    with_plugin = create_app(make_settings("plans")).test_client()
    monkeypatch.undo()
    other_store = f"sqlite:///{make_settings().data_dir / 'elsewhere.db'}"
    without = create_app(make_settings("plans", CPP_STORE_URL=other_store)).test_client()
    headers = bearer(token_for())
    body = full_child(
        identifiers=[{"scheme": "nhs_number", "value": "943 476 5919"}, {"scheme": "bromley_ref", "value": "bro-123"}]
    )
    created = with_plugin.post("/v1/children", json=body, headers=headers)
    assert created.status_code == 201, created.json
    assert {"scheme": "bromley_ref", "value": "BRO-123"} in created.json["identifiers"]
    bad = with_plugin.post(
        "/v1/children",
        headers=headers,
        json=full_child(
            identifiers=[{"scheme": "nhs_number", "value": "401 023 2137"}, {"scheme": "bromley_ref", "value": "X1"}]
        ),
    )
    assert bad.status_code == 422 and "BRO-" in json.dumps(bad.json["errors"])
    elsewhere = without.post("/v1/children", json=body, headers=headers)
    assert elsewhere.status_code == 422 and "Unknown identifier scheme" in json.dumps(elsewhere.json["errors"])
