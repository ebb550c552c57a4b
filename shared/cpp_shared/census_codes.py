"""The Children in Need census's code lists, as the Department for Education's
XML schema for the 2024 census defines them (``CIN_schema_2024.xsd``, as
the ``liiatools`` package ships it in ``liiatools/spec/cin_census/``): each
an ordered mapping from the code the census carries to its label, in the
schema's order, with the schema's own label (its ``xs:documentation``), word
for word, its odd spacing and stray bracket included.

A child's gender, ethnicity and disabilities are recorded in these codes
(the plans service's child record), so the returns built from the events
need no translation. The other lists are here for the census return.
``tests/unit/test_census_codes.py`` compares every list with the schema the
``liiatools`` package ships.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

SCHEMA = "CIN_schema_2024.xsd"

#: The child's gender (``<GenderCurrent>``).
GENDER: Mapping[str, str] = MappingProxyType(
    {
        "1": "Male",
        "2": "Female",
        "0": "Not recorded or unborn",
        "9": "Indeterminate",
    }
)

#: The child's ethnicity (``<Ethnicity>``).
ETHNICITY: Mapping[str, str] = MappingProxyType(
    {
        "WBRI": "White British",
        "WIRI": "White Irish",
        "WIRT": "Traveller of Irish heritage",
        "WOTH": "Any other White background",
        "WROM": "Gypsy/Roma",
        "MWBC": "White and Black Caribbean",
        "MWBA": "White and Black African",
        "MWAS": "White and Asian",
        "MOTH": "Any other mixed background",
        "AIND": "Indian",
        "APKN": "Pakistani",
        "ABAN": "Bangladeshi",
        "AOTH": "Any other Asian background",
        "BCRB": "Caribbean",
        "BAFR": "African",
        "BOTH": "Any other black background",
        "CHNE": "Chinese",
        "OOTH": "Any other ethnic group",
        "REFU": "Refused",
        "NOBT": "Information not yet obtained",
    }
)

#: A child's disabilities (``<Disability>``, one or more; ``NONE`` alone).
DISABILITY: Mapping[str, str] = MappingProxyType(
    {
        "NONE": "No disability",
        "MOB": "Mobility",
        "HAND": "Hand function",
        "PC": "Personal care",
        "INC": "Incontinence",
        "COMM": "Communication",
        "LD": "Learning",
        "HEAR": "Hearing",
        "VIS": "Vision",
        "BEH": "Behaviour",
        "CON": "Consciousness",
        "AUT": "Autism",
        "DDA": "Other",
    }
)

#: Who referred the child (``<ReferralSource>``).
REFERRAL_SOURCE: Mapping[str, str] = MappingProxyType(
    {
        "1A": "INDIVIDUAL – family member, relative or carer",
        "1B": "INDIVIDUAL – acquaintance (including neighbours and child minders)",
        "1C": "INDIVIDUAL – self",
        "1D": "INDIVIDUAL – other (including strangers)",
        "2A": "SCHOOLS",
        "2B": "EDUCATION SERVICES",
        "3A": "HEALTH SERVICES – general practitioner (GP)",
        "3B": "HEALTH SERVICES – health visitor",
        "3C": "HEALTH SERVICES – school nurse",
        "3D": "HEALTH SERVICES – other primary health services",
        "3E": "HEALTH SERVICES – A&E (accident and emergency department)",
        "3F": "HEALTH SERVICES – other (for example hospice) ",
        "4": "HOUSING - local authority housing or housing association",
        "5A": "LA SERVICES – social care for example adults social care services",
        "5B": "LA SERVICES – other internal (department other than social care in local authorities, for example, youth offending (excluding housing))",
        "5C": "LA SERVICES – external, for example, from another local authority’s adults social care services",
        "5D": "(LA SERVICES – early help",
        "6": "POLICE",
        "7": "OTHER LEGAL AGENCY – including courts, probation, immigration, CAFCASS (Children and Family Court Advisory and Support Service) or prison",
        "8": "OTHER – including children’s centres, independent agency providers or voluntary organisations",
        "9": "ANONYMOUS",
        "10": "UNKNOWN",
    }
)

#: The child's primary need at assessment (``<PrimaryNeedCode>``).
PRIMARY_NEED: Mapping[str, str] = MappingProxyType(
    {
        "N1": "Abuse or neglect",
        "N2": "Child's disability",
        "N3": "Parental disability or illness",
        "N4": "Family in acute stress",
        "N5": "Family dysfunction",
        "N6": "Socially unacceptable behaviour",
        "N7": "Low income",
        "N8": "Absent parenting",
        "N9": "Cases other than children in need",
        "N0": "Not stated",
    }
)

#: Why the episode of need ended (``<ReasonForClosure>``).
CLOSURE_REASON: Mapping[str, str] = MappingProxyType(
    {
        "RC1": "Adopted",
        "RC2": "Died",
        "RC3": "Child arrangements order",
        "RC4": "Special guardianship order",
        "RC5": "Transferred to services of another local authority",
        "RC6": "Transferred to adult social care services",
        "RC7": "Services ceased for any other reason, including child no longer in need",
        "RC8": "Case closed after assessment, no further action",
        "RC9": "Case closed after assessment, referred to early help",
    }
)

#: A child protection plan's category of abuse (``<InitialCategoryOfAbuse>``, ``<LatestCategoryOfAbuse>``).
CATEGORY_OF_ABUSE: Mapping[str, str] = MappingProxyType(
    {
        "NEG": "Neglect",
        "PHY": "Physical abuse",
        "SAB": "Sexual abuse",
        "EMO": "Emotional abuse",
        "MUL": "Multiple/not recommended",
    }
)

#: Each list by the name of the schema's simple type that defines it.
BY_SCHEMA_TYPE: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "gendertype": GENDER,
        "ethnicitytype": ETHNICITY,
        "disabilitytype": DISABILITY,
        "referralsourcetype": REFERRAL_SOURCE,
        "primaryneedcodetype": PRIMARY_NEED,
        "reasonforclosuretype": CLOSURE_REASON,
        "categoryofabuse": CATEGORY_OF_ABUSE,
    }
)

NO_DISABILITY = "NONE"


def label(codes: Mapping[str, str], code: str | None) -> str | None:
    """A code's label in ``codes``; None for no code or a code not in the list."""
    return codes.get(code) if code is not None else None


def unknown_code(codes: Mapping[str, str], what: str) -> str:
    """What a person reads when ``what`` is not one of ``codes``: the codes allowed, with their labels."""
    allowed = ", ".join(f"{code} ({text.strip()})" for code, text in codes.items())
    return f"Not a {what} code of the Children in Need census. Allowed: {allowed}."


def disabilities_errors(codes: list[str]) -> str | None:
    """A child's disabilities: census codes, none twice, and NONE only alone."""
    unknown = [code for code in codes if code not in DISABILITY]
    if unknown:
        return unknown_code(DISABILITY, "disability")
    if len(set(codes)) != len(codes):
        return "Give each disability once."
    if NO_DISABILITY in codes and len(codes) > 1:
        return "NONE (No disability) is given alone, not with a disability."
    return None
