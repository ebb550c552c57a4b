"""A made-up council caseload for trying the platform (development only).

`cpp up` in development runs ``cpp demo --if-new`` once every service is up:
on a deployment's first start it creates ten children of made-up families
(their family names say so: Example, Sample, Fictional...) at every stage of
the lifecycle, as the people of ``people.py`` would, through the four
services' own HTTP APIs with development tokens, so every record, event,
deadline and document comes from the real paths. ``CPP_DEMO=0`` starts
empty; ``cpp demo --reset`` (platform stopped) clears the data folder's
stores so that the next start seeds again.

Dates are counted in working days from the day the seeding first ran (kept
in its state file), so that deadlines fall due this week, are overdue or were
met. Seeding is safe to run again: each step done is noted in the state file
(``CPP_DATA_DIR/demo-seed.json``) and skipped; each create carries an
Idempotency-Key made from a secret in that file and the step's name, so a
step cut off after it committed is answered, not made twice; a step that
moves a record on (an enquiry outcome, a report's countersigning), cut off
after it committed, is refused as already taken and counted done. When
everything is made, ``CPP_DATA_DIR/demo-seeded`` marks the deployment as
seeded: the sign-in page then lists whose cases are whose, and every page
says the data is made up.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from . import people

MARKER = "demo-seeded"
STATE = "demo-seed.json"
NOTICE = "Demonstration data: the people and families are made up."

# The stages the caseload covers, as the seeding makes them.
STAGES = {
    "enquiries": "Enquiries under way",
    "enquiries_due": "Enquiries under way, the initial conference due this week",
    "no_conference": "Enquiries found no conference needed (child in need)",
    "conference_scheduled": "Initial conference scheduled, its report waiting for countersigning",
    "initial_overdue": "Initial conference overdue (none scheduled)",
    "outline_plan": "Outline plan, the first core group due this week",
    "core_group_overdue": "Outline plan, the first core group overdue",
    "active_plan": "Active plan with visits and core groups, a review scheduled",
    "reviewed_plan": "Active plan continued at a review",
    "plan_ended": "Plan ended at a review, stepped down to a child in need plan",
}


@dataclass(frozen=True)
class Family:
    key: str
    given_names: str
    family_name: str
    date_of_birth: str
    gender: str  # the census's code (cpp_shared.census_codes.GENDER)
    stage: str
    worker: str  # the social worker who holds the case (a user of people.py)
    first_language: str = "English"
    interpreter_needed: bool = False
    ethnicity: str = "NOBT"  # the census's code: information not yet obtained
    disabilities: tuple[str, ...] = ("NONE",)
    parent: str = "Alex"  # the parent's first name, in the core group

    @property
    def name(self) -> str:
        return f"{self.given_names} {self.family_name}"

    @property
    def holds_conference(self) -> bool:
        return self.stage not in ("enquiries", "enquiries_due", "no_conference", "initial_overdue")


SW1, SW2, TM, CHAIR = "demo-sw-1", "demo-sw-2", "demo-tm-1", "demo-chair-1"

CASELOAD = (
    Family("leo", "Leo", "Sample", "2017-03-14", "1", "enquiries", SW1, ethnicity="WBRI"),
    Family("ava", "Ava", "Example", "2019-08-02", "2", "enquiries_due", SW2, ethnicity="BOTH", parent="Jo"),
    Family("finn", "Finn", "Specimen", "2014-11-21", "1", "no_conference", SW2, ethnicity="MOTH"),
    Family(
        "isla",
        "Isla",
        "Fictional",
        "2018-05-09",
        "2",
        "conference_scheduled",
        SW1,
        ethnicity="WIRI",
        parent="Sam",
    ),
    Family(
        "noah",
        "Noah",
        "Madeup",
        "2016-01-30",
        "1",
        "initial_overdue",
        SW1,
        first_language="Polish",
        interpreter_needed=True,
        ethnicity="WOTH",
        disabilities=("HEAR",),
        parent="Ola",
    ),
    Family("maya", "Maya", "Pretend", "2020-09-17", "2", "outline_plan", SW1, ethnicity="AOTH", parent="Ravi"),
    Family(
        "oscar",
        "Oscar",
        "Imaginary",
        "2015-06-04",
        "1",
        "core_group_overdue",
        SW2,
        ethnicity="WBRI",
        parent="Kim",
    ),
    Family("ruby", "Ruby", "Storybook", "2013-12-12", "2", "active_plan", SW1, ethnicity="BAFR", parent="Ade"),
    Family(
        "theo",
        "Theo",
        "Invented",
        "2018-02-26",
        "1",
        "reviewed_plan",
        SW2,
        ethnicity="WBRI",
        parent="Chris",
    ),
    Family("lily", "Lily", "Placeholder", "2012-07-19", "2", "plan_ended", SW1, ethnicity="MOTH", parent="Dana"),
)


# --- the dates: working days (Monday to Friday) from the day seeding began ---


def working_day(start: date, n: int) -> date:
    """``n`` working days after ``start`` (before it when negative); a
    weekend start counts from the Friday before."""
    day = start
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    step = 1 if n >= 0 else -1
    for _ in range(abs(n)):
        day += timedelta(days=step)
        while day.weekday() >= 5:
            day += timedelta(days=step)
    return day


def nhs_number(index: int) -> str:
    """A number of the NHS's range for made-up records (999...), with a
    valid Modulus 11 check digit."""
    base = 999_000_000 + index * 37
    while True:
        first_nine = f"{base:09d}"
        total = sum(int(c) * w for c, w in zip(first_nine, range(10, 1, -1)))
        check = (11 - total % 11) % 11
        if check != 10:
            return first_nine + str(check)
        base += 1


# --- the plan of calls ---


@dataclass(frozen=True)
class Step:
    """One call as one person: ``path`` may name earlier results in braces
    ({child}, {case}, {conference}, {plan}, {report}, {review}, {last_review});
    ``saves`` keeps a result's field under a name for later steps."""

    name: str  # unique within the family: the step's part of its Idempotency-Key
    user: str
    service: str
    path: str
    body: dict
    create: bool = True
    saves: tuple[tuple[str, str], ...] = ()  # (name, dotted field of the answer)
    # The record a step changes at the revision it read (e.g. "/v1/cases/{case}"): its ETag is sent as If-Match.
    if_match: str = ""


def _person(user: str) -> people.Person:
    person = people.by_user(user)
    assert person is not None, user
    return person


def _core_group(family: Family) -> list[dict]:
    worker = _person(family.worker)
    return [
        {
            "name": worker.name,
            "role": "social worker",
            "agency": "Children's services",
            "email": worker.email,
            "phone": "020 7946 0000",
            "is_family_member": False,
        },
        {
            "name": "Hana Visitor",
            "role": "health visitor",
            "agency": "Northside Health Centre",
            "email": "hana.visitor@health.example",
            "phone": "020 7946 0101",
            "is_family_member": False,
        },
        {
            "name": "Ms Dee Teacher",
            "role": "designated safeguarding lead",
            "agency": "Example Primary School",
            "email": "dsl@school.example",
            "is_family_member": False,
        },
        {
            "name": f"{family.parent} {family.family_name}",
            "role": "parent",
            "email": f"{family.key}@home.example",
            "is_family_member": True,
        },
    ]


def _outline(family: Family) -> dict:
    return {
        "key_worker": {"user": family.worker, "phone": "020 7946 0000"},
        "categories": ["neglect"],
        "core_group": _core_group(family),
        "concerns": f"{family.given_names}'s home conditions are poor and health appointments are missed "
        "(made-up example).",
    }


def _detailed(family: Family, today: date) -> dict:
    later = lambda days: (today + timedelta(days=days)).isoformat()  # noqa: E731
    carer = f"{family.parent} {family.family_name}"
    return {
        **_outline(family),
        "concerns": f"{family.given_names}'s home conditions are poor.\nHealth appointments are missed.\n"
        "(A made-up example.)",
        "outcomes": [
            {
                "id": "safe-home",
                "description": f"{family.given_names} lives in a safe, clean home",
                "term": "short",
                "target_date": later(90),
                "how_progress_judged": "Home visits find the home safe and clean",
            }
        ],
        "actions": [
            {
                "id": "kitchen",
                "what": "Clear and clean the kitchen",
                "why": "Hygiene risk",
                "who": {"name": carer, "kind": "family_member", "relationship": "parent"},
                "by_when": later(30),
                "outcome_id": "safe-home",
            },
            {
                "id": "appointments",
                "what": "Take the child to every health appointment",
                "why": "Missed check-ups",
                "who": {"name": "Hana Visitor", "kind": "professional", "role": "health visitor"},
                "by_when": later(45),
                "outcome_id": "safe-home",
            },
        ],
        "monitoring": [
            {
                "who": "Hana Visitor",
                "agency": "Northside Health Centre",
                "what": "Sees the child at home",
                "contact_type": "home_visit",
                "frequency": {"every": 2, "unit": "weeks"},
            }
        ],
        "review_arrangements": {"next_review_date": later(80), "how_progress_judged": "At the review conference"},
        "contingency_plan": {
            "plan": "A legal planning meeting is called",
            "triggers": [f"{family.given_names} is found alone at home"],
        },
        "childs_views": f"{family.given_names} likes school and wants to stay at home.",
    }


def _report(family: Family, seen: date) -> dict:
    return {
        "findings": f"Made-up example: {family.given_names}'s home conditions are poor; two health "
        "appointments were missed.",
        "child_seen": [{"on": seen.isoformat(), "alone": True}],
        "childs_views": f"{family.given_names} wants things at home to get better.",
        "family_views": "The family agree the home needs work.",
    }


def steps_for(family: Family, today: date) -> list[Step]:
    """Every call that brings ``family`` to its stage, in order."""
    wd = lambda n: working_day(today, n).isoformat()  # noqa: E731
    index = [f.key for f in CASELOAD].index(family.key)
    child = {
        "given_names": family.given_names,
        "family_name": family.family_name,
        "date_of_birth": family.date_of_birth,
        "gender": family.gender,
        "ethnicity": family.ethnicity,
        "disabilities": list(family.disabilities),
        "first_language": family.first_language,
        "interpreter_needed": family.interpreter_needed,
        "identifiers": [{"scheme": "nhs_number", "value": nhs_number(index)}],
        "address": {"lines": [f"{index + 1} Example Road", "Madeup Town"]},
    }
    sw = family.worker
    out = [
        Step("child", sw, "plans", "/v1/children", child, saves=(("child", "id"),)),
        Step("case", sw, "plans", "/v1/cases", {"child_id": "{child}"}, saves=(("case", "id"),)),
    ]

    def add(name: str, user: str, path: str, body: dict, create: bool = True, saves=(), if_match: str = "") -> None:
        out.append(Step(name, user, "plans", path, body, create, tuple(saves), if_match))

    def on_case(name: str, path: str, body: dict) -> None:
        add(name, sw, f"/v1/cases/{{case}}/{path}", body, create=False, if_match="/v1/cases/{case}")

    def referral(received: int, decision: str) -> None:
        on_case(
            "referral", "referral", {"received_on": wd(received), "source": "school", "summary": "Made-up example."}
        )
        on_case(
            "referral-decision",
            "referral/decision",
            {
                "decided_on": wd(received + 1),
                "decision": decision,
                "reason": "Made-up example: a bruise seen at school.",
            },
        )

    def assessment(started: int, completed: int | None = None) -> None:
        on_case(
            "assessment",
            "assessment",
            {
                "started_on": wd(started),
                "factors": ["neglect", "parenting_capacity"],
                "other_factors": "Made-up example.",
            },
        )
        if completed is not None:
            on_case(
                "assessment-completion",
                "assessment/completion",
                {
                    "completed_on": wd(completed),
                    "outcome": "strategy_discussion",
                    "summary": "Made-up example.",
                    "authorised_by": TM,
                },
            )

    def strategy(n: int) -> None:
        add(
            "strategy",
            sw,
            "/v1/cases/{case}/strategy-discussions",
            {"held_on": wd(n), "initiated_enquiries": True, "notes": "Made-up example."},
        )

    def outcome(n: int, needed: bool = True) -> None:
        add(
            "enquiry-outcome",
            sw,
            "/v1/cases/{case}/enquiry-outcome",
            {"completed_on": wd(n), "conference_required": needed, "summary": "Made-up example."},
            create=False,
        )

    def conference(name: str, kind: str, n: int, saves: str) -> None:
        add(
            name,
            sw,
            "/v1/cases/{case}/conferences",
            {"kind": kind, "scheduled_for": wd(n), "chair": CHAIR},
            saves=[(saves, "id")],
        )

    def report(draft: int, *, last: str) -> None:
        add(
            "report",
            sw,
            "/v1/conferences/{conference}/reports",
            {**_report(family, working_day(today, draft - 1)), "drafted_on": wd(draft)},
            saves=[("report", "id")],
        )
        add("report-submit", sw, "/v1/reports/{report}/submit", {"on": wd(draft + 1)}, create=False)
        if last == "submitted":
            return
        add("report-countersign", TM, "/v1/reports/{report}/countersign", {"on": wd(draft + 2)}, create=False)
        add(
            "report-share",
            sw,
            "/v1/reports/{report}/share",
            {
                "on": wd(draft + 3),
                "child_included": False,
                "with": [
                    {
                        "name": f"{family.parent} {family.family_name}",
                        "relationship": "parent",
                        "how": "in_person",
                        "interpreter_used": family.interpreter_needed,
                    }
                ],
            },
            create=False,
        )
        add("report-send", sw, "/v1/reports/{report}/send-to-chair", {"on": wd(draft + 4)}, create=False)

    def initial_held(n: int) -> None:
        add(
            "initial-outcome",
            CHAIR,
            "/v1/conferences/{conference}/outcome",
            {
                "held_on": wd(n),
                "plan_required": True,
                "outline_plan": _outline(family),
                "attendees": [{"name": f"{family.parent} {family.family_name}"}],
            },
            saves=[("plan", "plan.id")],
        )

    def core_group(name: str, n: int, agree: bool) -> None:
        body: dict[str, Any] = {
            "held_on": wd(n),
            "detailed_plan_agreed": agree,
            "attendees": [
                {"name": _person(sw).name, "role": "key worker", "user": sw},  # a core group meets with them
                {"name": f"{family.parent} {family.family_name}"},
                {"name": "Hana Visitor"},
            ],
            "notes": "Made-up example.",
        }
        if agree:
            body["plan"] = _detailed(family, today)
        add(name, sw, "/v1/plans/{plan}/core-group-meetings", body)

    def visits(*days: int) -> None:
        for n in days:
            add(
                f"visit-{-n}",
                sw,
                "/v1/plans/{plan}/visits",
                {
                    "visited_on": wd(n),
                    "announced": n % 2 == 0,
                    "child_seen": True,
                    "seen_alone": n % 3 != 0,
                    "by": _person(sw).name,
                    "notes": "Made-up example.",
                },
            )

    def review_held(name: str, conf: str, n: int, decision: str) -> None:
        add(
            name,
            CHAIR,
            f"/v1/conferences/{{{conf}}}/outcome",
            {"held_on": wd(n), "decision": decision, "attendees": [{"name": f"{family.parent} {family.family_name}"}]},
        )

    stage = family.stage
    if stage == "enquiries":
        referral(-4, "assessment")  # the assessment, started, is due in about eight weeks
        assessment(-3)
        strategy(-2)  # the initial conference is due in about three weeks
    elif stage == "enquiries_due":
        referral(-14, "strategy_discussion")
        assessment(-13)
        strategy(-12)  # due in three working days
    elif stage == "no_conference":
        referral(-14, "assessment")  # decided in a working day, assessed in three: both met on time
        assessment(-13, completed=-11)
        strategy(-10)
        outcome(-3, needed=False)
    elif stage == "conference_scheduled":
        strategy(-9)
        outcome(-4)
        conference("initial", "initial", 4, "conference")
        report(-3, last="submitted")  # waiting for the team manager
    elif stage == "initial_overdue":
        strategy(-25)  # due ten working days ago
        outcome(-15)
    elif stage == "outline_plan":
        strategy(-20)
        outcome(-14)
        conference("initial", "initial", -6, "conference")
        report(-12, last="sent")
        initial_held(-6)  # on time; the first core group is due in four working days
    elif stage == "core_group_overdue":
        strategy(-35)
        outcome(-28)
        conference("initial", "initial", -22, "conference")
        initial_held(-22)  # the first core group was due twelve working days ago
    elif stage == "active_plan":
        strategy(-60)
        outcome(-54)
        conference("initial", "initial", -47, "conference")
        initial_held(-47)
        core_group("core-group-1", -40, True)
        visits(-35, -25, -15, -5)
        core_group("core-group-2", -20, False)
        conference("review", "review", 15, "review")
    elif stage == "reviewed_plan":
        strategy(-140)
        outcome(-134)
        conference("initial", "initial", -125, "conference")
        initial_held(-125)
        core_group("core-group-1", -118, True)
        visits(-100, -80, -45, -10)
        conference("review", "review", -63, "review")
        review_held("review-outcome", "review", -63, "continue")
    elif stage == "plan_ended":
        strategy(-200)
        outcome(-195)
        conference("initial", "initial", -190, "conference")
        initial_held(-190)
        core_group("core-group-1", -183, True)
        visits(-170, -140, -100, -60, -20)
        conference("review-1", "review", -128, "review")
        review_held("review-1-outcome", "review", -128, "continue")
        conference("review-2", "review", -5, "last_review")
        review_held("review-2-outcome", "last_review", -5, "end")
        add(
            "child-in-need-plan",
            sw,
            "/v1/cases/{case}/child-in-need-plans",
            {
                "key_worker": {"name": _person(sw).name, "phone": "020 7946 0000", "email": _person(sw).email},
                "needs": "Made-up example: support with the home and health appointments.",
                "services": ["Family support worker", "Health visitor"],
                "review_on": wd(60),
                "created_on": wd(-3),
            },
        )
    else:  # pragma: no cover
        raise ValueError(f"unknown stage {stage!r}")
    return out


def fill(value: Any, results: dict) -> Any:
    """``value`` with every text that is exactly "{name}" replaced by that result."""
    if isinstance(value, dict):
        return {k: fill(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, results) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in results:
        return results[value[1:-1]]
    return value


def plan(today: date) -> list[tuple[Family, list[Step]]]:
    return [(f, steps_for(f, today)) for f in CASELOAD]


# --- who holds what (for the sign-in page) ---


def holdings() -> dict[str, list[str]]:
    """Each person's children in the caseload, by user id."""
    held: dict[str, list[str]] = {p.user: [] for p in people.PEOPLE}
    for f in CASELOAD:
        held[f.worker].append(f.name)
        held[TM].append(f.name)  # the team's manager holds every case of the team
        if f.holds_conference:
            held[CHAIR].append(f.name)
    return held


def seeded(data_dir: Path | str) -> bool:
    return (Path(data_dir) / MARKER).exists()


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    """CPP_DEMO=0 (or false, no, off) starts empty."""
    value = (environ if environ is not None else os.environ).get("CPP_DEMO", "1").strip().lower()
    return value not in ("0", "false", "no", "off")


# --- running the plan ---


class SeedError(Exception):
    pass


@dataclass
class Seeder:
    """Runs the plan against the services at ``urls`` as each person, with
    tokens from ``token_for(user)``, keeping its progress in ``data_dir``."""

    urls: dict[str, str]
    token_for: Callable[[str], str]
    data_dir: Path
    say: Callable[[str], None] = print
    timeout: float = 30.0
    pause: float = 1.0  # before a retry after no answer or a 5xx: pause, 2 pause... (4 retries)
    state: dict = field(default_factory=dict)
    etags: dict[str, str | None] = field(default_factory=dict)  # each record's path: its ETag as last answered

    @property
    def state_path(self) -> Path:
        return self.data_dir / STATE

    def load_state(self) -> dict:
        if self.state_path.exists():
            self.state = json.loads(self.state_path.read_text())
        else:
            self.state = {
                "secret": secrets.token_hex(16),
                "today": date.today().isoformat(),
                "done": {},
                "tried": [],
                "results": {},
            }
            self.save_state()
        return self.state

    def save_state(self) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1, sort_keys=True))
        os.replace(tmp, self.state_path)

    def key(self, family: Family, step: Step) -> str:
        return hashlib.sha256(f"{self.state['secret']}:{family.key}:{step.name}".encode()).hexdigest()

    def run(self) -> dict[str, dict]:
        """Seed everything not yet done; the results by family (their ids)."""
        import requests

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.load_state()
        today = date.fromisoformat(self.state["today"])
        session = requests.Session()
        session.trust_env = False
        users = sorted({p.user for p in people.PEOPLE if p.role in ("social_worker", "team_manager", "chair")})
        for user in users:  # each is in the staff directory before a plan or conference names them
            self._call(session, user, "GET", "plans", "/v1/staff/me")
        for family, steps in plan(today):
            results = self.state["results"].setdefault(family.key, {})
            for step in steps:
                done_key = f"{family.key}/{step.name}"
                if done_key in self.state["done"]:
                    continue
                path = step.path.format(**results)
                body = fill(step.body, results)
                tried = done_key in self.state["tried"]
                if not tried:
                    self.state["tried"].append(done_key)
                    self.save_state()
                status, answer = self._take(session, family, step, path, body, results, tried)
                for name, dotted in step.saves:
                    value: Any = answer
                    for part in dotted.split("."):
                        value = (value or {}).get(part)
                    if value is None:
                        raise SeedError(f"{family.name}, step {step.name}: no {dotted} in the answer")
                    results[name] = value
                self.state["done"][done_key] = status
                self.save_state()
            self.say(f"demo: {family.name}: {STAGES[family.stage].lower()}")
        (self.data_dir / MARKER).write_text(
            json.dumps({"seeded_on": date.today().isoformat(), "children": len(CASELOAD)}) + "\n"
        )
        return self.state["results"]

    def _take(
        self, session, family: Family, step: Step, path: str, body: Any, results: dict, tried: bool
    ) -> tuple[int, Any]:
        """Sends one step. A step on a record at its revision sends the ETag of
        this run's last answer about the record; when there was none (428) or
        the record changed since (412, as after a step cut off once it
        committed), it reads the record and sends the step again."""
        record = step.if_match.format(**results) if step.if_match else ""
        taken = (409,) if tried and not step.create else ()  # taken before this run was cut off

        def send(accept: tuple[int, ...]) -> tuple[int, Any, str | None]:
            key = self.key(family, step) if step.create else None
            if_match = self.etags.get(record)
            return self._call(
                session, step.user, "POST", step.service, path, body, key=key, if_match=if_match, accept=accept
            )

        status, answer, etag = send(taken + ((412, 428) if record else ()))
        if status in (412, 428):
            _, found, etag = self._call(session, step.user, "GET", step.service, record)
            self.etags[record] = etag or f'"{found["version"]}"'  # a read answers the record with its version
            status, answer, etag = send(taken)
        if record:
            self.etags[record] = etag  # none after a 409: read again when next needed
        elif etag and step.create and isinstance(answer, dict) and answer.get("id"):
            self.etags[f"{path}/{answer['id']}"] = etag
        return status, answer

    def _call(
        self,
        session,
        user: str,
        method: str,
        service: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        if_match: str | None = None,
        accept: tuple[int, ...] = (),
    ) -> tuple[int, Any, str | None]:
        """The answer's status, its JSON and its ETag; a status in ``accept``
        answers with neither."""
        import requests

        headers = {"Authorization": f"Bearer {self.token_for(user)}", "Accept": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        if if_match:
            headers["If-Match"] = if_match
        url = f"{self.urls[service]}{path}"
        for attempt in range(5):
            try:
                resp = session.request(method, url, json=body, headers=headers, timeout=self.timeout)
            except requests.RequestException as exc:
                if attempt == 4:
                    raise SeedError(f"{method} {path} as {user}: {service} did not answer: {exc}") from None
                time.sleep(self.pause * (1 + attempt))
                continue
            if resp.status_code >= 500 and attempt < 4:
                time.sleep(self.pause * (1 + attempt))
                continue
            break
        if resp.status_code in accept:  # e.g. a step taken before this run was cut off (409)
            return resp.status_code, None, None
        if resp.status_code >= 400:
            raise SeedError(f"{method} {path} as {user}: {service} answered {resp.status_code}: {resp.text[:500]}")
        return resp.status_code, resp.json() if resp.content else None, resp.headers.get("ETag")


def wait_until_ready(urls: dict[str, str], timeout: float = 120.0, say: Callable[[str], None] = print) -> None:
    """Until every service answers /readyz with 200 (its store, broker and worker up)."""
    import requests

    deadline = time.monotonic() + timeout
    pending = dict(urls)
    while pending:
        for service, url in list(pending.items()):
            try:
                if requests.get(f"{url}/readyz", timeout=2).status_code == 200:
                    del pending[service]
            except requests.RequestException:
                pass
        if not pending:
            return
        if time.monotonic() > deadline:
            raise SeedError(f"not ready after {timeout:.0f}s: {', '.join(sorted(pending))} (see their logs)")
        time.sleep(1)
