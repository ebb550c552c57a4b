"""Scotland: the National Guidance for Child Protection in Scotland defaults, used alone.

Deploy with ``CPP_PLUGINS=scotland``. Sources:

- Scottish Government, National Guidance for Child Protection in Scotland
  2021, updated 2023, Appendix D, "Timescales for stages in child protection
  processes" (gov.scot/publications/national-guidance-child-protection-
  scotland-2021-updated-2023/pages/12), with paragraph numbers from the 2021
  version 1.0 text, as gathered in the platform's timescales research
  (TIMESCALES.md, section 2).
- Children's Hearings (Scotland) Act 2011, s.60: the local authority's duty
  to give the Principal Reporter information where a compulsory supervision
  order might be necessary.

The 2014 guidance (initial case conference within 21 calendar days, first
review within 3 months) is superseded and not used.

Every rule cites where its figure comes from and how firmly it is
established (V: primary source seen; V2: only a local restatement seen; U:
unverified), as graded in the platform's timescales research.
"""

from __future__ import annotations

from cpp_shared.hookspecs import (
    ENQUIRIES_INITIATED,
    INITIAL_CONFERENCE_PLAN_REQUIRED,
    NO_CONFERENCE,
    NOT_PRE_BIRTH,
    PRE_BIRTH,
    REVIEW_CONTINUES_PLAN,
    hookimpl,
)

NG = "National Guidance for Child Protection in Scotland 2021 (updated 2023)"


@hookimpl
def cpp_layer():
    return "jurisdiction"  # a jurisdiction's set: deployed first, a council's layer after it


@hookimpl
def cpp_authority():
    return {
        "code": "SCT",
        "name": "Scotland (National Guidance for Child Protection defaults)",
        "jurisdiction": "scotland",
        "calendar": {"country": "GB", "subdiv": "SCT"},
        "timezone": "Europe/London",
        "contacts": [],
    }


# What the scheduler listens for (events of the plans service). The
# platform's strategy discussion stands for the inter-agency referral
# discussion (IRD); an enquiry outcome without a conference stands for the
# IRD's decision that no CPPM is required.
NO_CPPM = NO_CONFERENCE


@hookimpl
def cpp_timescales():
    return [
        {
            "id": "initial-conference",
            "name": "Initial child protection planning meeting (CPPM)",
            "trigger": "strategy_discussion.held.v1",
            "when": {**ENQUIRIES_INITIATED, **NOT_PRE_BIRTH},
            "anchor": "held_on",
            "offset": {"amount": 28, "unit": "calendar_days", "direction": "after"},
            "deadline": "initial_conference",
            "owner": "social_worker",
            "met_by": "conference.held.v1",
            "met_when": {"kind": "initial"},
            "cancelled_by": NO_CPPM,
            "reminder_days": 5,
            "source": f'{NG}, Appendix D: "a CPPM will follow within 28 calendar days ... unless there is an IRD '
            'decision that this is not required" (V: Appendix D, 2023); counted from the inter-agency referral '
            "discussion, recorded here as the strategy discussion",
        },
        {
            # An unborn child: the same 28 days from the concern, and never later than 28 weeks of gestation, which
            # is 12 weeks before the expected date of birth (taken at 40 weeks).
            "id": "pre-birth-conference",
            "name": "Pre-birth child protection planning meeting (CPPM)",
            "trigger": "strategy_discussion.held.v1",
            "when": {**ENQUIRIES_INITIATED, **PRE_BIRTH},
            "anchor": "held_on",
            "offset": {"amount": 28, "unit": "calendar_days", "direction": "after"},
            "earliest_of": [
                {
                    "anchor": "expected_date_of_birth",
                    "offset": {"amount": 12, "unit": "weeks", "direction": "before"},
                }
            ],
            "deadline": "initial_conference",
            "owner": "social_worker",
            "met_by": "conference.held.v1",
            "met_when": {"kind": "initial"},
            "cancelled_by": NO_CPPM,
            "reminder_days": 5,
            "source": f'{NG}, para 3.142 and Appendix D: a pre-birth CPPM "within 28 calendar days of the concern '
            'being raised and always within 28 weeks of gestation" (V); the concern counted from the inter-agency '
            "referral discussion, recorded here as the strategy discussion, and 28 weeks of gestation as 12 weeks "
            "before the expected date of birth",
        },
        {
            # Appendix D (2023) says 15 working days; the 2021 v1.0 text, para
            # 3.137, says only "within 15 days of the CPPM". The updated
            # Appendix D is followed.
            "id": "first-core-group",
            "name": "First child protection core group meeting",
            "trigger": "conference.held.v1",
            "when": INITIAL_CONFERENCE_PLAN_REQUIRED,
            "anchor": "held_on",
            "offset": {"amount": 15, "unit": "working_days", "direction": "after"},
            "deadline": "first_core_group",
            "owner": "social_worker",
            "met_by": "core_group.held.v1",
            "reminder_days": 3,
            "source": f"{NG}, Appendix D: first core group within 15 working days of the CPPM (V: Appendix D, 2023). "
            'The 2021 v1.0 text, para 3.137, says "the first time being within 15 days of the CPPM" without '
            '"working": the two versions are inconsistent and the 2023 Appendix D is followed',
        },
        {
            "id": "first-review-conference",
            "name": "Review child protection planning meeting",
            "trigger": "conference.held.v1",
            "when": {**INITIAL_CONFERENCE_PLAN_REQUIRED, **NOT_PRE_BIRTH},
            "anchor": "held_on",
            "offset": {"amount": 6, "unit": "months", "direction": "after"},
            "deadline": "review_conference",
            "owner": "chair",
            "met_by": "conference.held.v1",
            "met_when": {"kind": "review"},
            "reminder_days": 10,
            "source": f'{NG}: "Review CPPMs should be held within six months of the CPPM" (V2: the national text '
            "as reproduced in Highland Interagency Child Protection Procedures 2024 and NHS Grampian/Aberdeen "
            "Appendix C; the Appendix D line itself was not seen whole). Not 3 months: that was the superseded "
            "2014 rule",
        },
        {
            "id": "pre-birth-review-conference",
            "name": "Pre-birth review child protection planning meeting",
            "trigger": "conference.held.v1",
            "when": {**INITIAL_CONFERENCE_PLAN_REQUIRED, **PRE_BIRTH},
            "anchor": "held_on",
            "offset": {"amount": 3, "unit": "months", "direction": "after"},
            "deadline": "review_conference",
            "owner": "chair",
            "met_by": "conference.held.v1",
            "met_when": {"kind": "review"},
            "reminder_days": 10,
            "source": f'{NG}, para 3.143: "A review may be held within three months of the previous CPPM", using '
            "professional judgement about its timing after the birth (V: para 3.143; Appendix D fragment). The "
            "guidance says may: the deadline is the latest the review is expected, not a statutory limit",
        },
        {
            "id": "later-review-conference",
            "name": "Review child protection planning meeting",
            "trigger": "conference.held.v1",
            "when": REVIEW_CONTINUES_PLAN,
            "anchor": "held_on",
            "offset": {"amount": 6, "unit": "months", "direction": "after"},
            "deadline": "review_conference",
            "owner": "chair",
            "met_by": "conference.held.v1",
            "met_when": {"kind": "review"},
            "reminder_days": 10,
            "source": f'{NG}: "Thereafter, reviews should take place six-monthly" (V2: the national text as '
            "reproduced in Highland Interagency Child Protection Procedures 2024)",
        },
        {
            # Keyed by the conference: a meeting moved before its invitations went gets a new date for them; one
            # moved after keeps them as given. A meeting held without invitations recorded asks no more.
            "id": "cppm-notice",
            "name": "Invitations to the child protection planning meeting (5 calendar days' notice)",
            "trigger": ["conference.scheduled.v1", "conference.rescheduled.v1"],
            "anchor": "scheduled_for",
            "key": "conference_id",
            "offset": {"amount": 5, "unit": "calendar_days", "direction": "before"},
            "deadline": "conference_notice",
            "owner": "chair",
            "met_by": "conference.invitations_sent.v1",
            "met_on": "sent_on",
            "cancelled_by": [{"event": "conference.cancelled.v1"}, {"event": "conference.held.v1"}],
            "reminder_days": 2,
            "source": f'{NG}, Appendix D and para 3.131: notice to participants of "5 calendar days (wherever '
            'possible)" (V); counted back from the day the meeting is scheduled for',
        },
        {
            "id": "inquorate-reconvened",
            "name": "Inquorate child protection planning meeting reconvened",
            "trigger": "conference.inquorate.v1",
            "anchor": "met_on",
            "key": "conference_id",
            "offset": {"amount": 10, "unit": "working_days", "direction": "after"},
            "deadline": "conference_reconvened",
            "owner": "chair",
            "met_by": "conference.held.v1",
            "met_on": "held_on",
            "cancelled_by": [{"event": "conference.cancelled.v1"}],
            "reminder_days": 3,
            "source": f'{NG}, Appendix D: an inquorate CPPM reconvened "within 10 working days" (V); counted from '
            "the day the meeting that was not quorate met",
        },
        {
            "id": "cppm-record",
            "name": "Record of the child protection planning meeting issued",
            "trigger": "conference.held.v1",
            "anchor": "held_on",
            "key": "conference_id",
            "offset": {"amount": 10, "unit": "working_days", "direction": "after"},
            "deadline": "conference_record",
            "owner": "chair",
            "met_by": "conference.record_issued.v1",
            "met_on": "issued_on",
            "reminder_days": 3,
            "source": f'{NG}, Appendix D: the CPPM record issued "within 10 working days" (V); counted from the day '
            "the meeting was held",
        },
        {
            # Counted from the day the core group noticed the change; one deadline per change, met on the day the
            # chair is told.
            "id": "significant-change-to-chair",
            "name": "Significant change referred to the chair",
            "trigger": "significant_change.recorded.v1",
            "anchor": "noticed_on",
            "key": "change_id",
            "offset": {"amount": 3, "unit": "calendar_days", "direction": "after"},
            "deadline": "significant_change_referral",
            "owner": "social_worker",
            "met_by": "significant_change.referred.v1",
            "met_on": "told_on",
            "reminder_days": 1,
            "source": f"{NG}, Appendix D and para 3.137: the core group refers a significant change in the child's "
            'circumstances to the chair, "always within 3 calendar days" (V)',
        },
        {
            # "Straight away" is taken as the same working day: 0 working days
            # from the day the decision to refer was taken (the CPPM's date when
            # the meeting decided it), met when the referral made is recorded.
            "id": "reporter-referral",
            "name": "Referral to the Principal Reporter",
            "trigger": "escalation.raised.v1",
            "when": {"route": "childrens_reporter"},
            "anchor": "decided_on",
            "key": "escalation_id",
            "offset": {"amount": 0, "unit": "working_days", "direction": "after"},
            "deadline": "reporter_referral",
            "owner": "social_worker",
            "met_by": "escalation.referral_made.v1",
            "met_on": "made_on",
            "reminder_days": 0,
            "source": f'{NG}, para 3.133: "Any decision to refer to the Principal Reporter should be actioned '
            "straight away.\" (V); the duty to refer: Children's Hearings (Scotland) Act 2011, s.60 (V)",
        },
    ]


@hookimpl
def cpp_escalation_routes():
    return [
        {
            "id": "childrens_reporter",
            "name": "Refer to the Principal Reporter (Children's Reporter)",
            "description": "Compulsory measures of supervision may be needed: give the Principal Reporter the "
            "information the local authority has about the child, for a children's hearing to be "
            "considered.",
            "recipient": {
                "name": "Principal Reporter (Scottish Children's Reporter Administration)",
                "kind": "external",
            },
            "source": "Children's Hearings (Scotland) Act 2011, s.60: \"the local authority must give any information "
            f'that it has about the child to the Principal Reporter" (V); {NG}, para 3.133: every CPPM '
            "considers a referral, acted on straight away (V)",
        },
    ]


@hookimpl
def cpp_conference_quorum():
    return {
        "min_agencies": 3,
        "source": f"{NG}, para 3.131: a CPPM must include representation from the core agencies, social work, "
        "health and police (V); that three agencies make its quorum is read from them (U: the Guidance gives no "
        "number)",
    }


@hookimpl
def cpp_terminology():
    # The National Guidance's words: "Child Protection Planning Meeting" (Part
    # 3, Child Protection Planning Meetings), "child protection investigation"
    # (para 3.35, "is an inter-agency child protection investigation
    # required?", and the Part 3 process chart, 2021 v1.0 p.130), "Child
    # Protection Core Group" (the same chart) and the local authority's child
    # protection register (paras 1.87-1.88).
    return {
        "initial_conference": "initial child protection planning meeting",
        "review_conference": "review child protection planning meeting",
        "pre_birth_conference": "pre-birth child protection planning meeting",  # para 3.142: "pre-birth CPPM"
        # a child on a plan who moves in from another area: a planning meeting like the others
        "transfer_in_conference": "transfer-in child protection planning meeting",
        "enquiries": "child protection investigation",
        "plan": "child protection plan",
        "core_group": "child protection core group",
        "register": "on the child protection register",
        "categories": "areas of concern",  # paras 1.87-1.88: "record the areas of concern"
    }


@hookimpl
def cpp_categories():
    # Scotland registers no category of abuse: "No category of registration
    # is needed; record the areas of concern" (National Guidance, paras 1.87-1.88, as
    # TIMESCALES.md section 2 gives them). The areas are Part 4's, "Specific
    # Support Needs and Concerns" (2023 contents), in its words; a council
    # adds or drops one by id. None has a census code: England's census does
    # not apply.
    return [
        {"id": area_id, "name": name}
        for area_id, name in (
            ("domestic_abuse", "Domestic abuse"),
            ("parental_alcohol_and_drug_use", "Parental alcohol and drug use"),
            ("neglect", "Neglect"),
            ("emotional_abuse", "Emotional abuse"),
            ("physical_abuse", "Physical abuse"),
            ("child_sexual_abuse", "Child sexual abuse"),
            ("child_sexual_exploitation", "Child sexual exploitation"),
            ("child_criminal_exploitation", "Child criminal exploitation"),
            ("parental_mental_health", "Impact of parental mental health or health problems"),
            ("parental_learning_disability", "Parents with learning disabilities"),
            ("hard_to_engage", "Services find it hard to engage with the family"),
            ("suicide_and_self_harm", "Suicide and self-harm"),
            ("online_safety", "Online safety"),
            ("harmful_sexual_behaviour", "Harmful sexual behaviour by children"),
            ("female_genital_mutilation", "Female genital mutilation"),
            ("honour_based_abuse_and_forced_marriage", "Honour-based abuse and forced marriage"),
            ("fabricated_or_induced_illness", "Fabricated or induced illness"),
        )
    ]


@hookimpl
def cpp_retention_rules():
    # No retention period for Scotland's child protection records was found in the sources searched (U), and England's
    # figures are one English council's each: this set gives none, so nothing is due for erasure until the council's
    # own plugin states its schedule (cpp_retention_rules, by record type: docs/retention.md).
    return []
