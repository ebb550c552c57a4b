"""England's Children in Need census's codes that the plans service records:
why a case closed (``ReasonForClosure``) and where a referral came from
(``ReferralSource``), each with the DfE schema's label
(CIN_schema_2024.xsd: ``reasonforclosuretype``, ``referralsourcetype``).

A referral's ``source`` is coarse (referral.SOURCES); its census code, when
given, is one of the codes that source allows (``SOURCE_CODES``).
"""

from __future__ import annotations

#: Why a case (the census's episode of need) closed: code -> the census's label.
CLOSURE_REASONS: dict[str, str] = {
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

#: Where a referral came from: code -> the census's label.
REFERRAL_SOURCES: dict[str, str] = {
    "1A": "Individual – family member, relative or carer",
    "1B": "Individual – acquaintance (including neighbours and child minders)",
    "1C": "Individual – self",
    "1D": "Individual – other (including strangers)",
    "2A": "Schools",
    "2B": "Education services",
    "3A": "Health services – general practitioner (GP)",
    "3B": "Health services – health visitor",
    "3C": "Health services – school nurse",
    "3D": "Health services – other primary health services",
    "3E": "Health services – A&E (accident and emergency department)",
    "3F": "Health services – other (for example hospice)",
    "4": "Housing – local authority housing or housing association",
    "5A": "LA services – social care, for example adults social care services",
    "5B": "LA services – other internal (a department other than social care, for example youth offending)",
    "5C": "LA services – external, for example another local authority's adults social care services",
    "5D": "LA services – early help",
    "6": "Police",
    "7": "Other legal agency – including courts, probation, immigration, CAFCASS or prison",
    "8": "Other – including children's centres, independent agency providers or voluntary organisations",
    "9": "Anonymous",
    "10": "Unknown",
}

#: The census codes each coarse source (referral.SOURCES) allows.
SOURCE_CODES: dict[str, tuple[str, ...]] = {
    "police": ("6",),
    "school": ("2A", "2B"),
    "health": ("3A", "3B", "3C", "3D", "3E", "3F"),
    "family": ("1A",),
    "self": ("1C",),
    "other_agency": ("4", "5A", "5B", "5C", "5D", "7"),
    "anonymous": ("9",),
    "other": ("1B", "1D", "8", "10"),
}
