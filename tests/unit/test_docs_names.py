"""Documents name people, never ids: every kind of document names the child
and shows no id-shaped string (in its HTML and in its PDF's text), staff by
name from the directory, a date of birth without its weekday, the family's
own members apart from the people who work with them, and a family
document made after the next review date says what happens next instead of
the past date."""

from __future__ import annotations

import re
import subprocess
import uuid
from datetime import date
from pathlib import Path

import pytest

from cpp_docs.domain.documents import KINDS, Documents, birth_day
from cpp_docs.domain.phrases import ENGLISH
from cpp_docs.domain.readability import visible_text
from cpp_docs.pdf import document_pdf
from cpp_shared.plugins import Plugins
from tests.unit.test_docs_render import FULL

#: What an id looks like: 32 hex digits (a uuid4().hex), or a uuid with its dashes.
ID_SHAPED = re.compile(
    r"(?<![0-9a-f])(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    r"(?![0-9a-f])",
    re.I,
)


def an_id() -> str:
    return uuid.uuid4().hex


PLAN_ID, CASE_ID, CHILD_ID, CONFERENCE_ID, MEETING_ID, REPORT_ID = (an_id() for _ in range(6))
SW, CHAIR, TM = an_id(), an_id(), an_id()  # user ids as an identity provider may make them
PEOPLE = {SW: "Sam Social", CHAIR: "Chris Chair", TM: "Tia Manager"}
CHILD = {"name": "Ana Parent", "date_of_birth": "2019-05-31", "nhs_number": "9434765919"}
# Outcome ids may be generated (uuid hex): an action names its outcome by what it is.
OUTCOME = an_id()
CONTENT = {
    **FULL,
    "outcomes": [{**FULL["outcomes"][0], "id": OUTCOME}, *FULL["outcomes"][1:]],
    "actions": [
        {**a, "id": an_id(), "outcome_id": OUTCOME if a["outcome_id"] == "safe-home" else an_id()}
        for a in FULL["actions"]
    ],
}
SNAPSHOT = {
    "plan_id": PLAN_ID,
    "case_id": CASE_ID,
    "child_id": CHILD_ID,
    "status": "active",
    "plan_version": 2,
    "created_on": "2098-12-01",
    "activated_on": "2098-12-08",
    "ended": None,
    "agreed": {"by": SW, "on": "2098-12-08", "at": "core_group_meeting"},
    "key_worker": {
        "user": SW,
        "name": "Sam Social",
        "role": "social worker",
        "team": None,
        "phone": "020 7946 0000",
        "email": None,
    },
    "categories": ["neglect"],
    "content": CONTENT,
    "child": CHILD,
}
DEADLINES = [
    {
        "name": "Core group meeting (every 6 to 9 weeks, #2)",
        "due_on": "2099-01-26",
        "latest_on": "2099-02-09",
        "owner": "social_worker",
        "status": "pending",
        "assignee": {"user": SW, "name": "Sam Social"},
    },
    {
        "name": "First review conference",
        "due_on": "2099-01-28",
        "latest_on": "2099-01-28",
        "owner": "chair",
        "status": "pending",
        "assignee": {"user": CHAIR, "name": CHAIR},
    },
    {
        "name": "Review report countersigned",
        "due_on": "2099-01-25",
        "latest_on": "2099-01-25",
        "owner": "team_manager",
        "status": "pending",
        "assignee": None,
    },
]
CONFERENCES = [{"_id": CONFERENCE_ID, "kind": "review", "on": "2099-02-01", "status": "scheduled"}]
REPORT = {
    "report_version": 1,
    "author": SW,
    "content": {
        "findings": "The kitchen is clean now.",
        "child_seen": [{"on": "2098-12-20", "alone": True}],
        "childs_views": "Ana likes her new bed.",
        "family_views": "We want help with money.",
    },
    "plan": CONTENT,
    "steps": [
        {"step": "drafted", "on": "2098-12-21", "by": SW},
        {"step": "submitted", "on": "2098-12-22", "by": SW},
        {"step": "countersigned", "on": "2098-12-23", "by": TM},
    ],
}


def jobs() -> dict[str, dict]:
    """One job of each kind docs makes, as its handlers ask for it, ids and all."""
    base = {"plan_id": PLAN_ID, "case_id": CASE_ID, "child_id": CHILD_ID, "child": CHILD, "large_print": False}
    initial = {
        "conference_id": CONFERENCE_ID,
        "case_id": CASE_ID,
        "child_id": CHILD_ID,
        "kind": "initial",
        "held_on": "2098-11-20",
        "plan_id": PLAN_ID,
        "plan_required": True,
        "first_core_group_on": "2098-12-08",
        "chair": {"user": CHAIR, "name": "Chris Chair"},
        "child": CHILD,
    }
    review = {**initial, "kind": "review", "decision": "continue", "held_on": "2099-02-01"}
    for key in ("plan_required", "first_core_group_on"):
        review.pop(key)
    report = {
        **base,
        "report_id": REPORT_ID,
        "report_version": 1,
        "report_kind": "review_report",
        "conference_id": CONFERENCE_ID,
        "report": REPORT,
        "snapshot": None,
    }
    made = {
        "outline_plan": {
            **base,
            "kind": "outline_plan",
            "snapshot": {**SNAPSHOT, "status": "outline", "plan_version": 1},
        },
        "professional_plan": {**base, "kind": "professional_plan", "snapshot": SNAPSHOT},
        "family_plan": {**base, "kind": "family_plan", "snapshot": SNAPSHOT},
        "core_group_record": {
            **base,
            "kind": "core_group_record",
            "snapshot": SNAPSHOT,
            "meeting": {
                "meeting_id": MEETING_ID,
                "held_on": "2098-12-08",
                "detailed_plan_agreed": True,
                "attendees": [{"name": "Hana Visitor", "role": "health visitor", "agency": "NHS"}],
                "notes": "Good.",
            },
        },
        # An initial conference's record: no plan yet, only the event's own child.
        "conference_record": {
            **base,
            "kind": "conference_record",
            "snapshot": None,
            "conference": initial,
            "conference_id": CONFERENCE_ID,
        },
        "review_conference_record": {
            **base,
            "kind": "conference_record",
            "snapshot": SNAPSHOT,
            "conference": review,
            "conference_id": CONFERENCE_ID,
        },
        "conference_report": {**report, "kind": "conference_report"},
        "family_report": {**report, "kind": "family_report"},
        # A family conference's letter: each child's part from the event, the plan from its snapshot.
        "family_letter": {
            **base,
            "kind": "family_letter",
            "plan_id": None,
            "case_id": None,
            "child_id": None,
            "child": None,
            "snapshot": None,
            "letter": {
                "family_name": "Parent family",
                "kind": "initial",
                "held_on": "2098-11-20",
                "people": [{"id": an_id(), "name": "Alex Parent", "role": "parent", "parental_responsibility": True}],
                "children": [
                    {
                        "child_id": CHILD_ID,
                        "case_id": CASE_ID,
                        "conference_id": CONFERENCE_ID,
                        "plan_id": PLAN_ID,
                        "categories": ["neglect"],
                        "first_core_group_on": "2098-12-08",
                        "key_worker": {"user": SW, "name": "Sam Social"},
                        "step_down": None,
                        "child": CHILD,
                        "plan": {**SNAPSHOT, "status": "outline", "plan_version": 1},
                    }
                ],
            },
        },
    }
    assert {j["kind"] for j in made.values()} == set(KINDS)  # every kind docs makes
    return made


@pytest.fixture(scope="module")
def docs():
    return Documents(Plugins(["england"]), {"code": "ENG", "name": "England", "contacts": []})


def render(docs, job, **kw):
    kw.setdefault("people", PEOPLE)
    return docs.html(
        job,
        deadlines=DEADLINES,
        conferences=CONFERENCES,
        conference={
            "_id": CONFERENCE_ID,
            "kind": "review",
            "on": "2099-02-01",
            "chair": {"user": CHAIR, "name": "Chris Chair"},
        },
        **kw,
    )


def text_of(html):
    return " ".join(visible_text(html).split())


def meetings(text):
    """The family plan's section on the next meetings."""
    return text.split(ENGLISH["meetings"])[1].split(ENGLISH["not_working"])[0]


def pdf_text(docs, html, tmp_path: Path) -> str:
    (tmp_path / "doc.pdf").write_bytes(document_pdf(html, "doc:pdf"))
    return subprocess.run(
        ["pdftotext", str(tmp_path / "doc.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_the_pattern_finds_ids():
    assert ID_SHAPED.search(f"Plan {an_id()} (child") and ID_SHAPED.search(f"Meeting {uuid.uuid4()}")
    assert not ID_SHAPED.search("Sam Social, 020 7946 0000, #1d4f91, 2099-01-26")


@pytest.mark.parametrize("name", list(jobs()))
def test_no_document_shows_an_id_and_every_document_names_the_child(docs, name, tmp_path):
    html = render(docs, jobs()[name], today=date(2098, 12, 24))
    for where, text in (("html", html), ("pdf", pdf_text(docs, html, tmp_path))):
        assert not ID_SHAPED.findall(text), (where, ID_SHAPED.findall(text))
        assert "Ana Parent" in " ".join(text.split()), where
    assert "not named in the record" not in html
    assert "a member of staff" not in text_of(html)  # everyone it mentions is in the directory


def test_staff_appear_by_name_from_the_directory_or_as_a_member_of_staff(docs):
    every = jobs()
    plan = text_of(render(docs, every["professional_plan"]))
    assert "at a core group meeting by Sam Social" in plan
    # Who acts on each deadline: the person, with the role; the role alone when nobody holds it yet.
    assert "Sam Social (social worker)" in plan and "Chris Chair (chair)" in plan  # a ref holding only an id
    assert "Team manager" in plan
    report = text_of(render(docs, every["conference_report"]))
    assert "Written by. Sam Social." in report and "Countersigned. by Tia Manager on" in report
    record = text_of(render(docs, every["conference_record"]))
    assert "Chaired by. Chris Chair." in record
    # Someone the directory does not know: never their user id.
    unknown = text_of(render(docs, every["conference_report"], people={}))
    assert "Written by. a member of staff." in unknown and SW not in unknown


def test_an_action_names_its_outcome_by_what_it_is_never_by_a_missing_outcomes_id(docs):
    text = text_of(render(docs, jobs()["professional_plan"]))
    assert CONTENT["outcomes"][0]["description"] in text
    assert not any(a["outcome_id"] in text for a in CONTENT["actions"])


def test_a_date_of_birth_has_no_weekday(docs):
    assert birth_day("2019-05-31") == "31 May 2019" and birth_day("2019-05-31", "pl") == "31.05.2019"
    for name in ("professional_plan", "core_group_record", "conference_record", "conference_report"):
        text = text_of(render(docs, jobs()[name]))
        assert "Ana Parent, born 31 May 2019" in text and "Friday" not in text, name


@pytest.mark.parametrize("name", ["family_plan", "family_report"])
def test_family_members_are_listed_apart_from_the_people_who_work_with_the_family(docs, name):
    text = text_of(render(docs, jobs()[name]))
    who = text.split(ENGLISH["who_intro"])[1]
    workers, family = who.split(ENGLISH["family_intro"])
    assert "Hana Visitor" in workers and "health visitor, NHS" in workers
    assert "Alex Parent" not in workers and " family " not in f" {workers} "  # no mother with the job "family"
    assert family.lstrip().startswith("Alex Parent (mother)")


def test_a_family_plan_made_after_its_next_review_date_says_what_happens_next(docs):
    family = jobs()["family_plan"]  # next review 1 February 2099; a review conference booked for that day
    before = meetings(text_of(docs.html(family, conferences=CONFERENCES, today=date(2099, 1, 10))))
    assert "The next review of the plan is on Sunday 1 February 2099." in before
    assert "Review meeting: Sunday 1 February 2099." in before

    # Made in the December after: neither the past review date nor the past meeting, but what happens next.
    after = meetings(text_of(docs.html(family, conferences=CONFERENCES, today=date(2099, 12, 1))))
    assert "2099" not in after
    assert ENGLISH["review_due"] in after

    # A review conference booked for a day to come is what happens next: its date, no "due" line.
    booked = [{"kind": "review", "on": "2099-12-14", "status": "scheduled"}]
    text = meetings(text_of(docs.html(family, conferences=booked, today=date(2099, 12, 1))))
    assert "Review meeting: Monday 14 December 2099." in text and ENGLISH["review_due"] not in text
    assert "1 February 2099" not in text


def test_a_family_report_made_after_its_meeting_says_the_meeting_was(docs):
    report = jobs()["family_report"]
    conference = {"kind": "review", "on": "2099-02-01"}
    assert "The meeting is on Sunday 1 February 2099." in text_of(
        docs.html(report, conference=conference, today=date(2099, 1, 20))
    )
    assert "The meeting was on Sunday 1 February 2099." in text_of(
        docs.html(report, conference=conference, today=date(2099, 3, 1))
    )


def test_a_professional_plan_made_after_its_next_review_date_says_it_has_passed(docs):
    text = text_of(docs.html(jobs()["professional_plan"], people=PEOPLE, today=date(2099, 12, 1)))
    assert "Next review. Sunday 1 February 2099: this date has passed, the review is due." in text


def test_nothing_a_person_reads_quotes_an_internal_reference():
    import cpp_docs

    root = Path(cpp_docs.__file__).parent
    for path in [*root.glob("templates/*.html"), root / "domain" / "phrases.py"]:
        assert not re.search(r"\bseeds? \d{3}\b", path.read_text(), re.I), path
    assert not any(re.search(r"\bseed\b", text, re.I) for text in ENGLISH.values())
