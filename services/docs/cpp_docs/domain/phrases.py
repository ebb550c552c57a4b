"""The family version's fixed wording, and how another language's is found.

The family version is written to the parents, in short sentences without
jargon, so that they know what the plan says they have to do, who is
involved and how to contact them (the people who work with them apart from
their own family), when the meetings are (and, once a date has passed,
what happens next rather than the past date), and that they can ask when
they do not understand. Its fixed wording is the phrase set below; a plugin gives
another language's with ``cpp_document_phrases(language)`` (see
``cpp_shared.hookspecs``). A phrase may hold ``{placeholders}``, filled by
the template, and the platform's terms as ``{plan}`` or ``{core_group}``,
filled with the deployment's words (``cpp_terminology``: "Your care and
support protection plan" in Wales); a key a plugin's set lacks falls back to
English.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from cpp_shared.plugins import Plugins
from cpp_shared.terminology import DEFAULTS, fill

ENGLISH_TAG = "en-GB"

ENGLISH: dict[str, str] = {
    "title": "Your {plan}",
    "for_family": "A plan for you and your family",
    "about_child": "This is about {name}.",
    "intro": "This plan is about keeping your child safe. It says what you need to do. "
    "It says what other people will do to help. Please read it and keep it.",
    "version": "This is version {version} of the plan. It was agreed on {day}.",
    "ended": "This plan ended on {day}.",
    "what_you_do": "What you need to do",
    "what_you_do_intro": "The plan says you need to do these things.",
    "nothing_for_you": "The plan does not ask you to do anything yet. Your key worker will tell you if this changes.",
    "what_others_do": "What other people will do",
    "col_what": "What",
    "col_why": "Why",
    "col_who": "Who",
    "col_by_when": "By when",
    "goals": "What we want for your child",
    "col_goal": "Goal",
    "col_check": "How we will check",
    "col_check_by": "Check by",
    "who": "Who is involved",
    "who_intro": "These people work with you and your child. You can call them.",
    "key_worker": "Your key worker is {name}.",
    "key_worker_role": "They are your main contact.",
    "phone": "Phone: {phone}",
    "email": "Email: {email}",
    "col_name": "Name",
    "col_job": "Job",
    "col_phone": "Phone",
    "col_email": "Email",
    "family_intro": "Your family in the group:",
    "meetings": "When the next meetings are",
    "meetings_intro": "Please come to every meeting. Your views matter. You can bring someone with you.",
    "next_review": "The next review of the plan is on {day}.",
    "review_due": "It is time for the next review of the plan. Your key worker will tell you the date of the meeting.",
    "first_core_group": "The first {core_group} meeting is on {day}.",
    "meeting_on": "{what}: {day}.",
    "review_conference": "Review meeting",
    "initial_conference": "First meeting",
    "transfer_in_conference": "First meeting with your new council",
    "no_dates": "Your key worker will tell you the dates of the next meetings.",
    "not_working": "What happens if the plan is not working",
    "not_working_intro": "The plan must keep your child safe. If it does not, this is what will happen:",
    "triggers": "This will happen if:",
    "not_working_default": "The group will meet again to change the plan. The council may ask a court to help.",
    "not_working_talk": "Your key worker will talk to you about it first, if it is safe to do so.",
    "help": "If you do not understand or you disagree",
    "help_ask": "Ask your key worker. You can ask as many times as you need.",
    "help_say": "You can say what you think at any meeting. What you say is written down.",
    "help_formats": "You can ask for this plan in large print, in your own language, or read out to you.",
    "help_interpreter": "You can ask for someone to speak your language at meetings.",
    "help_complain": "If you still disagree, you can make a complaint to the council.",
    "your_views": "What you told us",
    "learn_more": "To find out more, contact:",
    "fax": "Fax: {fax}",
    "report_title": "The report for the meeting about your child",
    "report_intro": "We wrote this report for the child protection meeting about your child. "
    "It says what we found when we looked into our worries.",
    "review_report_intro": "We wrote this report for the meeting that will look at your child's plan again. "
    "It says how things have gone since the last meeting.",
    "report_meeting": "The meeting is on {day}.",
    "report_meeting_was": "The meeting was on {day}.",
    "report_checked": "A manager checked the report on {day}.",
    "report_read_first": "Please read it before the meeting. It is important that you know what it says.",
    "report_found": "What we found",
    "report_seen": "When we saw your child",
    "report_seen_alone": "{day}: we saw your child on their own.",
    "report_seen_with": "{day}: we saw your child with someone else there.",
    "report_childs_views": "What your child told us",
    "report_plan": "The plan we will talk about at the meeting",
    "report_plan_intro": "This plan is not agreed yet. The people at the meeting will talk about it with you.",
    "report_talk": "Talk to us before the meeting",
    "report_talk_intro": "Your key worker will go through this report with you. You can ask about anything in "
    "it. If you think something is wrong, tell us before the meeting. We will write down "
    "what you say.",
    "letter_title": "What the meeting decided for your children",
    "letter_dear": "Dear {names},",
    "letter_intro": "We held a child protection meeting about your children on {day}. "
    "This letter tells you what the meeting decided for each child.",
    "letter_review_intro": "We held a meeting on {day} to look again at the plans for your children. "
    "This letter tells you what the meeting decided for each child.",
    "letter_plan_made": "The meeting decided that {name} needs a {plan}.",
    "letter_plan_continue": "The meeting decided that the {plan} for {name} goes on.",
    "letter_plan_revise": "The meeting decided to change the {plan} for {name}.",
    "letter_plan_end": "The meeting decided that the {plan} for {name} can end.",
    "letter_no_plan": "The meeting decided that {name} does not need a {plan}.",
    "letter_child_in_need": "We will still help {name}. We will do this with a child in need plan.",
    "letter_col_about": "About",
    "letter_col_what": "What the meeting decided",
    "letter_row_plan": "Plan",
    "letter_row_categories": "The {term}",
    "letter_row_key_worker": "Key worker",
    "letter_row_contact": "How to contact them",
    "letter_row_core_group": "First {core_group} meeting",
    "letter_plan_yes": "A {plan}",
    "letter_plan_no": "No {plan}. A child in need plan instead.",
    "letter_plan_none": "No {plan}.",
    "letter_contact_office": "Call or write to us. Our details are at the end of this letter.",
    "letter_core_group": "The {core_group} is a small group of people who work with you on the plan. "
    "Please come to its meetings.",
    "letter_next": "What happens next",
    "letter_copy": "You will get a copy of each plan. Your key worker will go through it with you.",
    "letter_from": "From {organisation}",
    "in_english": "This is in English. We do not have it in {language} yet. "
    "You can ask us to read it to you in {language}.",
}


@dataclass(frozen=True)
class PhraseSet:
    lang: str  # BCP 47: the document's lang attribute
    name: str
    phrases: dict[str, str]
    terms: dict[str, str] = field(default_factory=lambda: dict(DEFAULTS))  # the deployment's words

    def __call__(self, key: str, **values: Any) -> str:
        return fill(self.phrases.get(key) or ENGLISH[key], self.terms, **values)

    def worded(self, terms: dict[str, str]) -> PhraseSet:
        """The same phrases, their terms in the deployment's words."""
        return replace(self, terms=terms)


EN = PhraseSet(ENGLISH_TAG, "English", ENGLISH)


def is_english(language: str | None) -> bool:
    return not language or language.strip().lower() in ("en", "en-gb", "english", "en_gb", "en-us")


def phrase_set(plugins: Plugins, language: str | None) -> PhraseSet | None:
    """The phrase set for a family's first language (as the plan records it):
    English for English, a plugin's set when one answers, else None."""
    if language is None or is_english(language):
        return EN
    found = plugins.hook.cpp_document_phrases(language=language.strip())
    if not found:
        return None
    phrases = {k: str(v) for k, v in (found.get("phrases") or {}).items() if k in ENGLISH}
    return PhraseSet(str(found.get("lang") or language), str(found.get("name") or language), phrases)
