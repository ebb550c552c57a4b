"""The content of a child protection plan: the outline plan an initial
conference agrees, and the detailed plan the core group agrees at its first
meeting (DOMAIN.md, "What a plan contains"; seeds 000-003).

Public API
----------
``PlanContentSchema``
    Every item optional, every item given validated. Load a whole plan with
    ``PlanContentSchema().load(body)``; load a PATCH with ``partial=True``.
    ``partial=True`` applies to the *top-level items only*: a PATCH replaces
    whole items (``{"actions": [...]}`` replaces the list of actions), so an
    item that is sent must be complete (its required fields, its defaults).
    A dotted ``partial`` collection (``partial=("key_worker.name",)``) keeps
    marshmallow's own meaning.
``make_plan_content_schema(categories, *, name="PlanContentSchema")``
    The same schema with another list of allowed categories of harm: returns
    a Schema class. Where a plans service runs, the deployment's categories
    (``cpp_categories``, set as it starts: api/categories.py) are the allowed
    ones whatever the list. Same arguments, same class (cached), so
    apispec sees one schema per name.
``missing_for_agreement(content) -> list[str]``
    What a detailed plan still lacks before the core group can agree it (the
    names are those of ``AGREEMENT_ITEMS``), ``[]`` when nothing is missing
    (the domain's, domain/plan_content.py, named here too).
``PlanContext`` / ``PlanContentSchema(not_before=...)``
    ``not_before`` (a date, e.g. the conference date): no outcome target date,
    action or assessment ``by_when``, next review date or first core group
    meeting date (``first_core_group_on``) may be before it. Give
    it to the schema's constructor, or set it around a load with
    ``with PlanContext({"not_before": d}): schema.load(body)`` (marshmallow 4's
    context; the constructor's value wins).

Rules
-----
This module gives the content its shape (fields, types, lengths, required
items); the rules of what the items hold together are the domain's
(domain/plan_content.py, no marshmallow), called here item by item so that a
422 names the field at fault.

* Unknown fields are rejected at every level (marshmallow 4's default,
  ``RAISE``; asserted by the tests).
* Strings have a maximum length (``NAME_MAX`` for names, ``TEXT_MAX`` for free
  text, ``SHORT_MAX`` for short texts); required strings may not be blank;
  lists hold at most ``LIST_MAX`` items.
* Dates are ISO calendar dates, ``YYYY-MM-DD`` exactly. Loaded content holds
  ``datetime.date`` objects; ``dump`` gives back the ISO strings, which is the
  form to store (a document store cannot hold a bare date).
* Outcome and action ids: a client-chosen short slug (``ID_PATTERN``: lower
  case letters, digits, ``_`` and ``-``, up to 64 characters) or, when absent,
  a generated ``uuid4().hex`` (which matches the same pattern). Ids are unique
  within outcomes and within actions; an action's ``outcome_id`` names an
  outcome of the same plan.
* The cross-item rules (unique ids, outcome references) run once every field
  is valid (marshmallow's ``skip_on_field_errors``), so their errors come with
  a second attempt. In a partial load whose body has no ``outcomes`` the
  references cannot be checked: the service layer checks the merged content
  (stored content with the PATCH applied) with ``plan_content.check`` before
  saving it.
"""

from __future__ import annotations

import contextlib
import functools
import typing
import uuid
from collections.abc import Mapping, Sequence
from datetime import date

from flask import current_app, has_app_context
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from marshmallow.experimental.context import Context

from cpp_shared.contracts import timescales

from ..domain import plan_content as rules
from ..domain.plan_content import (
    ACCESSIBLE_FORMATS,
    ACTION_STATUSES,
    AGREEMENT_ITEMS,
    CATEGORIES,
    CONTACT_TYPES,
    FREQUENCY_UNITS,
    INTERVENTION_KINDS,
    OUTCOME_TERMS,
    PERSON_KINDS,
    RHYTHM_UNITS,
    missing_for_agreement,
)
from ..service_layer import plans as plans_layer
from .fields import IsoDate, StrictBoolean

__all__ = [
    "ACCESSIBLE_FORMATS",
    "ACTION_STATUSES",
    "AGREEMENT_ITEMS",
    "CATEGORIES",
    "CONTACT_TYPES",
    "FREQUENCY_UNITS",
    "ID_PATTERN",
    "INTERVENTION_KINDS",
    "LIST_MAX",
    "NAME_MAX",
    "OUTCOME_TERMS",
    "PERSON_KINDS",
    "SHORT_MAX",
    "TEXT_MAX",
    "PlanContentSchema",
    "PlanContext",
    "PlanContextDict",
    "make_plan_content_schema",
    "missing_for_agreement",
]

NAME_MAX = 200  # names, roles, agencies, teams, languages
SHORT_MAX = 500  # one-line texts: a cause of harm, a trigger, a need
TEXT_MAX = 4000  # free text
CONTACT_TYPE_MAX = 100
FREQUENCY_TEXT_MAX = 100
LIST_MAX = 50
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class PlanContextDict(typing.TypedDict, total=False):
    not_before: date


PlanContext = Context[PlanContextDict]


# ---------------------------------------------------------------- helpers


def current_not_before() -> date | None:
    """The ``not_before`` of the marshmallow context around the load, if any."""
    ctx = Context.get(None)
    if isinstance(ctx, Mapping):
        return rules.as_date(ctx.get("not_before"))
    return None


def _raise(errors: str | dict | None) -> None:
    """A domain rule's answer (plan_content.py) as marshmallow's error."""
    if errors:
        raise ValidationError(errors)


def _not_before(value: date) -> None:
    _raise(rules.before(value, current_not_before()))


def _not_blank(value: str) -> None:
    _raise(rules.blank(value))


def _no_duplicates(what: str) -> typing.Callable[[list], None]:
    def check(values: list) -> None:
        _raise(rules.duplicates(values, what))

    return check


def _new_id() -> str:
    return uuid.uuid4().hex


def _name(*, required: bool = False, **kw) -> fields.String:
    return _string(NAME_MAX, required=required, **kw)


def _short(*, required: bool = False, **kw) -> fields.String:
    return _string(SHORT_MAX, required=required, **kw)


def _text(*, required: bool = False, **kw) -> fields.String:
    return _string(TEXT_MAX, required=required, **kw)


def _string(max_len: int, *, required: bool, validators: Sequence = (), **kw) -> fields.String:
    if required:
        return fields.String(required=True, validate=[validate.Length(max=max_len), _not_blank, *validators], **kw)
    return fields.String(allow_none=True, validate=[validate.Length(max=max_len), *validators], **kw)


def _date(*, required: bool = False, **kw) -> IsoDate:
    if required:
        return IsoDate(required=True, validate=_not_before, **kw)
    return IsoDate(allow_none=True, validate=_not_before, **kw)


def _list(inner: fields.Field, *, validators: Sequence = (), min_len: int | None = None, **kw) -> fields.List:
    return fields.List(inner, validate=[validate.Length(min=min_len, max=LIST_MAX), *validators], **kw)


def _one_of(choices: Sequence[str], **kw) -> fields.String:
    return fields.String(validate=validate.OneOf(choices), **kw)


def _phone() -> fields.String:
    return fields.String(
        allow_none=True,
        validate=validate.Regexp(r"^\+?[0-9(][0-9 ()\-]{4,28}[0-9]$", error="Not a valid phone number."),
    )


def _email() -> fields.Email:
    return fields.Email(allow_none=True, validate=validate.Length(max=254))


def _id(**kw) -> fields.String:
    return fields.String(
        validate=validate.Regexp(
            ID_PATTERN, error="Must be 1-64 characters of a-z, 0-9, '_' or '-', starting with a letter or digit."
        ),
        **kw,
    )


# ---------------------------------------------------------------- parts of a plan


class KeyWorkerSchema(Schema):
    """The key worker / lead professional (usually the social worker) and how to contact them: a member of
    staff, by user id (``user``) or by their name in the staff directory; the plans service keeps both, the
    name as it was when the plan was agreed."""

    user = fields.String(
        validate=[validate.Length(min=1, max=200), _not_blank],
        metadata={"description": "the key worker's user id in the staff directory (GET /v1/staff)"},
    )
    name = fields.String(
        validate=[validate.Length(max=NAME_MAX), _not_blank],
        metadata={"description": "their name; when no user id is given, the name of exactly one member of staff"},
    )
    role = fields.String(load_default="social worker", validate=[validate.Length(max=NAME_MAX), _not_blank])
    team = _name()
    phone = _phone()
    email = _email()

    @validates_schema
    def _someone(self, data, **kwargs):
        _raise(rules.key_worker_named(data))


class CoreGroupMemberSchema(Schema):
    name = _name(required=True)
    role = _name(required=True, metadata={"description": "e.g. social worker, health visitor, teacher, mother"})
    agency = _name(metadata={"description": "required for a professional"})
    phone = _phone()
    email = _email()
    is_family_member = StrictBoolean(required=True)

    @validates_schema
    def _professional_has_agency(self, data, **kwargs):
        _raise(rules.member_agency(data))


def _has_professional(members: list[dict]) -> None:
    _raise(rules.core_group_has_professional(members))


class NeedSchema(Schema):
    need = _short(required=True)
    how_met = _text(required=True)


class OutcomeSchema(Schema):
    """A specific, achievable, child-focused outcome."""

    id = _id(load_default=_new_id, metadata={"description": "client-chosen slug, or a generated uuid hex"})
    description = _text(required=True)
    term = _one_of(OUTCOME_TERMS, required=True)
    target_date = _date(required=True, metadata={"description": "when the outcome is reviewed"})
    how_progress_judged = _text(required=True)


class ActionOwnerSchema(Schema):
    """Who does an action: a professional (with a role) or a family member (with a relationship to the child)."""

    name = _name(required=True)
    kind = _one_of(PERSON_KINDS, required=True)
    role = _name(metadata={"description": "a professional's role"})
    relationship = _name(metadata={"description": "a family member's relationship to the child"})

    @validates_schema
    def _role_or_relationship(self, data, **kwargs):
        _raise(rules.action_owner(data))


class ActionSchema(Schema):
    id = _id(load_default=_new_id, metadata={"description": "client-chosen slug, or a generated uuid hex"})
    what = _text(required=True)
    why = _text(required=True)
    who = fields.Nested(ActionOwnerSchema, required=True)
    by_when = _date(required=True)
    status = _one_of(ACTION_STATUSES, load_default="not_started")
    outcome_id = _id(required=True, metadata={"description": "the id of an outcome of the same plan"})
    notes = _text()


class InterventionSchema(Schema):
    kind = _one_of(INTERVENTION_KINDS, required=True)
    description = _text(required=True)


class _FrequencySchema(Schema):
    every = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=366))
    unit = _one_of(FREQUENCY_UNITS, required=True)


class Frequency(fields.Field):
    """How often: a short text ("weekly", "every school day") or ``{"every": 2, "unit": "weeks"}``."""

    default_error_messages = {
        "invalid": 'Not a valid frequency: give a text such as "weekly" or {{"every": 2, "unit": "weeks"}}.'
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            _not_blank(value)
            validate.Length(max=FREQUENCY_TEXT_MAX)(value)
            return value
        if isinstance(value, Mapping):
            return _FrequencySchema().load(value)
        raise self.make_error("invalid")

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None or isinstance(value, str):
            return value
        return _FrequencySchema().dump(value)


class MonitoringSchema(Schema):
    """Who checks day to day that the child is safe; the nature and frequency of the contacts."""

    who = _name(required=True)
    agency = _name(required=True)
    what = _text(required=True)
    contact_type = _string(
        CONTACT_TYPE_MAX,
        required=True,
        metadata={"description": "e.g. " + ", ".join(CONTACT_TYPES) + "; any short text"},
    )
    frequency = Frequency(
        required=True,
        metadata={
            "description": 'how often: a short text ("weekly") or {"every": 2, "unit": "weeks"}',
            "oneOf": [
                {"type": "string", "minLength": 1, "maxLength": FREQUENCY_TEXT_MAX},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["every", "unit"],
                    "properties": {
                        "every": {"type": "integer", "minimum": 1, "maximum": 366},
                        "unit": {"type": "string", "enum": list(FREQUENCY_UNITS)},
                    },
                },
            ],
        },
    )


class _RhythmFrequencySchema(Schema):
    every = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=366))
    unit = _one_of(RHYTHM_UNITS, required=True, metadata={"description": "days are calendar days"})


class _SeenAloneSchema(Schema):
    every = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=50))
    unit = _one_of(("visits",), required=True)


def deployment_rhythm() -> dict[str, dict]:
    """The running deployment's rhythm, by item (service_layer.plans.deployment_rhythm); {} outside a plans
    service's request or command."""
    if not has_app_context():
        return {}
    cpp = current_app.extensions.get("cpp")
    return {} if cpp is None else plans_layer.deployment_rhythm(cpp)


class RhythmSchema(Schema):
    """How often the child is visited (and seen alone) and the core group meets, as the plan states it; an item
    not stated takes the deployment's default, and none may be looser than its limit."""

    visits = fields.Nested(
        _RhythmFrequencySchema,
        allow_none=True,
        metadata={"description": 'how often the child is seen on a visit: {"every": 10, "unit": "working_days"}'},
    )
    seen_alone = fields.Nested(
        _SeenAloneSchema,
        allow_none=True,
        metadata={
            "description": 'the child seen alone at least once in this many visits: {"every": 2, "unit": "visits"}'
        },
    )
    core_group = fields.Nested(
        _RhythmFrequencySchema,
        allow_none=True,
        metadata={"description": 'how often the core group meets: {"every": 6, "unit": "weeks"}'},
    )

    @validates_schema(skip_on_field_errors=True)
    def _within_limits(self, data, **kwargs):
        limits = {item: {**d["limit"], "source": d["source"]} for item, d in deployment_rhythm().items() if d["limit"]}
        _raise(rules.rhythm_errors(data, limits, timescales.looser_than))


class FurtherAssessmentSchema(Schema):
    assessment = _text(required=True)
    by_whom = _name(required=True)
    by_when = _date()


class ReviewArrangementsSchema(Schema):
    next_review_date = _date(required=True)
    how_progress_judged = _text(required=True)


class ContingencyPlanSchema(Schema):
    plan = _text(required=True)
    triggers = _list(
        _short(required=True),
        min_len=1,
        required=True,
        metadata={"description": "the circumstances that trigger the contingency plan"},
    )


class AccessibilitySchema(Schema):
    """Cultural sensitivity and disabilities (seed 003): language, interpreter, accessible formats."""

    first_language = _name()
    interpreter_needed = StrictBoolean(load_default=False)
    interpreter_language = _name()
    accessible_formats = _list(_one_of(ACCESSIBLE_FORMATS), validators=[_no_duplicates("format")], load_default=list)
    cultural_considerations = _text()
    disability_adjustments = _text()

    @validates_schema
    def _interpreter_language(self, data, **kwargs):
        _raise(rules.interpreter_language(data))


# ---------------------------------------------------------------- the plan


class _PlanContentBase(Schema):
    """The content of a child protection plan (outline or detailed). Built by
    make_plan_content_schema, which adds the categories field."""

    allowed_categories: typing.ClassVar[tuple[str, ...]] = ()

    key_worker = fields.Nested(KeyWorkerSchema)
    core_group = _list(fields.Nested(CoreGroupMemberSchema), validators=[_has_professional])
    first_core_group_on = _date(
        metadata={
            "description": "the date the initial conference sets for the first core group meeting; "
            "not before the conference"
        }
    )
    # categories: added by make_plan_content_schema
    concerns = _text(
        metadata={"description": "the concerns and the main causes of harm, and why the work needs to happen"}
    )
    causes_of_harm = _list(_short(required=True))
    childs_needs = _list(
        fields.Nested(NeedSchema),
        metadata={
            "description": "the child's needs (developmental needs, therapeutic services) and how they will be met"
        },
    )
    parents_needs = _list(fields.Nested(NeedSchema))
    outcomes = _list(fields.Nested(OutcomeSchema))
    actions = _list(fields.Nested(ActionSchema))
    interventions = _list(fields.Nested(InterventionSchema))
    monitoring = _list(fields.Nested(MonitoringSchema))
    further_assessments = _list(fields.Nested(FurtherAssessmentSchema))
    review_arrangements = fields.Nested(ReviewArrangementsSchema)
    contingency_plan = fields.Nested(ContingencyPlanSchema)
    childs_views = _text()
    familys_views = _text()
    accessibility = fields.Nested(AccessibilitySchema)
    rhythm = fields.Nested(
        RhythmSchema,
        metadata={"description": "how often the child is visited and seen alone, and the core group meets"},
    )

    def __init__(self, *args, not_before: date | str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.not_before = rules.as_date(not_before)

    # partial=True means "any top-level item may be missing"; an item sent is whole.
    def _top_level_partial(self, partial):
        if partial is None:
            partial = self.partial
        if partial is True:
            return tuple(self.load_fields)
        return partial

    def _context(self):
        if self.not_before is None:
            return contextlib.nullcontext()  # the caller's context, if any, as it is
        outer = Context.get(None)
        return Context({**(outer if isinstance(outer, Mapping) else {}), "not_before": self.not_before})

    def load(self, data, *, many=None, partial=None, unknown=None):
        with self._context():
            return super().load(data, many=many, partial=self._top_level_partial(partial), unknown=unknown)

    def validate(self, data, *, many=None, partial=None):
        with self._context():
            return super().validate(data, many=many, partial=self._top_level_partial(partial))

    @validates_schema
    def _cross_item_rules(self, data, partial=None, **kwargs):
        # A PATCH without outcomes: its references are checked on the merged content.
        _raise(rules.cross_item_errors(data, references=not (partial and "outcomes" not in data)))


#: Where a running plans service keeps its deployment's categories (``cpp_categories``; api/categories.py).
OFFERED = "categories"


def offered_categories() -> tuple[str, ...]:
    """The ids of the running deployment's categories; () outside a plans service's request or command."""
    if not has_app_context():
        return ()
    cpp = current_app.extensions.get("cpp")
    return tuple(c["id"] for c in (cpp.extensions.get(OFFERED) if cpp else None) or ())


class _OfferedCategory(validate.Validator):
    """One of the deployment's categories where a plans service runs (set as it starts, from the plugins), else
    one of the schema's own list."""

    def __init__(self, categories: tuple[str, ...]):
        self.categories = categories

    def __call__(self, value: str) -> str:
        allowed = offered_categories() or self.categories
        if value not in allowed:
            raise ValidationError(f"Must be one of: {', '.join(allowed)}.")
        return value


@functools.cache
def _make(categories: tuple[str, ...], name: str) -> type[Schema]:
    field = _list(
        fields.String(validate=_OfferedCategory(categories)),
        min_len=1,
        validators=[_no_duplicates("category")],
        metadata={"description": "the categories of harm: " + ", ".join(categories)},
    )
    return typing.cast(
        type[Schema],
        type(
            name,
            (_PlanContentBase,),
            {
                "categories": field,
                "allowed_categories": categories,
                "__module__": __name__,
                "__qualname__": name,
                "__doc__": f"The content of a child protection plan; categories of harm: {', '.join(categories)}.",
            },
        ),
    )


def make_plan_content_schema(
    categories: Sequence[str] = CATEGORIES, *, name: str = "PlanContentSchema"
) -> type[Schema]:
    """The plan content schema with ``categories`` as the allowed categories
    of harm (a plugin setting). The same arguments give the same class."""
    if isinstance(categories, str):
        raise TypeError("categories is a sequence of category names, not one string")
    cats = tuple(categories)
    if not cats or len(set(cats)) != len(cats) or not all(isinstance(c, str) and c.strip() for c in cats):
        raise ValueError("categories must be a non-empty sequence of distinct, non-blank names")
    return _make(cats, name)


PlanContentSchema = make_plan_content_schema(CATEGORIES)
