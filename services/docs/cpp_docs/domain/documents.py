"""What a document contains: the Jinja2 templates (autoescaped, overridable
by ``cpp_document_templates``), the branding (``cpp_document_branding``) and
the family wording (``cpp_document_phrases``) make its HTML; ``pdf.py``
makes the PDF of that HTML.

Kinds of document:

* ``outline_plan``: the plan an initial conference agreed (version 1);
* ``professional_plan``: every later agreed version, with every item of the
  plan, the version and who agreed it, the core group with contacts, the
  actions as a table, outcomes, monitoring, contingency plan, next review
  and the case's upcoming deadlines;
* ``family_plan``: the same plan written to the parents in plain language,
  in English and in the family's first language when a phrase set exists,
  and in large print when the plan asks for it;
* ``core_group_record``: a core group meeting, with the plan in force;
* ``conference_record``: a held conference's decision (plan needed or not,
  the first core group date; for a review: continue, revise or end) with
  the plan reviewed, whatever the decision;

Every title, heading and term is in the deployment's words
(``cpp_terminology``, England's where no plugin gives one): a Welsh plan is
a "Care and support protection plan", a Scottish conference record the
"Record of the initial child protection planning meeting".
* ``conference_report``: a report to conference as countersigned (the
  enquiry findings, the days the child was seen, the views, and the draft
  or updated plan), titled in the deployment's words (``cpp_terminology``);
* ``family_report``: the same report written to the parents, made when it
  is countersigned so that it can be shared with them before the meeting
  (a countersigned report no longer changes: it is the version shared);
* ``family_letter``: what a family conference decided, written to the
  people with parental responsibility by name about all the children of
  the conference, each child's part headed with their name: the plan made,
  continued, changed or ended, its categories in the deployment's words
  (``cpp_categories``, ``cpp_terminology``), the key worker and how to
  contact them and the first core group meeting; or that no plan is
  needed and the child in need plan that follows.

Documents name people, never ids: the child by name (as the job found
them: as of the document's version), staff by the names the staff
directory gives their user ids (``people``), meetings by kind and date.

Rendering is deterministic: the same job, templates, upcoming dates, names
and day of making (``today``: a family document says what happens next
rather than a date that has passed) give the same bytes (the PDF has no creation date and a file identifier
made from the document's key: ``pdf.py``), so a render repeated after a
crash writes the same file.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from importlib.resources import files
from typing import Any

from jinja2 import ChainableUndefined, ChoiceLoader, DictLoader, Environment, FileSystemLoader, select_autoescape

from cpp_shared.contracts.hook_answers import categories
from cpp_shared.plugins import Plugins
from cpp_shared.terminology import capital, fill, said, terminology

from .phrases import EN, ENGLISH_TAG, PhraseSet

KINDS = (
    "outline_plan",
    "professional_plan",
    "family_plan",
    "core_group_record",
    "conference_record",
    "conference_report",
    "family_report",
    "family_letter",
)
PLAN_KINDS = ("outline_plan", "professional_plan", "family_plan", "core_group_record")
FAMILY_KINDS = ("family_plan", "family_report", "family_letter")
REPORT_KINDS = ("conference_report", "family_report")
FORMATS = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}
# {plan}: the deployment's words for the platform's terms; {meeting}: the document's conference, of its kind
TITLES = {
    "outline_plan": "Outline {plan}",
    "professional_plan": "{Plan}",
    "core_group_record": "{Core_group} meeting record",
    "conference_report": "Report to the {meeting}",
    "conference_record": "Record of the {meeting}",
}
FAMILY_TITLES = {"family_plan": "title", "family_report": "report_title", "family_letter": "letter_title"}
AGREED_AT = {
    "initial_conference": "the {initial_conference}",
    "core_group_meeting": "a {core_group} meeting",
    "review_conference": "a {review_conference}",
    "change": "an agreed change",
}


def day(value: Any, lang: str = ENGLISH_TAG) -> str:
    """'Monday 2 March 2026' (English), '02.03.2026' otherwise; '' for nothing."""
    if not value:
        return ""
    d = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    if lang.lower().startswith("en"):
        return f"{d:%A} {d.day} {d:%B %Y}"
    return f"{d:%d.%m.%Y}"


def birth_day(value: Any, lang: str = ENGLISH_TAG) -> str:
    """A date of birth: '31 May 2019' (no weekday), '31.05.2019' outside English."""
    if not value:
        return ""
    d = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{d.day} {d:%B %Y}" if lang.lower().startswith("en") else f"{d:%d.%m.%Y}"


def _as_date(value: Any) -> date | None:
    if not value:
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


SOMEONE = "a member of staff"


def words(value: Any) -> str:
    """A code as words: 'not_started' -> 'Not started'."""
    if not value:
        return ""
    text = str(value).replace("_", " ")
    return text[:1].upper() + text[1:]


def frequency(value: Any) -> str:
    if isinstance(value, dict):
        every, unit = value.get("every"), value.get("unit", "")
        return f"every {unit.rstrip('s')}" if every == 1 else f"every {every} {unit}"
    return str(value or "")


NO_AGENCY = "No agency recorded"


def by_agency(attendees: Sequence[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """A conference's attendees grouped by agency (as first written, compared without case), in the order the
    agencies first appear; those without an agency last."""
    groups: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    for person in attendees:
        agency = (person.get("agency") or "").strip()
        key = agency.casefold() if agency else ""
        groups.setdefault(key, (agency or NO_AGENCY, []))[1].append(person)
    return sorted(groups.values(), key=lambda group: group[0] == NO_AGENCY)


def branding(plugins: Plugins, authority: dict[str, Any]) -> dict[str, Any]:
    contacts = authority.get("contacts") or []
    first = contacts[0] if contacts else {}
    base: dict[str, Any] = {
        "organisation": authority.get("name", ""),
        "accent_colour": "#1d4f91",
        "contact_block": {
            "title": first.get("name") or authority.get("name", ""),
            "address": [],
            "phone": first.get("phone"),
            "fax": None,
            "email": first.get("email"),
        },
        "footer": f"{authority.get('name', '')}. This document is confidential.",
    }
    base.update(plugins.merged("cpp_document_branding"))
    return base


class Documents:
    """The templates and branding of one deployment."""

    def __init__(self, plugins: Plugins, authority: dict[str, Any]):
        overrides = plugins.merged("cpp_document_templates")
        self.env = Environment(
            loader=ChoiceLoader([DictLoader(overrides), FileSystemLoader(str(files("cpp_docs") / "templates"))]),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=ChainableUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(words=words, frequency=frequency)
        self.branding = branding(plugins, authority)
        self.terminology = terminology(plugins)
        # A plan keeps the categories it was agreed with: one no longer offered is shown as its id in words.
        self.categories = {c["id"]: c["name"] for c in categories(plugins)}
        self.env.filters["category"] = lambda value: self.categories.get(value) or words(value)

    def html(
        self,
        job: dict[str, Any],
        *,
        phrases: PhraseSet = EN,
        deadlines: Sequence[dict[str, Any]] = (),
        conferences: Sequence[dict[str, Any]] = (),
        conference: dict[str, Any] | None = None,
        people: dict[str, str] | None = None,
        today: date | None = None,
    ) -> str:
        """The document's HTML. ``people``: the names of the user ids it
        mentions (from the staff directory; anyone else is "a member of
        staff", never their id); ``today``: the day it is made (a date
        before it has passed)."""
        kind = job["kind"]
        people = people or {}

        def person(user: Any) -> str:
            return (people.get(user) or SOMEONE) if user else ""

        def staff_name(ref: Any) -> str:
            """A reference to staff: the name it holds (as it was then), else the directory's."""
            if not isinstance(ref, dict) or not ref.get("user"):
                return ""
            name = ref.get("name")
            return name if name and name != ref["user"] else person(ref["user"])

        def passed(value: Any) -> bool:
            d = _as_date(value)
            return bool(d and today and d < today)

        plan = job.get("snapshot") or {}
        report = job.get("report") or {}
        content = (report.get("plan") or {}) if kind in REPORT_KINDS else plan.get("content") or {}
        lang = phrases.lang if kind in FAMILY_KINDS else ENGLISH_TAG
        actions = content.get("actions") or []
        core_group = content.get("core_group") or []
        conference = conference or {}
        held = job.get("conference") or {}
        review = job.get("report_kind") == "review_report" or held.get("kind") == "review"
        terms = self.terminology
        conference_term = (
            terms.get(f"{'review' if review else held.get('kind')}_conference") or terms["initial_conference"]
        )
        phrases = phrases.worded(terms)
        if kind in FAMILY_KINDS:
            title = phrases(FAMILY_TITLES[kind])
        else:
            title = fill(TITLES[kind], terms, meeting=conference_term)
        context = {
            "kind": kind,
            "title": title,
            "lang": lang,
            "large_print": bool(job.get("large_print")),
            "plan": plan,
            "content": content,
            "version": plan.get("plan_version"),
            "agreed": plan.get("agreed") or {},
            "agreed_at": fill(AGREED_AT.get((plan.get("agreed") or {}).get("at", ""), ""), terms),
            "meeting": job.get("meeting") or {},
            "deadlines": list(deadlines),
            "conferences": list(conferences),
            "outcomes": {o.get("id"): o for o in content.get("outcomes") or []},
            "family_actions": [a for a in actions if (a.get("who") or {}).get("kind") == "family_member"],
            "other_actions": [a for a in actions if (a.get("who") or {}).get("kind") != "family_member"],
            "brand": self.branding,
            "terms": terms,
            "term": lambda key, start=False: self.term(key, start=start),
            "said": lambda key, start=False: (capital if start else str)(said(key, terms)),
            "report": report,
            "family_members": [m for m in core_group if m.get("is_family_member")],
            "professionals": [m for m in core_group if not m.get("is_family_member")],
            "child": job.get("child") or plan.get("child") or {},
            "report_kind": job.get("report_kind"),
            "conference": conference,
            "conference_term": conference_term,
            "held": held,
            "by_agency": by_agency(held.get("attendees") or []),
            "no_agency": NO_AGENCY,
            "countersigned": next((st for st in report.get("steps") or [] if st.get("step") == "countersigned"), {}),
            "t": phrases,
            "day": lambda value: day(value, lang),
            "born": lambda value: birth_day(value, lang),
            "person": person,
            "staff_name": staff_name,
            "passed": passed,
            "today": today,
            "letter": job.get("letter") or {},
            # English made for a family whose language has no phrase set: the document says so.
            "english_for": job.get("english_for") if kind in FAMILY_KINDS else None,
        }
        return self.env.get_template(f"{kind}.html").render(**context)

    def term(self, key: str, *, start: bool = False) -> str:
        """The deployment's words for a term (``conference``: any conference); ``start``: as a heading's."""
        words = fill("{" + (capital(key) if start else key) + "}", self.terminology)
        return key.replace("_", " ") if words.startswith("{") else words
