"""Bromley: the London Borough of Bromley's local rules, layered after england.

Deploy with ``CPP_PLUGINS=england,bromley``: England's Working Together
defaults apply except where this plugin answers. Source: the Bromley
Safeguarding Children Board leaflet "Protecting Children & Young People
Through Child Protection Plans: Information for Families" (the platform's
seed 002), which gives the board's contact details and the first core group
timescale; and the London Child Protection Procedures, 4.1.22, as Bromley
quotes them, for the first review of a pre-birth plan (10 days after the
birth, 20 when the mother is unfit to attend).

Every rule cites where its figure comes from and how firmly it is
established (V: primary source seen; V2: only a local restatement seen; U:
unverified), as graded in the platform's timescales research.
"""

from __future__ import annotations

from cpp_shared.hookspecs import hookimpl

LONDON_PROCEDURES = "London Child Protection Procedures, 4.1.22 (as quoted by Bromley)"
LONDON_VISITS = "London Child Protection Procedures, Part A, section 5, implementation of child protection plans"
LEAFLET = (
    "Bromley Safeguarding Children Board, Protecting Children & Young People Through Child Protection "
    "Plans: Information for Families"
)


@hookimpl
def cpp_layer():
    return "council"  # a council's layer, after its jurisdiction's set


@hookimpl
def cpp_builds_on():
    return ["england"]


@hookimpl
def cpp_authority():
    return {
        "code": "BRM",
        "la_number": "305",  # the DfE's number for the council: its census's LEA (U: not checked against the DfE's list)
        "name": "London Borough of Bromley",
        "jurisdiction": "england",
        "calendar": {"country": "GB", "subdiv": "ENG"},
        "timezone": "Europe/London",
        "contacts": [
            {
                "name": "Bromley Safeguarding Children Board",
                "role": "Local safeguarding children board: information for families about child protection plans "
                "(St Blaise, B40a, Civic Centre, Stockwell Close, Bromley BR1 3UH)",
                "phone": "020 8461 7816",
                "email": "BSCB@bromley.gov.uk",
            },
        ],
    }


@hookimpl
def cpp_document_branding():
    # The board's contact block, as the leaflet prints it, on every family version of a plan.
    return {
        "organisation": "London Borough of Bromley",
        "contact_block": {
            "title": "Bromley Safeguarding Children Board",
            "address": ["St Blaise, B40a, Civic Centre", "Stockwell Close, Bromley BR1 3UH"],
            "phone": "020 8461 7816",
            "fax": "020 8313 4324",
            "email": "BSCB@bromley.gov.uk",
        },
        "footer": "London Borough of Bromley. Protecting Children & Young People Through Child Protection Plans. "
        "This document is confidential.",
    }


# England sets no national timescale for the first review of a pre-birth plan; London's procedures do, with a
# longer one when the mother is unfit to attend. Which applies is what the pre-birth conference recorded
# (mother_unfit_to_attend, carried by the birth's event).
PRE_BIRTH_FIRST_REVIEW_SOURCE = (
    f"{LONDON_PROCEDURES}: the first review of a pre-birth plan within 10 days of birth (20 days if the mother is "
    "unfit to attend) (V2: local, Bromley quoting the London procedures; no national rule in England). Whether the "
    "mother is unfit to attend is recorded when the pre-birth conference is scheduled"
)


def _pre_birth_first_review(id_: str, name: str, *, days: int, mother_unfit_to_attend: bool | list) -> dict:
    return {
        "id": id_,
        "name": name,
        "trigger": "child.born.v1",
        "when": {"on_plan": True, "mother_unfit_to_attend": mother_unfit_to_attend},
        "anchor": "born_on",
        "offset": {"amount": days, "unit": "calendar_days", "direction": "after"},
        "deadline": "review_conference",
        "owner": "chair",
        "met_by": "conference.held.v1",
        "met_when": {"kind": "review"},
        "reminder_days": 3,
        "source": PRE_BIRTH_FIRST_REVIEW_SOURCE,
    }


@hookimpl
def cpp_timescales():
    return [
        {
            # Changes only the name and the citation of england's rule of the same id: the figure is the same,
            # the citation is Bromley's own.
            "id": "first-core-group",
            "extends": True,
            "name": "First core group meeting (Bromley: within ten working days of the conference)",
            "source": f'{LEAFLET}: "The Core Group should meet with you within ten working days of the Conference '
            'to agree a detailed Child Protection Plan, and regularly thereafter according to the agreed plan" '
            "(V: the board's own published leaflet; it restates the national 10 working days, itself V2). The "
            "plan's frequency no looser than England's every 6 weeks (V2: Tees CPP; every 4 weeks where the plan "
            "states none is the platform's default, U)",
        },
        {
            # England's visits, every 10 working days; the child seen alone at least on alternate visits.
            "id": "child-visit",
            "extends": True,
            "seen_alone_within": 2,
            "source": "Visits at the frequency the plan sets, no looser than every 10 working days: England's rule "
            "(no national frequency was found, U; every 10 working days is a local minimum, V2: Liverpool CS, "
            "Central Bedfordshire, Camden; the platform's default). "
            f'{LONDON_VISITS}: the lead social worker sees the child "as agreed in the Child Protection Plan" and '
            '"on their own on at least alternate occasions" (V2: Southwark 1.2.13 quoting the London procedures): '
            "two visits in a row without the child seen alone are flagged",
        },
        _pre_birth_first_review(
            "pre-birth-first-review",
            "First review conference of a pre-birth plan (within 10 days of the birth)",
            days=10,
            mother_unfit_to_attend=[False, None],
        ),
        _pre_birth_first_review(
            "pre-birth-first-review-mother-unfit",
            "First review conference of a pre-birth plan, the mother unfit to attend (within 20 days of the birth)",
            days=20,
            mother_unfit_to_attend=True,
        ),
    ]
