"""One person, several roles (an identity provider's `roles` array, as Entra ID and Okta give): the plans
service lets them do what any of their roles may, keeps every role in the staff directory (which carries
entries made before people held several over), audits the roles held, and tells a caller whose roles do not
allow a step so in RFC 6750's terms."""

from __future__ import annotations

from cpp_plans.app import create_app as create_plans_app
from cpp_shared import staff
from tests.helpers import bearer, new_child, ok


def test_a_social_worker_who_is_also_a_team_manager_opens_a_case_and_is_its_manager(plans, token_for):
    both = bearer(token_for("team_manager", user="pat", name="Pat Both", team="North", also=("social_worker",)))
    me = ok(plans.get("/v1/staff/me", headers=both))
    assert (me["role"], me["roles"]) == ("social_worker", ["social_worker", "team_manager"])

    case = ok(plans.post("/v1/cases", json={"child_id": new_child(plans, both)}, headers=both), 201)
    assert case["social_worker"]["user"] == "pat" and case["team_manager"]["user"] == "pat"

    # The directory finds them under either role; an admin can name them as a case's team manager.
    admin = bearer(token_for("admin", user="admin-1"))
    for role in ("social_worker", "team_manager"):
        found = ok(plans.get("/v1/staff", query_string={"role": role}, headers=admin))["items"]
        assert "pat" in [p["user"] for p in found]
    assert ok(plans.get("/v1/staff", query_string={"role": "chair"}, headers=admin))["items"] == []

    # A team manager's step (reallocating a case) is theirs; a chair's is not, and the 403 says why.
    version = ok(plans.get(f"/v1/cases/{case['id']}", headers=both))["version"]
    tag = f'"{version}"'
    ok(plans.put(f"/v1/cases/{case['id']}/allocation", json={"team": "South"}, headers={**both, "If-Match": tag}))
    refused = plans.get("/v1/admin/parked-messages", headers=both)
    assert refused.status_code == 403
    assert refused.headers["WWW-Authenticate"].startswith('Bearer error="insufficient_scope"')
    assert "social_worker" in refused.json["message"] and "team_manager" in refused.json["message"]


def test_the_audit_names_every_role_of_a_person_holding_several(plans, plans_store, token_for):
    both = bearer(token_for("social_worker", user="pat", also=("chair",)))
    child_id = new_child(plans, both)
    entries = [r.entry for r in plans_store.read_log("audit") if r.entry.get("record_id") == child_id]
    assert entries and all(e["role"] == "social_worker" and e["roles"] == ["social_worker", "chair"] for e in entries)
    one = bearer(token_for("social_worker", user="sam"))
    other = new_child(plans, one)
    assert all("roles" not in r.entry for r in plans_store.read_log("audit") if r.entry.get("record_id") == other)


def test_directory_entries_kept_before_people_held_several_roles_are_found_by_role(make_settings, token_for):
    settings = make_settings("plans")
    first = create_plans_app(settings)
    people = first.extensions["cpp"].store.collection(staff.COLLECTION)
    people.update_one(
        {"user": "old-tm"}, {"$set": {"name": "Olive Old", "role": "team_manager", "team": "West"}}, upsert=True
    )
    assert people.find({"user": "old-tm", **staff.holding("team_manager")}) == []

    again = create_plans_app(settings)  # the next start carries the entry over
    client = again.test_client()
    found = ok(
        client.get(
            "/v1/staff", query_string={"role": "team_manager"}, headers=bearer(token_for("admin", user="admin-1"))
        )
    )["items"]
    assert [(p["user"], p["roles"]) for p in found] == [("old-tm", ["team_manager"])]
    # ...and a case of the team gets them as its team manager by default.
    sw = bearer(token_for("social_worker", user="sw-9", team="West"))
    case = ok(client.post("/v1/cases", json={"child_id": new_child(client, sw)}, headers=sw), 201)
    assert case["team_manager"] == {"user": "old-tm", "name": "Olive Old"}


def test_an_admin_gives_a_member_of_staff_several_roles_or_one(plans, token_for):
    admin = bearer(token_for("admin", user="admin-1"))
    added = ok(
        plans.post(
            "/v1/staff",
            json={"user": "cc", "name": "Cleo Chair", "role": "chair", "roles": ["chair", "social_worker"]},
            headers=admin,
        ),
        201,
    )
    assert (added["role"], added["roles"]) == ("social_worker", ["social_worker", "chair"])
    changed = ok(plans.put("/v1/staff/cc", json={"name": "Cleo Chair", "role": "chair"}, headers=admin))
    assert (changed["role"], changed["roles"]) == ("chair", ["chair"])
    wrong = plans.post(
        "/v1/staff", json={"user": "x", "name": "X", "role": "chair", "roles": ["partner"]}, headers=admin
    )
    assert wrong.status_code == 422 and "roles" in wrong.json["errors"]["json"]
