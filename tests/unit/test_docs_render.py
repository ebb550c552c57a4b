"""The docs service's templates: every item of a plan in the professional
version, a family version that is easy to read, accessible HTML, phrase
sets, branding and template overrides from plugins."""

from __future__ import annotations

import hashlib
import re
import subprocess
from html.parser import HTMLParser

import pytest

from cpp_docs.domain.documents import Documents
from cpp_docs.domain.phrases import ENGLISH, phrase_set
from cpp_docs.domain.readability import scores, visible_text
from cpp_docs.pdf import document_pdf
from cpp_plans.api.plan_schemas import PlanContentSchema
from cpp_shared.hookspecs import hookimpl
from cpp_shared.plugins import Plugins

# The family version's reading level: a Flesch-Kincaid grade of 6 is a reading age of about 11-12.
MAX_FAMILY_GRADE = 6.0
MIN_FAMILY_EASE = 70.0

FULL = PlanContentSchema().dump(
    PlanContentSchema().load(
        {
            "key_worker": {
                "name": "Sam Social",
                "role": "social worker",
                "team": "Assessment team West",
                "phone": "020 7946 0000",
                "email": "sam.social@council.example",
            },
            "core_group": [
                {
                    "name": "Sam Social",
                    "role": "social worker",
                    "agency": "Children's services",
                    "is_family_member": False,
                    "phone": "020 7946 0000",
                },
                {
                    "name": "Hana Visitor",
                    "role": "health visitor",
                    "agency": "NHS",
                    "is_family_member": False,
                    "email": "hana.visitor@nhs.example",
                },
                {"name": "Alex Parent", "role": "mother", "is_family_member": True, "phone": "07700 900123"},
            ],
            "first_core_group_on": "2099-01-05",
            "categories": ["neglect", "emotional_abuse"],
            "concerns": "Home conditions and missed health appointments.",
            "causes_of_harm": ["Unsafe kitchen", "Missed immunisations"],
            "childs_needs": [{"need": "Speech therapy", "how_met": "Referral by the health visitor"}],
            "parents_needs": [{"need": "Help with budgeting", "how_met": "Family support worker visits"}],
            "outcomes": [
                {
                    "id": "safe-home",
                    "description": "Ana lives in a safe, clean home",
                    "term": "short",
                    "target_date": "2099-01-31",
                    "how_progress_judged": "Home visits find the home safe",
                },
                {
                    "id": "health",
                    "description": "Ana's health checks are up to date",
                    "term": "long",
                    "target_date": "2099-06-30",
                    "how_progress_judged": "GP records show every check",
                },
            ],
            "actions": [
                {
                    "id": "clean",
                    "what": "Clear the kitchen",
                    "why": "Hygiene risk",
                    "who": {"name": "Alex Parent", "kind": "family_member", "relationship": "mother"},
                    "by_when": "2099-01-15",
                    "outcome_id": "safe-home",
                },
                {
                    "id": "gp",
                    "what": "Book the missed jabs",
                    "why": "Ana is behind on her jabs",
                    "who": {"name": "Alex Parent", "kind": "family_member", "relationship": "mother"},
                    "by_when": "2099-01-20",
                    "outcome_id": "health",
                    "status": "in_progress",
                },
                {
                    "id": "refer",
                    "what": "Refer Ana for speech therapy",
                    "why": "Her speech is delayed",
                    "who": {"name": "Hana Visitor", "kind": "professional", "role": "health visitor"},
                    "by_when": "2099-01-10",
                    "outcome_id": "health",
                    "notes": "Waiting list of six weeks",
                },
            ],
            "interventions": [{"kind": "help_parent_or_carer", "description": "Parenting course at the family centre"}],
            "monitoring": [
                {
                    "who": "Hana Visitor",
                    "agency": "NHS",
                    "what": "Sees Ana at home",
                    "contact_type": "home_visit",
                    "frequency": {"every": 2, "unit": "weeks"},
                },
                {
                    "who": "Mr Teacher",
                    "agency": "Oak School",
                    "what": "Checks Ana is in school",
                    "contact_type": "school",
                    "frequency": "every school day",
                },
            ],
            "further_assessments": [
                {"assessment": "Parenting capacity assessment", "by_whom": "Sam Social", "by_when": "2099-02-15"}
            ],
            "review_arrangements": {
                "next_review_date": "2099-02-01",
                "how_progress_judged": "At the review conference",
            },
            "contingency_plan": {
                "plan": "A legal planning meeting is called",
                "triggers": ["Ana is found alone at home", "The kitchen is unsafe again"],
            },
            "childs_views": "Ana says she likes her new bed.",
            "familys_views": "We want help with the kitchen.",
            "accessibility": {
                "first_language": "English",
                "interpreter_needed": True,
                "interpreter_language": "BSL",
                "accessible_formats": ["large_print"],
                "cultural_considerations": "Halal food at meetings",
                "disability_adjustments": "Meetings on the ground floor",
            },
        }
    )
)

SNAPSHOT = {
    "plan_id": "plan-1",
    "case_id": "case-1",
    "child_id": "child-1",
    "status": "active",
    "plan_version": 2,
    "created_on": "2098-12-01",
    "activated_on": "2098-12-08",
    "ended": None,
    "agreed": {"by": "sw-1", "on": "2098-12-08", "at": "core_group_meeting"},
    "key_worker": {
        "name": "Sam Social",
        "role": "social worker",
        "team": None,
        "phone": "020 7946 0000",
        "email": None,
    },
    "categories": ["neglect", "emotional_abuse"],
    "content": FULL,
    "child": {"name": "Ana Parent", "date_of_birth": "2019-05-31", "nhs_number": None},
}
PEOPLE = {"sw-1": "Sam Social"}
DEADLINES = [
    {
        "name": "Core group meeting (every 6 to 9 weeks, #2)",
        "due_on": "2099-01-26",
        "latest_on": "2099-02-09",
        "owner": "social_worker",
        "status": "pending",
    }
]
CONFERENCES = [{"kind": "review", "on": "2099-02-01"}]


def job(kind, **kw):
    return {"_id": f"plan-1:{kind}", "kind": kind, "snapshot": SNAPSHOT, "large_print": False, **kw}


@pytest.fixture(scope="module")
def docs():
    return Documents(Plugins(["england"]), {"code": "ENG", "name": "England", "contacts": []})


class Outline(HTMLParser):
    """The headings, table headers and lang attribute of a page."""

    def __init__(self):
        super().__init__()
        self.lang, self.headings, self.ths, self.tables, self.theads = None, [], [], 0, 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        elif re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        elif tag == "th":
            self.ths.append(attrs.get("scope"))
        elif tag == "table":
            self.tables += 1
        elif tag == "thead":
            self.theads += 1


def outline(html):
    parser = Outline()
    parser.feed(html)
    return parser


def assert_accessible(html, lang):
    page = outline(html)
    assert page.lang == lang
    assert page.headings[0] == 1 and page.headings.count(1) == 1
    for before, after in zip(page.headings, page.headings[1:]):
        assert after <= before + 1, f"heading h{after} follows h{before}"
    assert page.ths and all(scope == "col" for scope in page.ths)
    assert page.tables == page.theads  # every table has its header row


def text_of(html):
    return " ".join(visible_text(html).split())


def test_the_professional_plan_has_every_item_of_the_plan(docs):
    html = docs.html(job("professional_plan"), deadlines=DEADLINES, conferences=CONFERENCES, people=PEOPLE)
    text = text_of(html)
    expected = [
        "Child protection plan",
        "Ana Parent, born 31 May 2019",
        "Version 2, agreed on Monday 8 December 2098 at a core group meeting by Sam Social",
        "Sam Social",
        "Assessment team West",
        "020 7946 0000",
        "sam.social@council.example",
        "Hana Visitor",
        "hana.visitor@nhs.example",
        "Alex Parent",
        "07700 900123",
        "Monday 5 January 2099",
        "Neglect, Emotional abuse",
        "Home conditions and missed health appointments.",
        "Unsafe kitchen",
        "Missed immunisations",
        "Speech therapy",
        "Referral by the health visitor",
        "Help with budgeting",
        "Family support worker visits",
        "Ana lives in a safe, clean home",
        "Home visits find the home safe",
        "Saturday 31 January 2099",
        "Ana's health checks are up to date",
        "GP records show every check",
        "Long",
        "Parenting course at the family centre",
        "Help parent or carer",
        "Sees Ana at home",
        "every 2 weeks",
        "Checks Ana is in school",
        "every school day",
        "Oak School",
        "Parenting capacity assessment",
        "Sunday 15 February 2099",
        "Next review date: Sunday 1 February 2099.",
        "At the review conference",
        "A legal planning meeting is called",
        "Ana is found alone at home",
        "The kitchen is unsafe again",
        "Ana says she likes her new bed.",
        "We want help with the kitchen.",
        "BSL",
        "Large print",
        "Halal food at meetings",
        "Meetings on the ground floor",
        "Core group meeting (every 6 to 9 weeks, #2)",
        "Monday 26 January 2099",
        "Review conference on",
    ]
    for action in FULL["actions"]:
        expected += [action["what"], action["why"], action["who"]["name"]]
    expected += ["Not started", "In progress", "Waiting list of six weeks", "Thursday 15 January 2099"]
    missing = [e for e in expected if e not in text]
    assert not missing, missing
    assert_accessible(html, "en-GB")


def test_the_outline_plan_and_the_core_group_record(docs):
    outline_html = docs.html(job("outline_plan"))
    assert "<h1>Outline child protection plan</h1>" in outline_html
    assert_accessible(outline_html, "en-GB")
    record = docs.html(
        job("core_group_record", meeting={"meeting_id": "m-1", "held_on": "2098-12-08", "detailed_plan_agreed": True}),
        deadlines=DEADLINES,
    )
    text = text_of(record)
    assert "Core group meeting record" in text and "Core group meeting, held on Monday 8 December 2098" in text
    assert "m-1" not in text and "plan-1" not in text  # the meeting and the plan by what they are, not their ids
    assert "Refer Ana for speech therapy" in text and "Core group meeting (every 6 to 9 weeks, #2)" in text
    assert_accessible(record, "en-GB")


def test_the_family_version_is_plain_and_easy_to_read(docs):
    html = docs.html(job("family_plan"), conferences=CONFERENCES)
    text = text_of(html)
    for wanted in (
        "What you need to do",
        "Clear the kitchen",
        "Book the missed jabs",
        "Who is involved",
        "Your key worker is Sam Social.",
        "Phone: 020 7946 0000",
        "When the next meetings are",
        "The next review of the plan is on Sunday 1 February 2099.",
        "Review meeting",
        "What happens if the plan is not working",
        "A legal planning meeting is called",
        "If you do not understand or you disagree",
        "Ask your key worker.",
        "We want help with the kitchen.",
    ):
        assert wanted in text, wanted
    # A family member's action is theirs; a professional's is listed apart.
    yours = text.split("What you need to do")[1].split("What other people will do")[0]
    assert "Clear the kitchen" in yours and "Refer Ana for speech therapy" not in yours
    for jargon in ("contingency", "core group members", "section 47", "categories of harm"):
        assert jargon not in text.lower()
    score = scores(html)
    assert score["flesch_kincaid_grade"] <= MAX_FAMILY_GRADE, score
    assert score["flesch_reading_ease"] >= MIN_FAMILY_EASE, score
    assert_accessible(html, "en-GB")


def test_large_print_is_a_larger_type_of_the_same_document(docs):
    normal = docs.html(job("family_plan"))
    large = docs.html(job("family_plan", large_print=True))
    assert "font-size: 11pt" in normal and "font-size: 18pt" in large
    assert text_of(normal) == text_of(large)


def test_what_a_plan_says_is_escaped(docs):
    hostile = {**SNAPSHOT, "content": {**FULL, "concerns": "<script>alert(1)</script>"}}
    html = docs.html({**job("professional_plan"), "snapshot": hostile})
    assert "<script>" not in html and "&lt;script&gt;" in html


class Polish:
    @hookimpl
    def cpp_document_phrases(self, language):
        if language.lower() in ("polish", "pl"):
            return {
                "lang": "pl",
                "name": "Polski",
                "phrases": {"title": "Twój plan ochrony dziecka", "what_you_do": "Co musisz zrobić"},
            }
        return None


def test_a_plugins_phrase_set_words_the_family_version_in_the_familys_language():
    plugins = Plugins(["england"], extra=[("polish-phrases", Polish())])
    assert phrase_set(plugins, "Welsh") is None
    assert phrase_set(plugins, "English").lang == "en-GB"
    polish = phrase_set(plugins, "Polish")
    assert (polish.lang, polish("title"), polish("help_ask")) == (
        "pl",
        "Twój plan ochrony dziecka",
        ENGLISH["help_ask"],
    )
    html = Documents(plugins, {"name": "England", "contacts": []}).html(job("family_plan"), phrases=polish)
    assert outline(html).lang == "pl"
    assert "<h1>Twój plan ochrony dziecka</h1>" in html and "<h2>Co musisz zrobić</h2>" in html
    assert "15.01.2099" in html  # dates in figures outside English


def test_branding_and_templates_come_from_plugins():
    bromley = Documents(Plugins(["england", "bromley"]), {"name": "London Borough of Bromley", "contacts": []})
    text = text_of(bromley.html(job("family_plan")))
    for line in (
        "Bromley Safeguarding Children Board",
        "St Blaise, B40a, Civic Centre",
        "Stockwell Close, Bromley BR1 3UH",
        "Phone: 020 8461 7816",
        "Fax: 020 8313 4324",
        "Email: BSCB@bromley.gov.uk",
    ):
        assert line in text, line

    class Override:
        @hookimpl
        def cpp_document_templates(self):
            return {
                "outline_plan.html": '{% extends "professional_plan.html" %}'
                "{% block title %}Council outline: {{ plan.plan_id }}{% endblock %}"
            }

    custom = Documents(Plugins(["england"], extra=[("override", Override())]), {"name": "E", "contacts": []})
    assert "<title>Council outline: plan-1</title>" in custom.html(job("outline_plan"))


def test_the_same_document_renders_to_the_same_bytes_as_a_tagged_pdf(docs, tmp_path):
    html = docs.html(job("professional_plan"))
    first, second = (
        document_pdf(html, "plan-1:professional_plan:pdf"),
        document_pdf(html, "plan-1:professional_plan:pdf"),
    )
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(second).hexdigest()
    (tmp_path / "plan.pdf").write_bytes(first)
    info = subprocess.run(["pdfinfo", str(tmp_path / "plan.pdf")], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Tagged:\s+yes$", info, re.M), info
    assert re.search(r"^Title:\s+Child protection plan$", info, re.M), info


@pytest.mark.parametrize(
    "ended, says",
    [
        (
            {"on": "2099-03-01", "conference_id": "c-2", "step_down": "child_in_need_plan"},
            "step-down to a child in need plan",
        ),
        (
            {
                "on": "2099-03-01",
                "conference_id": None,
                "step_down": None,
                "reason": "moved_to_another_council",
                "receiving_council": "Leeds City Council",
            },
            "(the child moved to Leeds City Council)",
        ),
        (
            {"on": "2099-03-01", "conference_id": None, "step_down": None, "reason": "left_the_uk"},
            "(the child left the UK)",
        ),
    ],
)
def test_the_professional_plan_says_how_the_plan_ended(docs, ended, says):
    html = docs.html({**job("professional_plan"), "snapshot": {**SNAPSHOT, "status": "ended", "ended": ended}})
    status = re.search(r"<dt>Status</dt><dd>(.*?)</dd>", html, re.S).group(1)
    assert "ended on" in status and says in status and "None" not in status


def letter_job(kind: str, children: list[dict]) -> dict:
    return {
        "_id": "fc-1:family_letter",
        "kind": "family_letter",
        "large_print": False,
        "letter": {
            "family_name": "Sample family",
            "kind": kind,
            "held_on": "2099-02-01",
            "people": [{"name": "Pat Sample", "parental_responsibility": True}],
            "children": children,
        },
    }


def test_a_review_letter_says_for_each_child_whether_the_plan_goes_on_changes_or_ends(docs):
    plan = {"content": {"key_worker": {"name": "Sam Social", "phone": "020 7946 0000"}, "categories": ["neglect"]}}
    child = {"plan_id": "p", "categories": ["neglect"], "plan": plan, "step_down": None}
    html = docs.html(
        letter_job(
            "review",
            [
                {**child, "child": {"name": "Amy Sample"}, "decision": "continue"},
                {**child, "child": {"name": "Ben Sample"}, "decision": "revise"},
                {**child, "child": {"name": "Cal Sample"}, "decision": "end", "step_down": "child_in_need_plan"},
            ],
        )
    )
    text = " ".join(visible_text(html).split())
    assert "Dear Pat Sample," in text and "We held a meeting on Sunday 1 February 2099" in text
    assert "the child protection plan for Amy Sample goes on." in text
    assert "decided to change the child protection plan for Ben Sample." in text
    cal = text.split("Cal Sample can end.")[1].split("What happens next")[0]
    assert "We will do this with a child in need plan." in cal
    assert "Neglect" not in cal and "Sam Social" not in cal  # an ended plan has no key worker to call
    assert scores(html)["flesch_kincaid_grade"] <= MAX_FAMILY_GRADE


def test_a_letter_names_categories_in_the_deployments_words():
    scotland = Documents(Plugins(["scotland"]), {"code": "SCT", "name": "Scotland", "contacts": []})
    concern, name = next(iter(scotland.categories.items()))
    child = {"plan_id": "p", "categories": [concern], "child": {"name": "Amy Sample"}, "plan": None}
    html = scotland.html(letter_job("initial", [child]))
    assert f"<td>The areas of concern</td><td>{name}</td>" in html
