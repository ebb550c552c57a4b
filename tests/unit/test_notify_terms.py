"""The notify service's messages in the deployment's words (``cpp_terminology``): a conference's invitation,
its calendar entry and a partner's lookup, as the templates render them for each recipient."""

from __future__ import annotations

import pytest
from icalendar import Calendar

from cpp_notify.domain.people import Templates, messages_for
from cpp_shared.plugins import Plugins

PEOPLE = {
    "key_worker": {"name": "Sam Social", "email": "sam@council.example", "user": "sw-1", "phone": "020 7946 0000"},
    "core_group": [
        {"name": "Hana Visitor", "email": "hana@nhs.example", "is_family_member": False},
        {"name": "Alex Parent", "email": "alex@home.example", "is_family_member": True},
    ],
}
CHILD = {"name": "Ana Jones"}


class Heard:
    """Nothing heard beyond the event: no staff directory, no other child."""

    def staff(self, user):
        return None

    def child(self, child_id):
        return None

    def overdue_notices(self, deadline_id):
        return []


def _messages(deployment: str, etype: str, data: dict) -> list[dict]:
    plugins = Plugins([deployment])
    event = {"id": "ev-1", "type": etype, "time": "2027-01-04T10:00:00Z", "authority": "X", "data": data}
    return messages_for(
        event,
        people=PEOPLE,
        plugins=plugins,
        templates=Templates(plugins),
        channels={"email"},
        organiser="cp@council.example",
        now=0.0,
        heard=Heard(),
    )


def _invited(deployment: str, kind: str) -> dict[str, dict]:
    data = {
        "conference_id": "conf-1",
        "case_id": "case-1",
        "child_id": "child-1",
        "kind": kind,
        "scheduled_for": "2027-02-03",
        "plan_id": "plan-1",
        "child": CHILD,
    }
    return {m["recipient"]["email"]: m for m in _messages(deployment, "conference.scheduled.v1", data)}


@pytest.mark.parametrize(
    "deployment, kind, title",
    [
        ("scotland", "review", "Review child protection planning meeting"),
        ("northern_ireland", "initial", "Initial child protection case conference"),
        ("wales", "review", "Review child protection conference"),
        ("england", "review", "Review child protection conference"),
    ],
)
def test_a_conference_invitation_names_the_meeting_in_the_deployments_words(deployment, kind, title):
    sent = _invited(deployment, kind)
    professional, family = sent["hana@nhs.example"], sent["alex@home.example"]
    assert professional["subject"] == f"{title} for Ana Jones on Wednesday 3 February 2027"
    assert f"A {title.lower()} for Ana Jones is arranged" in professional["body"]
    assert f"It is called a {title.lower()}." in family["body"]
    [event] = Calendar.from_ical(professional["ics"]).walk("VEVENT")
    assert str(event["summary"]) == f"{title} for Ana Jones"


def test_a_scottish_invitation_never_names_englands_conference():
    sent = _invited("scotland", "initial")
    for message in sent.values():
        words = " ".join([message["subject"], message["body"], message["ics"] or ""]).lower()
        assert "child protection conference" not in words and "section 47" not in words
        assert "conference" not in message["subject"].lower() + message["body"].lower()
    assert "before the child protection planning meeting, and share" in sent["hana@nhs.example"]["body"]


@pytest.mark.parametrize(
    "deployment, register",
    [
        ("northern_ireland", "on the child protection register"),
        ("wales", "on the child protection register"),
        ("england", "subject of a child protection plan"),
    ],
)
def test_a_lookup_tells_the_key_worker_in_the_deployments_register_words(deployment, register):
    data = {
        "lookup_id": "lk-1",
        "performed_at": "2027-01-04T10:00:00+00:00",
        "partner": "gp-1",
        "partner_role": "partner",
        "child_id": "child-1",
        "child": CHILD,
        "plan_id": "plan-1",
        "plan_status": "in_force",
        "key_worker": "Sam Social",
        "key_worker_user": "sw-1",
        "subject_of_plan": True,
    }
    [message] = _messages(deployment, "lookup.performed.v1", data)
    assert f"whether Ana Jones is {register}, and was told" in " ".join(message["body"].split())
