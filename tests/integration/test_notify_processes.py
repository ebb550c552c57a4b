"""Plans and notify as real processes on a real broker: a plan agreed over
the plans API reaches a partner's receiver as a signed webhook (verified
with the standardwebhooks library), and the core group's invitation reaches
a real SMTP server."""

from __future__ import annotations

import email
from datetime import date, timedelta
from email import policy

import pytest
import requests
from aiosmtpd.controller import Controller

from cpp_shared.auth import issue_dev_token
from cpp_shared.config import Settings
from tests.helpers import bearer, free_port, new_child_over_http, wait_for
from tests.integration.processes import launch
from tests.receivers import Receiver

pytestmark = [pytest.mark.broker, pytest.mark.slow]

OUTLINE = {
    "key_worker": {"name": "Sam Social", "phone": "020 7946 0000", "email": "sam.social@council.example"},
    "categories": ["neglect"],
    "core_group": [
        {
            "name": "Sam Social",
            "role": "social worker",
            "agency": "Children's services",
            "email": "sam.social@council.example",
            "is_family_member": False,
        },
        {"name": "Alex Parent", "role": "mother", "email": "alex@home.example", "is_family_member": True},
    ],
    "concerns": "Home conditions.",
}


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's API)
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def test_a_plan_reaches_a_partner_by_webhook_and_the_family_by_email(tmp_path, broker_url):
    data = tmp_path / "var"
    settings = Settings.from_env("plans", {"CPP_MODE": "development", "CPP_DATA_DIR": str(data)})

    def token(role, user):
        return bearer(
            issue_dev_token(
                settings, role=role, authority="ENG", user=user, name="Sam Social" if user == "sw-1" else None
            )
        )  # the plan's key worker

    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    receiver = Receiver().start()
    services = {}
    try:
        services["plans"] = launch("plans", data, broker_url)
        services["notify"] = launch(
            "notify", data, broker_url, CPP_NOTIFY_SMTP_HOST="127.0.0.1", CPP_NOTIFY_SMTP_PORT=str(smtp.port)
        )
        notify, plans = services["notify"].url, services["plans"].url
        sub = requests.post(
            f"{notify}/v1/subscriptions",
            headers=token("admin", "admin-1"),
            timeout=10,
            json={
                "url": receiver.url,
                "event_types": ["plan.*", "conference.*"],
                "owner": "nhs-trust",
                "allow_private": True,
            },
        ).json()
        receiver.secret = sub["secret"]

        sw, chair = token("social_worker", "sw-1"), token("chair", "chair-1")
        d0 = date.today() - timedelta(days=5)
        child_id = new_child_over_http(plans, sw)
        case = requests.post(f"{plans}/v1/cases", json={"child_id": child_id}, headers=sw, timeout=10).json()["id"]
        requests.post(
            f"{plans}/v1/cases/{case}/strategy-discussions", json={"held_on": d0.isoformat()}, headers=sw, timeout=10
        ).raise_for_status()
        requests.post(
            f"{plans}/v1/cases/{case}/enquiry-outcome",
            headers=sw,
            timeout=10,
            json={"completed_on": d0.isoformat(), "conference_required": True},
        ).raise_for_status()
        conf = requests.post(
            f"{plans}/v1/cases/{case}/conferences",
            headers=sw,
            timeout=10,
            json={"kind": "initial", "scheduled_for": d0.isoformat()},
        ).json()
        held = requests.post(
            f"{plans}/v1/conferences/{conf['id']}/outcome",
            headers=chair,
            timeout=10,
            json={"held_on": d0.isoformat(), "plan_required": True, "outline_plan": OUTLINE},
        )
        assert held.status_code == 200, held.text
        plan_id = held.json()["plan"]["id"]
        review = requests.post(
            f"{plans}/v1/cases/{case}/conferences",
            headers=sw,
            timeout=10,
            json={"kind": "review", "scheduled_for": (d0 + timedelta(days=60)).isoformat()},
        )
        assert review.status_code == 201, review.text

        wait_for(
            lambda: (
                {e["type"] for e in receiver.events()}
                >= {"conference.scheduled.v1", "conference.held.v1", "plan.created.v1"}
            ),
            timeout=60,
            what="the partner's receiver to get the plan's events",
        )
        assert all(r.verified for r in receiver.received), [r.error for r in receiver.received]
        created = next(e for e in receiver.events() if e["type"] == "plan.created.v1")
        assert created["data"]["plan_id"] == plan_id and "concerns" not in str(created["data"])
        wait_for(
            lambda: any("alex@home.example" in rcpts for rcpts, _ in mailbox.messages),
            timeout=60,
            what="the family's email about the review conference",
        )
        family = next(m for rcpts, m in mailbox.messages if "alex@home.example" in rcpts)
        assert family["Subject"].startswith("A meeting about the plan for Sam Jones on")  # the child, by name
        assert child_id not in family["Subject"] + family.get_body(("plain",)).get_content()

        def log():
            return requests.get(
                f"{notify}/v1/deliveries",
                params={"subscription_id": sub["id"]},
                headers=token("admin", "admin-1"),
                timeout=10,
            ).json()["items"]

        wait_for(
            lambda: len(log()) == 4 and all(d["state"] == "delivered" for d in log()),
            timeout=30,
            what="the four deliveries (two conferences scheduled, one held, the plan) settled",
        )
        assert sorted(r.headers["webhook-id"] for r in receiver.received) == sorted(d["id"] for d in log())
    finally:
        for svc in services.values():
            svc.stop()
        receiver.stop()
        smtp.stop()
