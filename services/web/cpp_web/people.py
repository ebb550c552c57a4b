"""The people a developer can sign in as (development mode only): fictional
staff, one for each role (two social workers), made up for trying the
platform, listed in the order of ROLE_NAMES. Their user ids
are the tokens' subjects; the services record them in their staff
directories the first time each signs in and calls them."""

from __future__ import annotations

from dataclasses import dataclass

ROLE_NAMES = {
    "social_worker": "Social worker",
    "team_manager": "Team manager",
    "chair": "Conference chair",
    "partner": "Partner agency",
    "auditor": "Auditor",
    "admin": "Administrator",
}


def role_names(roles: list[str] | tuple[str, ...]) -> str:
    """A person's roles in words: 'Social worker', 'Social worker and team manager'."""
    names = [ROLE_NAMES.get(r, r) for r in roles]
    if len(names) < 2:
        return "".join(names)
    rest = [n[:1].lower() + n[1:] for n in names[1:]]
    return ", ".join([names[0], *rest[:-1]]) + " and " + rest[-1]


@dataclass(frozen=True)
class Person:
    user: str
    role: str
    name: str
    email: str
    team: str | None
    manager: str | None = None

    @property
    def role_name(self) -> str:
        return ROLE_NAMES[self.role]


PEOPLE = (
    Person("demo-sw-1", "social_worker", "Sam Okafor", "sam.okafor@council.example", "Area North", manager="demo-tm-1"),
    Person(
        "demo-sw-2", "social_worker", "Jordan Reid", "jordan.reid@council.example", "Area North", manager="demo-tm-1"
    ),
    Person("demo-tm-1", "team_manager", "Priya Shah", "priya.shah@council.example", "Area North"),
    Person("demo-chair-1", "chair", "Morgan Ellis", "morgan.ellis@council.example", "Safeguarding Reviews"),
    Person("demo-partner-1", "partner", "Dr Jo Whitfield", "jo.whitfield@health.example", "Northside Health Centre"),
    Person("demo-auditor-1", "auditor", "Chris Tan", "chris.tan@council.example", "Quality Assurance"),
    Person("demo-admin-1", "admin", "Alex Byrne", "alex.byrne@council.example", "Systems Support"),
)


def by_user(user: str) -> Person | None:
    return next((p for p in PEOPLE if p.user == user), None)
