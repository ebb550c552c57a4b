"""The plugin contract: every hook a council's plugin may implement.

A plugin is an installed package that registers a module (or object) under
the ``cpp.plugins`` entry-point group, e.g. in its pyproject.toml::

    [project.entry-points."cpp.plugins"]
    bromley = "cpp_bromley"

and implements some of the hooks below with ``@hookimpl``. A deployment picks
its plugins and their order with ``CPP_PLUGINS=england,bromley``: the
jurisdiction first, then the council. Later plugins override earlier ones:
for single-answer hooks the last plugin that answers wins; for list hooks a
later plugin's item replaces an earlier item with the same ``id``. A plugin
that has nothing to add answers None (or leaves the hook out).

Hooks return plain data (dicts and lists of dicts), never objects of the
services, so a plugin depends on nothing but ``cpp_shared.hookspecs`` (which
re-exports this module). An answer that cannot be used is a ``PluginError``
as the plugins load (``cpp_shared.contracts.hook_answers`` and
``cpp_shared.contracts.timescales``).
"""

from __future__ import annotations

from typing import Any

import pluggy

PROJECT = "cpp"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class PluginError(Exception):
    """A plugin named in CPP_PLUGINS is unknown, broken or invalid."""


# Conditions (a timescale's ``when``) on the events that start most clocks, for plugins to share.
#: an initial conference that decided a plan is needed (``conference.held.v1``), or the transfer-in conference of a
#: child who moved in from another council, which decides as an initial conference does and starts the same clocks
INITIAL_CONFERENCE_PLAN_REQUIRED: dict[str, Any] = {"kind": ["initial", "transfer_in"], "plan_required": True}
#: a review conference that kept the plan (continued it, or revised it) (``conference.held.v1``)
REVIEW_CONTINUES_PLAN: dict[str, Any] = {"kind": "review", "decision": ["continue", "revise"]}
#: a strategy discussion (or inter-agency referral discussion) that started the enquiries
ENQUIRIES_INITIATED: dict[str, Any] = {"initiated_enquiries": True}
#: about an unborn child: a pre-birth conference, or the strategy discussion before one (their events' pre_birth)
PRE_BIRTH: dict[str, Any] = {"pre_birth": True}
#: about a child born (the events of a conference that is not a pre-birth conference carry no pre_birth)
NOT_PRE_BIRTH: dict[str, Any] = {"pre_birth": [False, None]}
#: what cancels a clock that waits for an initial conference: enquiries that found none needed (a ``cancelled_by``)
NO_CONFERENCE: list[dict[str, Any]] = [{"event": "enquiry.completed.v1", "when": {"conference_required": False}}]

#: What a plugin is (``cpp_layer``): a jurisdiction's set, which comes first in CPP_PLUGINS, or a council's layer on it.
JURISDICTION = "jurisdiction"
COUNCIL = "council"
LAYERS = (JURISDICTION, COUNCIL)


@hookspec
def cpp_builds_on() -> list[str] | None:
    """Name the plugins this one builds on (a council's plugin on its
    jurisdiction's: ``["england"]``). Each must come before it in
    CPP_PLUGINS, or no service starts: without its base a council's plugin
    would silently give a thinner rule set. Its package depends on theirs.
    """


@hookspec
def cpp_layer() -> str | None:
    """Say what this plugin is: ``"jurisdiction"``, a jurisdiction's set
    (england, wales, scotland, northern_ireland, guernsey), or ``"council"``,
    a council's (or a Trust's) layer on one. A jurisdiction set named in
    CPP_PLUGINS after a plugin that is not one (``cardiff,england``) would
    override the council's answers with its own: the services log a
    warning as they start, and ``cpp plugins`` shows it. (A council layer
    that names its base in ``cpp_builds_on`` is refused outright in that
    order.)
    """


@hookspec(firstresult=True)
def cpp_authority() -> dict[str, Any] | None:
    """Describe the authority this deployment serves.

    Called once at start-up by every service. Return a dict::

        {
          "code": "ENG",                      # the authority code in tokens
          "name": "England (Working Together defaults)",
          "jurisdiction": "england",          # england|wales|scotland|northern_ireland|guernsey
          "calendar": {"country": "GB", "subdiv": "ENG"},   # python-holidays
          "timezone": "Europe/London",        # optional; what "today" means for deadlines
          "contacts": [{"name": ..., "role": ..., "phone": ..., "email": ...}],
          "la_number": "305",                 # optional; an English council's three-digit DfE local authority
                                              # number, the LEA of its Children in Need census
          "out_of_hours_phone": "...",        # optional; the out-of-hours (emergency duty) number
                                              # a partner's lookup gives
          "lookup_ended_plan_months": 12,     # optional, 0-120 (default 12); a partner's lookup tells of a
                                              # plan that ended within these months, older ones as no plan
          "looked_after_ends_plan": False,    # optional (default False); True where the council's procedures
                                              # end a plan when the child becomes looked after, so that a team
                                              # manager may end it for that reason without a review conference
          "overdue_escalation_working_days": {  # optional; the platform's default is 2 and 5
              "team_manager": 2,              # working days after a step is found overdue: to the team manager
              "service_manager": 5,           # working days after that: to the service manager
              "source": "...",                # optional; where the figures come from
          },
        }

    The last plugin in CPP_PLUGINS order that returns a dict wins, so a council
    plugin listed after its jurisdiction's plugin names the council.
    """


@hookspec(firstresult=True)
def cpp_identity(claims: dict[str, Any], identity: dict[str, Any]) -> dict[str, Any] | None:
    """Say who a signed-in person is where the deployment's claim settings
    cannot (``cpp_shared.claims``): e.g. roles from an identity provider's
    group ids and a directory lookup, or a team from a department claim.

    Called for every verified token with its ``claims`` and the ``identity``
    the settings read from them::

        {"user": ..., "roles": [...], "authority": ..., "name": ..., "email": ...,
         "team": ..., "manager": ...}

    Return None to keep it, or a dict of the keys to change (only those
    keys; ``roles`` a list of the platform's roles). The result is checked
    as the settings' is: no platform role, or the partner role with a staff
    role, refuses the token. The last plugin in CPP_PLUGINS order that
    returns a dict wins. It runs on every request: no network calls.
    """


@hookspec
def cpp_timescales() -> list[dict[str, Any]] | None:
    """Contribute timescale rules (statutory or local).

    Called as the plugins load (every service, ``cpp rules``), by the
    scheduler and by the documents. Return a list of rule dicts
    (``cpp_shared.contracts.timescales`` checks each as the plugins load, naming the
    plugin and field of any mistake: its events must be in the event
    catalogue and every field it reads in that event's data; the scheduler
    also refuses a rule waiting for an event it does not hear)::

        {
          "id": "first-core-group",           # a later plugin overrides by id
          "name": "First core group meeting", # shown to people
          "trigger": "conference.held.v1",    # the event(s) that start the clock (str or list)
          "when": {"kind": "initial", "plan_required": True},
                                              # optional: conditions on the trigger's data
                                              # (a value, or a list of allowed values)
          "anchor": "held_on",                # the date in the trigger's data (dotted path)
          "key": None,                        # optional: a data field naming what the deadline
                                              # hangs on (e.g. "conference_id"); a trigger with
                                              # the same key (a conference rescheduled) supersedes
                                              # the open deadline and recalculates it
          "offset": {"amount": 10, "unit": "working_days", "direction": "after"},
                                              # unit: working_days|calendar_days|weeks|months;
                                              # direction: after|before
          "deadline": "first_core_group",     # the kind of deadline created
          "owner": "social_worker",           # role responsible
          "met_by": "core_group.held.v1",     # the event(s) that meet it (str or list)
          "met_when": None,                   # optional: conditions on the meeting event's data
          "met_on": "held_on",                # the date in the meeting event's data (on time or late)
          "cancelled_by": [],                 # optional: [{"event": type, "when": {...}}] that make
                                              # it moot (an ended plan cancels every open deadline)
          "recurrence": None,                 # or {"every": {"min": 6, "max": 9, "unit": "weeks"}}:
                                              # once met, the next is due at the earliest from the
                                              # meeting date and overdue after the latest; or
                                              # {"norm": {"amount": 1, "unit": "months"},
                                              #  "limit": {"amount": 6, "unit": "weeks"}}: due at
                                              # the norm, overdue only after the limit
          "plan_sets": None,                  # optional: "visits" or "core_group", the item of the
                                              # plan's rhythm whose frequency counts the occurrences
                                              # (the recurrence: its default and loosest limit)
          "seen_alone_within": None,          # optional, on a visits rule: the child seen alone at
                                              # least once in this many visits (default and limit)
          "reminder_days": 2,                 # working days before the due date
          "source": "Working Together 2023 ...",   # citation shown to users
        }

    A rule whose source sets no timescale gives ``"offset": None``; the
    deadline is then created without a date and shown as needing one.
    """


@hookspec
def cpp_extra_closure_days() -> list[dict[str, Any]] | None:
    """Add the council's own closure days to the working-day calendar.

    The public holidays come from python-holidays, named by ``cpp_authority``'s
    ``calendar``; a council adds the days its offices close beyond them::

        [{"date": "2026-12-29", "name": "Council closure"},
         {"yearly": "12-24", "name": "Council closure (Christmas Eve)"},
         {"date": "2026-12-23", "name": "Offices close at noon", "half_day": True}]

    A closure is on a ``date`` or ``yearly`` (month and day, every year). A
    ``half_day`` is still a working day unless it says ``"day_lost": True``.
    Every plugin's days are added; the scheduler skips them as it skips
    weekends and public holidays, and names them in its explanations.
    """


@hookspec
def cpp_escalation_routes() -> list[dict[str, Any]] | None:
    """Offer the routes by which a plan that is not working is escalated.

    Called by the plans service when an escalation is recorded (an unknown
    route is refused, listing these). Return a list of::

        {
          "id": "early_review_conference",    # a later plugin overrides by id
          "name": "Convene an early review conference",
          "description": "...",
          "recipient": None,                  # or {"name": "Children's Convenor", "kind": "external"}
                                              # for routes that go outside the council
          "source": "Working Together 2023 ...",
        }
    """


@hookspec
def cpp_conference_quorum() -> dict[str, Any] | None:
    """Say how many agencies must attend a conference for it to decide.

    Called by the plans service when a conference's outcome is recorded: an
    outcome whose attendees come from fewer distinct agencies (their
    ``agency``, compared without case), or without an agency named in
    ``required_agencies``, is refused (a 422 on ``attendees`` naming the
    numbers and the source), and the meeting is recorded as not quorate
    instead. Return::

        {
          "min_agencies": 3,                  # at least this many agencies (1 or more)
          "required_agencies": ["Police"],    # optional: agencies that must be among them, as
                                              # attendees' agency is written
          "source": "...",                    # where the figure comes from, graded (V, V2 or U)
        }

    The last plugin in CPP_PLUGINS order that answers wins; None from every
    plugin: no quorum rule, and any attendance is accepted.
    """


@hookspec
def cpp_terminology() -> dict[str, str] | None:
    """Give the local words for the platform's terms.

    Keys: initial_conference, review_conference, pre_birth_conference (an
    initial conference about an unborn child), transfer_in_conference,
    enquiries, plan, core_group, register, categories (what
    ``cpp_categories`` offers: "categories of harm", Scotland's "areas of
    concern"), and any a later hook documents. Later plugins
    override earlier ones key by key; a key none gives is England's
    (``cpp_shared.terminology.DEFAULTS``). The plans API returns the merged
    wording with a plan so that clients show the local words (e.g.
    "Child Protection Planning Meeting" in Scotland, "section 35 enquiries"
    in Guernsey), and every service writes in them: the scheduler's rules,
    explanations and calendars, the documents, the messages and the pages.
    """


@hookspec
def cpp_categories() -> list[dict[str, Any]] | None:
    """Offer the categories of harm (England, Wales, Northern Ireland) or the
    areas of concern (Scotland) a plan records.

    Called as the plugins load and when the plans service starts; the plans
    service refuses a category outside the set (a 422 naming the allowed
    ids) and lists the set at ``GET /v1/categories``. Return a list of::

        {
          "id": "neglect",                    # a lower_snake slug, stored with plans; a later plugin
                                              # overrides by id ("disabled": True drops it,
                                              # "extends": True renames it)
          "name": "Neglect",                  # shown to people
          "census_code": "NEG",               # optional: England's Children in Need census code,
                                              # PHY, EMO, SAB or NEG (the census records a plan
                                              # with more than one category as MUL)
        }

    Ids stay as they are once plans use them: a plan keeps the categories it
    was agreed with, so one no longer offered stays readable. A deployment
    whose plugins offer no category does not start. Sources: DOMAIN.md
    (seed 001: physical, sexual, emotional abuse, neglect) and TIMESCALES.md
    (England's census categories; Wales adds financial abuse, Northern
    Ireland exploitation; Scotland records areas of concern, paras 1.87-1.88).
    """


@hookspec
def cpp_validate_plan(content: dict[str, Any], stage: str) -> dict[str, list[str]] | None:
    """Add a council's own checks of a plan's content.

    Called by the plans service before a plan's content is agreed, with
    ``stage`` one of ``outline`` (an initial conference's outline plan),
    ``detailed`` (the core group agreeing the detailed plan), ``revision``
    (a review conference's revised plan) or ``change`` (an agreed change).
    ``content`` is the whole content as it would be stored (JSON: dates as
    ISO text). Return ``{field: [message, ...]}`` for what the council
    refuses, or None/{} when it is fine; every plugin's errors are merged and
    the request is refused with a 422 listing them.
    """


@hookspec
def cpp_identifier_schemes() -> list[dict[str, Any]] | None:
    """Add identifier schemes for children (beyond the NHS and CHI numbers).

    Called once when the plans service starts. Return a list of::

        {
          "id": "hc_number",                  # the scheme's name in the API
          "name": "Health and Care Number (Northern Ireland)",
          "validate": fn,                     # fn(text) -> the normalised value, or raise ValueError
          "source": "...",
        }

    A later plugin's scheme replaces an earlier one with the same id.
    """


@hookspec
def cpp_notification_recipients(event: dict[str, Any], recipients: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """Change who is told of an event (the notify service).

    Called for each event that tells people something, in CPP_PLUGINS order,
    each plugin with the list the one before left: the platform's defaults
    first (the key worker of deadlines and lookups; the core group and the
    family of conferences). Return a new list, or None to keep it. A
    recipient::

        {
          "name": "Sam Social",
          "email": "sam.social@council.example",   # or None
          "audience": "professional",              # or "family": the plain-language template
          "channels": ["email", "inbox"],          # built-in: email, inbox; or a plugin's channel id
          "role": "key_worker",                    # why they are told (shown in the message)
        }
    """


@hookspec
def cpp_notification_channels() -> list[dict[str, Any]] | None:
    """Add ways of telling people (the notify service), e.g. SMS.

    Return a list of ``{"id": "sms", "name": "Text message", "send": fn}``
    where ``fn(message)`` sends one rendered message (a dict with
    ``recipient``, ``subject``, ``body``) and raises to have it retried. A
    recipient names the channels it is reached by.
    """


@hookspec
def cpp_notification_templates() -> dict[str, str] | None:
    """Replace the notify service's message templates (Jinja2), by name.

    Names are ``<event type>.<audience>`` (e.g.
    ``conference.scheduled.v1.family``); the first line of a template is the
    subject, the rest the body. Later plugins override earlier ones name by
    name, so a council words its own letters to families.
    """


@hookspec
def cpp_document_branding() -> dict[str, Any] | None:
    """Brand the docs service's documents (professional and family plans,
    meeting records): the organisation's name and the contact block for
    families.

    Later plugins override earlier ones key by key (a nested value such as
    ``contact_block`` is replaced whole)::

        {
          "organisation": "London Borough of Bromley",   # shown at the top of every document
          "accent_colour": "#1d4f91",         # rules and headings; never the only carrier of meaning
          "contact_block": {                  # "to learn more" on the family version
            "title": "Bromley Safeguarding Children Board",
            "address": ["St Blaise, B40a, Civic Centre", "Stockwell Close, Bromley BR1 3UH"],
            "phone": "020 8461 7816",
            "fax": None,
            "email": "BSCB@bromley.gov.uk",
          },
          "footer": "...",                    # one line at the foot of every document
        }

    Without any answer the documents name the authority (``cpp_authority``)
    and give its first contact as the contact block.
    """


@hookspec
def cpp_document_templates() -> dict[str, str] | None:
    """Replace the docs service's HTML templates (Jinja2, autoescaped), by name.

    Names are the files of ``cpp_docs/templates``: ``base.html`` (the page,
    its styles and the branding), ``professional_plan.html``,
    ``outline_plan.html``, ``family_plan.html``, ``core_group_record.html``.
    A replacement may extend or include the built-in ones. Later plugins
    override earlier ones name by name. A document already made for a plan
    version is never made again, so a new template applies to versions
    agreed after it is deployed.
    """


@hookspec(firstresult=True)
def cpp_document_phrases(language: str) -> dict[str, Any] | None:
    """Give the family version's fixed wording in a language.

    Called by the docs service with the family's first language as the plan
    records it (``accessibility.first_language``: e.g. "Polish" or "pl").
    Return None when the plugin has no phrase set for it, or::

        {
          "lang": "pl",                       # BCP 47 tag: the document's lang attribute
          "name": "Polski",
          "phrases": {"title": "...", ...},   # keys of cpp_docs.domain.phrases.ENGLISH; a missing
                                              # key falls back to the English wording
        }

    The last plugin in CPP_PLUGINS order that answers wins. When a set is
    found the family version is made in that language as well as in
    English; the plan's own words (actions, concerns...) stay as written.
    """


@hookspec
def cpp_retention_rules() -> list[dict[str, Any]] | None:
    """Say how long a child's records are kept before they are erased.

    Called as the plugins load and by the plans service's retention (``cpp
    retention run``, ``GET /v1/retention/due``): a child's records are due
    for erasure once the rule for their record type says so, unless a legal
    hold is in force or a case is open or a plan in force. Return a list
    of::

        {
          "id": "child_protection",           # a later plugin overrides by id (a council its jurisdiction's)
          "name": "Child protection records", # shown to people
          "record_type": "child_protection",  # child_protection: a child whose records reached child
                                              # protection enquiries (a strategy discussion, a conference or
                                              # a plan): the whole record, child, cases, conferences, plans,
                                              # visits, reports and their place in families; referral: a child
                                              # whose records never did (referrals and assessments only)
          "until_age": 26,                    # kept until this birthday (the expected date of birth of an
                                              # unborn child), and/or
          "years_after_last_entry": None,     # kept this many years after the last entry about the child;
                                              # with both, until the later of the two
          "source": "...",                    # where the period comes from, graded (V, V2 or U)
        }

    A record type no rule covers is never due: nothing is erased without a
    rule. ``cpp_shared.contracts.retention`` checks each rule as the plugins
    load.
    """
