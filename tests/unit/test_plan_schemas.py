"""The plan content schemas, alone (no HTTP, no store)."""

import copy
import string
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import RAISE, ValidationError

from cpp_plans.api.plan_schemas import (
    ACCESSIBLE_FORMATS,
    ACTION_STATUSES,
    AGREEMENT_ITEMS,
    CATEGORIES,
    CONTACT_TYPES,
    FREQUENCY_UNITS,
    INTERVENTION_KINDS,
    LIST_MAX,
    NAME_MAX,
    SHORT_MAX,
    TEXT_MAX,
    PlanContentSchema,
    PlanContext,
    make_plan_content_schema,
    missing_for_agreement,
)

CONFERENCE = date(2026, 11, 23)

OUTLINE = {
    "key_worker": {"name": "Sam Social", "role": "social worker"},
    "core_group": [
        {"name": "Sam Social", "role": "social worker", "agency": "Children's services", "is_family_member": False},
        {"name": "Jo Parent", "role": "mother", "is_family_member": True},
    ],
    "categories": ["neglect"],
    "concerns": "Ava is often left alone and hungry; the home is unsafe.",
}

FULL = {
    "key_worker": {
        "name": "Sam Social",
        "role": "social worker",
        "team": "Referral and assessment",
        "phone": "020 7525 3306",
        "email": "sam.social@council.example.org",
    },
    "core_group": [
        {
            "name": "Sam Social",
            "role": "social worker",
            "agency": "Children's services",
            "phone": "020 7525 3306",
            "email": "sam.social@council.example.org",
            "is_family_member": False,
        },
        {"name": "Hana Visitor", "role": "health visitor", "agency": "NHS community health", "is_family_member": False},
        {"name": "Jo Parent", "role": "mother", "is_family_member": True},
    ],
    "categories": ["neglect", "emotional_abuse"],
    "concerns": "Ava is often left alone and hungry; her mother's drinking means nobody supervises her.",
    "causes_of_harm": ["parental alcohol misuse", "no support network"],
    "childs_needs": [
        {"need": "regular meals", "how_met": "breakfast club at school; food bank referral"},
        {"need": "speech and language therapy", "how_met": "referral by the health visitor"},
    ],
    "parents_needs": [{"need": "alcohol support", "how_met": "community alcohol service, weekly"}],
    "outcomes": [
        {
            "id": "fed-and-supervised",
            "description": "Ava is fed and supervised at home every day",
            "term": "short",
            "target_date": "2027-01-15",
            "how_progress_judged": "health visitor and school report weekly",
        },
        {
            "id": "o2",
            "description": "Ava lives safely with her mother",
            "term": "long",
            "target_date": "2027-11-23",
            "how_progress_judged": "review conference",
        },
    ],
    "actions": [
        {
            "id": "a1",
            "what": "Attend the alcohol service weekly",
            "why": "so Ava is supervised",
            "who": {"name": "Jo Parent", "kind": "family_member", "relationship": "mother"},
            "by_when": "2026-12-01",
            "status": "in_progress",
            "outcome_id": "fed-and-supervised",
        },
        {
            "id": "a2",
            "what": "Refer to the breakfast club",
            "why": "so Ava eats every morning",
            "who": {"name": "Sam Social", "kind": "professional", "role": "social worker"},
            "by_when": "2026-11-30",
            "status": "not_started",
            "outcome_id": "fed-and-supervised",
            "notes": "school agreed in principle",
        },
        {
            "id": "a3",
            "what": "Parenting course",
            "why": "to meet Ava's needs",
            "who": {"name": "Jo Parent", "kind": "family_member"},
            "by_when": "2027-03-01",
            "status": "not_started",
            "outcome_id": "o2",
        },
    ],
    "interventions": [
        {"kind": "make_child_safe", "description": "daily checks by school and family"},
        {"kind": "therapy_for_child", "description": "play therapy"},
    ],
    "monitoring": [
        {
            "who": "Hana Visitor",
            "agency": "NHS community health",
            "what": "checks Ava is fed and well",
            "contact_type": "home_visit",
            "frequency": "weekly",
        },
        {
            "who": "Ms Teacher",
            "agency": "Park Primary",
            "what": "checks attendance and appearance",
            "contact_type": "school",
            "frequency": {"every": 1, "unit": "days"},
        },
    ],
    "further_assessments": [
        {"assessment": "parenting capacity assessment", "by_whom": "Sam Social", "by_when": "2027-02-01"},
        {"assessment": "paediatric assessment", "by_whom": "GP", "by_when": None},
    ],
    "review_arrangements": {"next_review_date": "2027-02-23", "how_progress_judged": "against the outcomes"},
    "contingency_plan": {
        "plan": "legal planning meeting; consider a care order",
        "triggers": ["Ava found alone at home", "missed two core groups"],
    },
    "childs_views": "Ava says she likes school breakfast.",
    "familys_views": "Jo wants help and wants Ava to stay at home.",
    "accessibility": {
        "first_language": "Polish",
        "interpreter_needed": True,
        "interpreter_language": "Polish",
        "accessible_formats": ["easy_read", "translated"],
        "cultural_considerations": None,
        "disability_adjustments": "meetings on the ground floor",
    },
}


def full():
    return copy.deepcopy(FULL)


def errors_of(data, schema=None, **load_kw):
    schema = schema or PlanContentSchema()
    with pytest.raises(ValidationError) as exc:
        schema.load(data, **load_kw)
    return exc.value.messages


# ------------------------------------------------------------ a whole plan


def test_full_plan_loads_and_dumps_back_equal():
    schema = PlanContentSchema(not_before=CONFERENCE)
    loaded = schema.load(full())
    assert loaded["outcomes"][0]["target_date"] == date(2027, 1, 15)
    assert schema.dump(loaded) == FULL
    assert schema.load(schema.dump(loaded)) == loaded


def test_outline_plan_loads_with_defaults():
    loaded = PlanContentSchema().load(OUTLINE)
    assert loaded["key_worker"]["role"] == "social worker"
    assert set(loaded) == set(OUTLINE)  # no top-level defaults: the content is what was sent


def test_defaults_of_items():
    data = full()
    del data["key_worker"]["role"]
    del data["actions"][0]["status"]
    del data["outcomes"][1]["id"], data["actions"][2]["id"]
    data["actions"][2]["outcome_id"] = "fed-and-supervised"
    data["accessibility"] = {"interpreter_needed": False}
    loaded = PlanContentSchema().load(data)
    assert loaded["key_worker"]["role"] == "social worker"
    assert loaded["actions"][0]["status"] == "not_started"
    generated = loaded["outcomes"][1]["id"]
    assert len(generated) == 32 and all(c in string.hexdigits for c in generated)
    assert loaded["actions"][2]["id"] not in {"a1", "a2", generated}
    assert loaded["accessibility"] == {"interpreter_needed": False, "accessible_formats": []}


def test_unknown_fields_are_rejected_at_every_level():
    assert PlanContentSchema().unknown == RAISE
    data = full()
    data["colour"] = "blue"
    data["key_worker"]["age"] = 40
    data["actions"][1]["who"]["agency"] = "school"
    data["monitoring"][1]["frequency"]["at"] = "9am"
    assert errors_of(data) == {
        "colour": ["Unknown field."],
        "key_worker": {"age": ["Unknown field."]},
        "actions": {1: {"who": {"agency": ["Unknown field."]}}},
        "monitoring": {1: {"frequency": {"at": ["Unknown field."]}}},
    }


# ------------------------------------------------------------ categories


def test_bad_category():
    data = full()
    data["categories"] = ["neglect", "bullying"]
    assert list(errors_of(data)) == ["categories"]
    assert "Must be one of" in errors_of(data)["categories"][1][0]


def test_duplicate_category():
    data = full()
    data["categories"] = ["neglect", "neglect"]
    assert errors_of(data) == {"categories": ["Duplicate category: neglect."]}


def test_at_least_one_category_when_present():
    data = full()
    data["categories"] = []
    assert "categories" in errors_of(data)


def test_categories_are_a_parameter():
    wider = CATEGORIES + ("criminal_exploitation",)
    Scotland = make_plan_content_schema(wider, name="ScotlandPlanContentSchema")
    assert Scotland.__name__ == "ScotlandPlanContentSchema"
    assert make_plan_content_schema(list(wider), name="ScotlandPlanContentSchema") is Scotland
    assert make_plan_content_schema(CATEGORIES) is PlanContentSchema
    data = full()
    data["categories"] = ["criminal_exploitation"]
    assert Scotland().load(data)["categories"] == ["criminal_exploitation"]
    assert "categories" in errors_of(data)
    only_neglect = make_plan_content_schema(["neglect"], name="NeglectOnly")
    assert "categories" in errors_of(full(), only_neglect())
    for bad in ([], ["neglect", "neglect"], [""], "neglect"):
        with pytest.raises((ValueError, TypeError)):
            make_plan_content_schema(bad)


# ------------------------------------------------------------ outcomes and actions


def test_action_pointing_at_a_missing_outcome():
    data = full()
    data["actions"][2]["outcome_id"] = "o9"
    assert errors_of(data) == {"actions": {2: {"outcome_id": ["No outcome with id 'o9' in this plan."]}}}


def test_actions_without_outcomes_fail():
    data = full()
    del data["outcomes"]
    errors = errors_of(data)
    assert set(errors["actions"]) == {0, 1, 2}


def test_duplicate_outcome_and_action_ids():
    data = full()
    data["outcomes"][1]["id"] = "fed-and-supervised"
    data["actions"][2]["outcome_id"] = "fed-and-supervised"
    data["actions"][2]["id"] = "a1"
    assert errors_of(data) == {
        "outcomes": {1: {"id": ["Duplicate id 'fed-and-supervised' (also at 0)."]}},
        "actions": {2: {"id": ["Duplicate id 'a1' (also at 0)."]}},
    }


@pytest.mark.parametrize("bad", ["", "A1", "has space", "-lead", "x" * 65, "é"])
def test_bad_ids(bad):
    data = full()
    data["outcomes"][0]["id"] = bad
    assert list(errors_of(data)["outcomes"][0]) == ["id"]


def test_action_owner_role_or_relationship():
    data = full()
    data["actions"][0]["who"]["role"] = "carer"
    data["actions"][1]["who"]["relationship"] = "aunt"
    errors = errors_of(data)
    assert list(errors["actions"][0]["who"]) == ["role"]
    assert list(errors["actions"][1]["who"]) == ["relationship"]


# ------------------------------------------------------------ dates


def test_dates_are_iso_dates():
    data = full()
    data["outcomes"][0]["target_date"] = "15/01/2027"
    data["actions"][0]["by_when"] = "20261201"
    data["actions"][1]["by_when"] = "2026-11-30T00:00:00"
    data["review_arrangements"]["next_review_date"] = "2027-02-30"
    assert errors_of(data) == {
        "outcomes": {0: {"target_date": ["Not a valid date."]}},
        "actions": {0: {"by_when": ["Not a valid date."]}, 1: {"by_when": ["Not a valid date."]}},
        "review_arrangements": {"next_review_date": ["Not a valid date."]},
    }


def test_dates_before_not_before():
    data = full()
    data["outcomes"][1]["target_date"] = "2026-11-01"
    data["actions"][2]["by_when"] = "2026-11-22"
    data["further_assessments"][0]["by_when"] = "2025-01-01"
    data["review_arrangements"]["next_review_date"] = "2026-01-01"
    message = ["Must not be before 2026-11-23."]
    expected = {
        "outcomes": {1: {"target_date": message}},
        "actions": {2: {"by_when": message}},
        "further_assessments": {0: {"by_when": message}},
        "review_arrangements": {"next_review_date": message},
    }
    assert errors_of(data, PlanContentSchema(not_before=CONFERENCE)) == expected
    with PlanContext({"not_before": CONFERENCE}):
        assert errors_of(data) == expected
    assert PlanContentSchema().load(data)  # no not_before: no limit
    data["actions"][2]["by_when"] = CONFERENCE.isoformat()  # the day itself is allowed
    assert "actions" not in errors_of(data, PlanContentSchema(not_before=CONFERENCE))


def test_not_before_with_field_errors_elsewhere():
    data = full()
    data["actions"][2]["by_when"] = "2026-11-22"
    data["actions"][0]["status"] = "finished"
    errors = errors_of(data, PlanContentSchema(not_before="2026-11-23"))
    assert errors["actions"][2] == {"by_when": ["Must not be before 2026-11-23."]}
    assert list(errors["actions"][0]) == ["status"]


# ------------------------------------------------------------ other rules


def test_interpreter_needed_without_language():
    data = full()
    del data["accessibility"]["interpreter_language"]
    assert errors_of(data) == {"accessibility": {"interpreter_language": ["Required when an interpreter is needed."]}}


def test_core_group_needs_a_professional():
    data = full()
    data["core_group"] = [m for m in data["core_group"] if m["is_family_member"]]
    assert errors_of(data) == {"core_group": ["The core group needs at least one professional member."]}
    data["core_group"] = []
    assert "core_group" in errors_of(data)


def test_core_group_professional_needs_agency_and_flag_is_a_bool():
    data = full()
    del data["core_group"][1]["agency"]
    data["core_group"][2]["is_family_member"] = "yes"
    errors = errors_of(data)
    assert errors == {
        "core_group": {
            1: {"agency": ["A professional member's agency is required."]},
            2: {"is_family_member": ["Not a valid boolean."]},
        }
    }


@pytest.mark.parametrize(
    "path, size",
    [
        (("key_worker", "name"), NAME_MAX + 1),
        (("concerns",), TEXT_MAX + 1),
        (("childs_views",), TEXT_MAX + 1),
        (("outcomes", 0, "description"), TEXT_MAX + 1),
        (("contingency_plan", "triggers", 0), SHORT_MAX + 1),
        (("monitoring", 0, "contact_type"), 101),
        (("monitoring", 0, "frequency"), 101),
    ],
)
def test_oversize_strings(path, size):
    data = full()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = "x" * size
    errors = errors_of(data)
    for key in path:
        errors = errors[key]
    assert errors == [f"Longer than maximum length {size - 1}."]


@pytest.mark.parametrize(
    "key, item",
    [
        ("causes_of_harm", "cause"),
        ("childs_needs", {"need": "n", "how_met": "h"}),
        ("monitoring", FULL["monitoring"][0]),
        ("interventions", FULL["interventions"][0]),
    ],
)
def test_oversize_lists(key, item):
    data = full()
    data[key] = [item] * (LIST_MAX + 1)
    assert errors_of(data) == {key: [f"Longer than maximum length {LIST_MAX}."]}
    data[key] = [item] * LIST_MAX
    assert PlanContentSchema().load(data)[key]


def test_blank_required_strings():
    data = full()
    data["key_worker"]["name"] = "   "
    data["contingency_plan"]["triggers"] = []
    assert errors_of(data) == {
        "key_worker": {"name": ["Must not be blank."]},
        "contingency_plan": {"triggers": ["Length must be between 1 and 50."]},
    }


def test_bad_email_and_phone():
    data = full()
    data["key_worker"]["email"] = "sam at council"
    data["core_group"][0]["phone"] = "call me"
    assert errors_of(data) == {
        "key_worker": {"email": ["Not a valid email address."]},
        "core_group": {0: {"phone": ["Not a valid phone number."]}},
    }


@pytest.mark.parametrize(
    "path, value",
    [
        (("outcomes", 0, "term"), "medium"),
        (("actions", 0, "status"), "finished"),
        (("actions", 0, "who", "kind"), "neighbour"),
        (("interventions", 0, "kind"), "prayer"),
        (("accessibility", "accessible_formats", 0), "hologram"),
        (("monitoring", 1, "frequency", "unit"), "years"),
    ],
)
def test_bad_enums(path, value):
    data = full()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    errors = errors_of(data)
    for key in path:
        errors = errors[key]
    assert len(errors) == 1 and errors[0].startswith("Must be one of")


@pytest.mark.parametrize("frequency", ["", 7, {"every": "2", "unit": "weeks"}, {"unit": "weeks"}, ["weekly"]])
def test_bad_frequency(frequency):
    data = full()
    data["monitoring"][0]["frequency"] = frequency
    assert list(errors_of(data)["monitoring"][0]) == ["frequency"]


# ------------------------------------------------------------ PATCH


def test_partial_load_accepts_a_subset():
    schema = PlanContentSchema(partial=True)
    patch = {"childs_views": "Ava wants to stay at her school.", "contingency_plan": FULL["contingency_plan"]}
    assert schema.load(patch) == patch
    assert PlanContentSchema().load({"actions": FULL["actions"][:1], "outcomes": FULL["outcomes"][:1]}, partial=True)[
        "actions"
    ][0]["by_when"] == date(2026, 12, 1)
    assert schema.load({}) == {}


def test_partial_items_are_whole():
    schema = PlanContentSchema(partial=True)
    assert errors_of({"key_worker": {"phone": "020 7525 3306"}}, schema) == {
        "key_worker": {"name": ["Missing data for required field: give the key worker's name or their user id (user)."]}
    }
    action = {k: v for k, v in FULL["actions"][1].items() if k not in ("id", "status")}
    loaded = schema.load({"actions": [action], "outcomes": FULL["outcomes"]})
    assert loaded["actions"][0]["status"] == "not_started" and loaded["actions"][0]["id"]


def test_partial_still_validates():
    schema = PlanContentSchema(partial=True, not_before=CONFERENCE)
    assert errors_of({"categories": ["neglect", "neglect"]}, schema) == {"categories": ["Duplicate category: neglect."]}
    assert errors_of(
        {"review_arrangements": {"next_review_date": "2026-01-01", "how_progress_judged": "x"}}, schema
    ) == {"review_arrangements": {"next_review_date": ["Must not be before 2026-11-23."]}}
    assert errors_of({"nonsense": 1}, schema) == {"nonsense": ["Unknown field."]}
    assert schema.validate({"categories": ["neglect", "neglect"]}) == {"categories": ["Duplicate category: neglect."]}
    # actions without outcomes in the same PATCH: the references are checked on the merged content
    assert schema.load({"actions": FULL["actions"]})["actions"][0]["outcome_id"] == "fed-and-supervised"
    merged = {**full(), "actions": [{**FULL["actions"][0], "outcome_id": "gone"}]}
    assert errors_of(merged, PlanContentSchema()) == {
        "actions": {0: {"outcome_id": ["No outcome with id 'gone' in this plan."]}}
    }
    # but with outcomes in the same PATCH they are checked at once
    assert "actions" in errors_of({"actions": FULL["actions"], "outcomes": FULL["outcomes"][1:]}, schema)


# ------------------------------------------------------------ agreement


def test_missing_for_agreement_on_an_outline():
    outline = PlanContentSchema().load(OUTLINE)
    assert missing_for_agreement(outline) == [
        "key_worker.contact",
        "outcomes",
        "actions",
        "monitoring",
        "review_arrangements",
        "contingency_plan",
    ]
    assert missing_for_agreement({}) == [item for item in AGREEMENT_ITEMS if item != "key_worker.contact"]
    assert missing_for_agreement({**OUTLINE, "categories": [], "outcomes": None}) == [
        "key_worker.contact",
        "categories",
        "outcomes",
        "actions",
        "monitoring",
        "review_arrangements",
        "contingency_plan",
    ]


def test_missing_for_agreement_on_a_full_plan():
    schema = PlanContentSchema()
    assert missing_for_agreement(schema.load(full())) == []
    assert missing_for_agreement(full()) == []
    no_phone = full()
    del no_phone["key_worker"]["phone"]
    assert missing_for_agreement(no_phone) == []  # an email is a contact
    del no_phone["key_worker"]["email"]
    assert missing_for_agreement(no_phone) == ["key_worker.contact"]


# ------------------------------------------------------------ generated plans

ids = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,15}", fullmatch=True)
words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30).filter(
    lambda s: s.strip()
)
optional_text = st.one_of(st.none(), words)
emails = st.builds(
    lambda a, b: f"{a}@{b}.example.org",
    st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True),
    st.from_regex(r"[a-z]{1,12}", fullmatch=True),
)
phones = st.from_regex(r"\+?[0-9]{2,4} [0-9]{3,4} [0-9]{4}", fullmatch=True)


def iso_dates(not_before):
    return st.dates(min_value=not_before, max_value=date(2040, 12, 31)).map(date.isoformat)


def maybe(key, strategy):
    """A dict with key -> a value of strategy, or an empty dict (the key left out)."""
    return st.one_of(st.just({}), strategy.map(lambda v: {key: v}))


def with_optional(required: dict, optional: dict):
    parts = [st.fixed_dictionaries(required)] + [maybe(k, s) for k, s in optional.items()]
    return st.tuples(*parts).map(lambda ds: {k: v for d in ds for k, v in d.items()})


def members():
    professional = with_optional(
        {"name": words, "role": words, "agency": words, "is_family_member": st.just(False)},
        {"phone": st.one_of(st.none(), phones), "email": st.one_of(st.none(), emails)},
    )
    family = with_optional(
        {"name": words, "role": words, "is_family_member": st.just(True)}, {"agency": optional_text, "phone": phones}
    )
    return st.tuples(st.lists(professional, min_size=1, max_size=3), st.lists(family, max_size=2)).map(
        lambda t: t[0] + t[1]
    )


def owners():
    return st.one_of(
        with_optional({"name": words, "kind": st.just("professional")}, {"role": optional_text}),
        with_optional({"name": words, "kind": st.just("family_member")}, {"relationship": optional_text}),
    )


@st.composite
def plans(draw, min_actions=0, not_before=CONFERENCE):
    dates = iso_dates(not_before)
    outcome_ids = draw(st.lists(ids, min_size=1 if min_actions else 0, max_size=4, unique=True))
    outcomes = [
        draw(
            with_optional(
                {
                    "id": st.just(i),
                    "description": words,
                    "term": st.sampled_from(["short", "long"]),
                    "target_date": dates,
                    "how_progress_judged": words,
                },
                {},
            )
        )
        for i in outcome_ids
    ]
    actions = []
    if outcome_ids:
        action_ids = draw(st.lists(ids, min_size=min_actions, max_size=5, unique=True))
        for action_id in action_ids:
            actions.append(
                draw(
                    with_optional(
                        {
                            "what": words,
                            "why": words,
                            "who": owners(),
                            "by_when": dates,
                            "outcome_id": st.sampled_from(outcome_ids),
                        },
                        {"id": st.just(action_id), "status": st.sampled_from(ACTION_STATUSES), "notes": optional_text},
                    )
                )
            )
    frequency = st.one_of(
        words.filter(lambda s: len(s) <= 100),
        st.fixed_dictionaries({"every": st.integers(1, 366), "unit": st.sampled_from(FREQUENCY_UNITS)}),
    )
    need = st.fixed_dictionaries({"need": words, "how_met": words})
    interpreter = st.one_of(
        st.fixed_dictionaries({"interpreter_needed": st.just(True), "interpreter_language": words}),
        with_optional({}, {"interpreter_needed": st.just(False), "interpreter_language": optional_text}),
    )
    accessibility = st.tuples(
        interpreter,
        with_optional(
            {},
            {
                "first_language": optional_text,
                "accessible_formats": st.lists(st.sampled_from(ACCESSIBLE_FORMATS), unique=True),
                "cultural_considerations": optional_text,
                "disability_adjustments": optional_text,
            },
        ),
    ).map(lambda t: {**t[0], **t[1]})
    plan = draw(
        with_optional(
            {},
            {
                "key_worker": with_optional(
                    {"name": words},
                    {"role": words, "team": optional_text, "phone": phones, "email": st.one_of(st.none(), emails)},
                ),
                "core_group": members(),
                "categories": st.lists(st.sampled_from(CATEGORIES), min_size=1, unique=True),
                "concerns": optional_text,
                "causes_of_harm": st.lists(words, max_size=3),
                "childs_needs": st.lists(need, max_size=3),
                "parents_needs": st.lists(need, max_size=3),
                "interventions": st.lists(
                    st.fixed_dictionaries({"kind": st.sampled_from(INTERVENTION_KINDS), "description": words}),
                    max_size=3,
                ),
                "monitoring": st.lists(
                    st.fixed_dictionaries(
                        {
                            "who": words,
                            "agency": words,
                            "what": words,
                            "contact_type": st.one_of(st.sampled_from(CONTACT_TYPES), words),
                            "frequency": frequency,
                        }
                    ),
                    max_size=3,
                ),
                "further_assessments": st.lists(
                    with_optional({"assessment": words, "by_whom": words}, {"by_when": st.one_of(st.none(), dates)}),
                    max_size=3,
                ),
                "review_arrangements": st.fixed_dictionaries({"next_review_date": dates, "how_progress_judged": words}),
                "contingency_plan": st.fixed_dictionaries(
                    {"plan": words, "triggers": st.lists(words, min_size=1, max_size=3)}
                ),
                "childs_views": optional_text,
                "familys_views": optional_text,
                "accessibility": accessibility,
            },
        )
    )
    if outcomes or draw(st.booleans()):
        plan["outcomes"] = outcomes
    if actions or (outcomes and draw(st.booleans())):
        plan["actions"] = actions
    return plan


def is_subset(sent, dumped) -> bool:
    """Everything sent is in the dump, unchanged (the dump may add defaults and generated ids)."""
    if isinstance(sent, dict):
        return isinstance(dumped, dict) and all(k in dumped and is_subset(v, dumped[k]) for k, v in sent.items())
    if isinstance(sent, list):
        return isinstance(dumped, list) and len(sent) == len(dumped) and all(map(is_subset, sent, dumped))
    return sent == dumped


FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(plans())
def test_any_valid_plan_loads_and_round_trips(plan):
    schema = PlanContentSchema(not_before=CONFERENCE)
    loaded = schema.load(plan)
    dumped = schema.dump(loaded)
    assert is_subset(plan, dumped)
    assert schema.load(dumped) == loaded
    assert schema.dump(schema.load(dumped)) == dumped
    assert PlanContentSchema(partial=True).load(dumped) == loaded


@FAST
@given(plans(min_actions=1), st.data())
def test_removing_a_referenced_outcome_always_fails(plan, data):
    index = data.draw(st.integers(0, len(plan["actions"]) - 1))
    gone = plan["actions"][index]["outcome_id"]
    plan["outcomes"] = [o for o in plan["outcomes"] if o["id"] != gone]
    errors = errors_of(plan)
    referring = {i for i, a in enumerate(plan["actions"]) if a["outcome_id"] == gone}
    assert set(errors) == {"actions"} and referring <= set(errors["actions"])
    message = [f"No outcome with id {gone!r} in this plan."]
    assert all(errors["actions"][i] == {"outcome_id": message} for i in referring)


@FAST
@given(plans(not_before=CONFERENCE), st.integers(1, 400))
def test_a_plan_valid_from_a_date_fails_from_a_later_one(plan, days):
    dated = [o["target_date"] for o in plan.get("outcomes", [])] + [a["by_when"] for a in plan.get("actions", [])]
    if "review_arrangements" in plan:
        dated.append(plan["review_arrangements"]["next_review_date"])
    dated += [f["by_when"] for f in plan.get("further_assessments", []) if f.get("by_when")]
    later = date.fromisoformat(max(dated)) + timedelta(days=days) if dated else None
    if later is None:
        assert PlanContentSchema(not_before=date(2099, 1, 1)).load(plan) is not None
    else:
        assert errors_of(plan, PlanContentSchema(not_before=later))
