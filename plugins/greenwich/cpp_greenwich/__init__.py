"""Greenwich: the Royal Borough of Greenwich's local rules, layered after england.

Deploy with ``CPP_PLUGINS=england,greenwich``: England's Working Together
defaults apply except where this plugin answers. Source: the Royal Borough
of Greenwich page "Child protection plans (2024)" (the platform's seed 001),
which sets the first core group within two weeks of the conference, later
core groups on a six to nine weekly cycle, and says a plan usually lasts no
longer than two years.

Escalation: seed 001's only route ("your local council might apply to the
court for a care order") is england's ``legal_planning`` route, which already
cites seed 001, so this plugin adds no route of its own.

Every rule cites where its figure comes from and how firmly it is
established (V: primary source seen; V2: only a local restatement seen; U:
unverified), as graded in the platform's timescales research.
"""

from __future__ import annotations

from cpp_shared.hookspecs import INITIAL_CONFERENCE_PLAN_REQUIRED, hookimpl

PAGE = "Royal Borough of Greenwich, Child protection plans (2024)"


@hookimpl
def cpp_layer():
    return "council"  # a council's layer, after its jurisdiction's set


@hookimpl
def cpp_builds_on():
    return ["england"]


@hookimpl
def cpp_authority():
    # Seed 001 names the Greenwich Safeguarding Children Board's website but
    # gives no telephone number or address, so no contact is listed.
    return {
        "code": "GRN",
        "la_number": "203",  # the DfE's number for the council: its census's LEA (U: not checked against the DfE's list)
        "name": "Royal Borough of Greenwich",
        "jurisdiction": "england",
        "calendar": {"country": "GB", "subdiv": "ENG"},
        "timezone": "Europe/London",
        "contacts": [],
    }


@hookimpl
def cpp_timescales():
    return [
        {
            # Replaces england's rule of the same id: two calendar weeks, then
            # the core group recurs every six to nine weeks.
            "id": "first-core-group",
            "name": "Core group meeting",
            "trigger": "conference.held.v1",
            "when": INITIAL_CONFERENCE_PLAN_REQUIRED,
            "anchor": "held_on",
            "offset": {"amount": 14, "unit": "calendar_days", "direction": "after"},
            "deadline": "first_core_group",
            "owner": "social_worker",
            "met_by": "core_group.held.v1",
            "met_on": "held_on",
            "recurrence": {"every": {"min": 6, "max": 9, "unit": "weeks"}},
            "plan_sets": "core_group",
            "reminder_days": 2,
            "source": f'{PAGE}: "The core group should meet with you within two weeks of the conference to agree a '
            "detailed child protection plan, and after that regularly on a six to nine weekly cycle in order to "
            "review it\" (V: the council's own published page; two weeks counted as 14 calendar days)",
        },
        {
            # Not a statutory limit: a prompt for the team manager to look at a
            # plan that has lasted longer than the council expects.
            "id": "plan-two-years",
            "name": "Plan in force for two years: manager review flag (not a statutory limit)",
            "trigger": "plan.created.v1",
            "anchor": "created_on",
            "offset": {"amount": 24, "unit": "months", "direction": "after"},
            "deadline": "plan_two_years",
            "owner": "team_manager",
            "met_by": "plan.ended.v1",
            "met_on": "ended.on",
            "reminder_days": 20,
            "source": f'{PAGE}: "Usually a child will require a child protection plan for no longer than two years" '
            "(V: the council's own published page; a local expectation flagged for the manager, not a "
            "statutory limit)",
        },
    ]
