"""The store contract: the behaviour every adapter of the store port must have.

A reusable pytest suite. To check an adapter, subclass ``StoreContract`` in a
test module and provide a ``store`` fixture that yields a fresh, empty store
for each test::

    import pytest
    from cpp_shared.testing.store_contract import StoreContract

    class TestMyCouncilStore(StoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            store = MyCouncilStore(...)
            yield store
            store.close()

Every test method of ``StoreContract`` then runs against it. The suite needs
pytest and hypothesis (``pip install cpp-shared[testing]``). Call
``pytest.register_assert_rewrite("cpp_shared.testing.store_contract")`` before
importing it to get detailed assertion messages.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import sys
import threading
import time
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ..store.chain import GENESIS, ChainReport, entry_hash
from ..store.port import (
    AlreadyProcessed,
    Collection,
    DuplicateKey,
    LogRecord,
    OutboxMessage,
    Store,
    StoreError,
    VersionConflict,
)

PEOPLE: list[dict[str, Any]] = [
    {
        "_id": "ann",
        "name": "Ann",
        "age": 34,
        "score": 7.5,
        "active": True,
        "born": "1990-04-01",
        "address": {"city": "Leeds", "postcode": "LS1"},
        "tags": ["carer", "parent"],
        "roles": [{"plan": "p1", "role": "lead"}, {"plan": "p2", "role": "member"}],
    },
    {
        "_id": "bob",
        "name": "Bob",
        "age": 27,
        "score": 3,
        "active": False,
        "born": "1997-11-30",
        "address": {"city": "York"},
        "tags": ["parent"],
        "nickname": None,
        "roles": [{"plan": "p1", "role": "member"}],
    },
    {
        "_id": "cy",
        "name": "Cy",
        "age": 41,
        "score": 9,
        "active": True,
        "born": "1983-01-15",
        "address": {"city": "Leeds", "postcode": "LS6"},
        "tags": [],
    },
    {
        "_id": "dee",
        "name": "Dee",
        "age": "unknown",
        "active": True,
        "tags": ["social worker"],
        "roles": [],
    },
]
EVERYONE = ["ann", "bob", "cy", "dee"]

# (description, filter, ids of PEOPLE it must select)
FILTER_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("empty filter", {}, EVERYONE),
    ("equality on a string", {"name": "Ann"}, ["ann"]),
    ("equality on an int", {"age": 27}, ["bob"]),
    ("an int equals the same float", {"score": 3.0}, ["bob"]),
    ("equality on a bool", {"active": False}, ["bob"]),
    ("equality without match", {"name": "Zed"}, []),
    ("equality on a dotted path", {"address.city": "Leeds"}, ["ann", "cy"]),
    ("dotted path missing in some", {"address.postcode": "LS6"}, ["cy"]),
    ("a value matches an array element", {"tags": "parent"}, ["ann", "bob"]),
    ("an array matches the same array", {"tags": ["carer", "parent"]}, ["ann"]),
    ("an empty array matches", {"tags": []}, ["cy"]),
    ("a sub-document matches the same", {"address": {"city": "York"}}, ["bob"]),
    ("a dotted path through an array of objects", {"roles.plan": "p1"}, ["ann", "bob"]),
    ("a numeric step picks an array position", {"roles.0.role": "lead"}, ["ann"]),
    ("None matches null and missing", {"nickname": None}, EVERYONE),
    ("None on a dotted path", {"address.postcode": None}, ["bob", "dee"]),
    ("$ne", {"name": {"$ne": "Ann"}}, ["bob", "cy", "dee"]),
    ("$ne matches missing", {"score": {"$ne": 3}}, ["ann", "cy", "dee"]),
    ("$ne on an array excludes it when an element equals", {"tags": {"$ne": "parent"}}, ["cy", "dee"]),
    ("$ne None", {"nickname": {"$ne": None}}, []),
    ("$in", {"name": {"$in": ["Ann", "Cy", "Zed"]}}, ["ann", "cy"]),
    ("$in with mixed types", {"age": {"$in": [27, "unknown"]}}, ["bob", "dee"]),
    ("$in with None", {"score": {"$in": [None, 3]}}, ["bob", "dee"]),
    ("$in on an array field", {"tags": {"$in": ["carer", "social worker"]}}, ["ann", "dee"]),
    ("$in on a dotted path", {"address.city": {"$in": ["York", "Hull"]}}, ["bob"]),
    ("$in empty", {"name": {"$in": []}}, []),
    ("$nin", {"name": {"$nin": ["Ann", "Bob"]}}, ["cy", "dee"]),
    ("$nin on an array field", {"tags": {"$nin": ["parent"]}}, ["cy", "dee"]),
    ("$nin matches missing", {"score": {"$nin": [3, 9]}}, ["ann", "dee"]),
    ("$gt", {"age": {"$gt": 30}}, ["ann", "cy"]),
    ("$gte", {"age": {"$gte": 34}}, ["ann", "cy"]),
    ("$lt", {"age": {"$lt": 34}}, ["bob"]),
    ("$lte", {"age": {"$lte": 34}}, ["ann", "bob"]),
    ("a range", {"age": {"$gt": 27, "$lt": 41}}, ["ann"]),
    ("a float bound", {"score": {"$gt": 7.4}}, ["ann", "cy"]),
    ("a string range (ISO dates)", {"born": {"$gte": "1990-01-01", "$lt": "2000-01-01"}}, ["ann", "bob"]),
    ("numbers do not compare with strings", {"age": {"$gte": 0}}, ["ann", "bob", "cy"]),
    ("strings do not compare with numbers", {"age": {"$gt": ""}}, ["dee"]),
    ("a range on a dotted path", {"address.postcode": {"$gt": "LS2"}}, ["cy"]),
    ("a range through an array of objects", {"roles.plan": {"$gte": "p2"}}, ["ann"]),
    ("$exists", {"score": {"$exists": True}}, ["ann", "bob", "cy"]),
    ("$exists false", {"score": {"$exists": False}}, ["dee"]),
    ("$exists counts a null value", {"nickname": {"$exists": True}}, ["bob"]),
    ("$exists on a dotted path", {"address.postcode": {"$exists": True}}, ["ann", "cy"]),
    ("$exists false on a dotted path", {"address.postcode": {"$exists": False}}, ["bob", "dee"]),
    ("$exists through an array of objects", {"roles.role": {"$exists": True}}, ["ann", "bob"]),
    ("fields are ANDed", {"active": True, "address.city": "Leeds"}, ["ann", "cy"]),
    ("fields and operators are ANDed", {"active": True, "tags": "carer", "age": {"$lt": 40}}, ["ann"]),
    ("_id equality", {"_id": "bob"}, ["bob"]),
    ("_id $in", {"_id": {"$in": ["bob", "dee", "nobody"]}}, ["bob", "dee"]),
    ("_id range", {"_id": {"$gt": "bob"}}, ["cy", "dee"]),
    ("_id $nin", {"_id": {"$nin": ["bob"]}}, ["ann", "cy", "dee"]),
]

INDEXED_FIELDS = ["name", "age", "score", "address.city", "address.postcode", "tags", "roles.plan", "born"]

UNSUPPORTED_FILTERS = [
    {"$or": [{"name": "Ann"}, {"name": "Bob"}]},
    {"name": {"$regex": "^A"}},
    {"age": {"$gt": None}},
    {"age": {"$gt": [1]}},
    {"name": {"$in": "Ann"}},
    {"name": {"$exists": 1}},
    {"$where": "true"},
]

BAD_UPDATES = [
    {},
    {"name": "Ann"},
    {"$rename": {"name": "nom"}},
    {"$set": {}},
    {"$set": {"_id": "other"}},
    {"$set": {"a": 1}, "$inc": {"a.b": 1}},
    {"$set": {"a": 1}, "$unset": {"a": ""}},
    {"$inc": {"age": "1"}},
    {"$push": {"tags": {"$each": ["x", "y"]}}},
]


def ids(docs: list[dict[str, Any]]) -> list[str]:
    return [d["_id"] for d in docs]


def without_id(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if doc is None else {k: v for k, v in doc.items() if k != "_id"}


def _insert_people(collection: Collection) -> None:
    for person in PEOPLE:
        collection.insert_one(person)


def race(targets) -> None:
    """Run the callables in threads at once, switching between threads
    often, to expose any window between a read and a write."""
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=target) for target in targets]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        sys.setswitchinterval(switch_interval)


class StoreContract:
    """The contract suite; subclasses provide the ``store`` fixture."""

    @pytest.fixture
    def store(self) -> Store:  # pragma: no cover - replaced by the subclass
        raise NotImplementedError("subclass StoreContract and provide a `store` fixture")

    @pytest.fixture
    def people(self, store: Store) -> Collection:
        collection = store.collection("people")
        _insert_people(collection)
        return collection

    # ------------------------------------------------------------------ filters

    @pytest.mark.parametrize(
        ("filter", "expected"), [(f, e) for _, f, e in FILTER_CASES], ids=[d for d, _, _ in FILTER_CASES]
    )
    def test_filter(self, people: Collection, filter: dict[str, Any], expected: list[str]) -> None:
        assert sorted(ids(people.find(filter))) == expected
        assert people.count_documents(filter) == len(expected)

    def test_indexes_do_not_change_what_filters_select(self, people: Collection) -> None:
        for field in INDEXED_FIELDS:
            people.create_index(field)
        people.create_index("name", unique=True)
        for description, filter, expected in FILTER_CASES:
            assert sorted(ids(people.find(filter))) == expected, description

    @pytest.mark.parametrize("filter", UNSUPPORTED_FILTERS, ids=repr)
    def test_unsupported_filters_are_refused(self, people: Collection, filter: dict[str, Any]) -> None:
        with pytest.raises(ValueError):
            people.find(filter)
        with pytest.raises(ValueError):
            people.count_documents(filter)

    def test_find_one_returns_the_whole_document_or_none(self, people: Collection) -> None:
        ann = people.find_one({"name": "Ann"})
        assert ann == {**PEOPLE[0], "version": 1}
        assert people.find_one({"name": "Zed"}) is None

    def test_find_returns_copies(self, people: Collection) -> None:
        people.find_one({"_id": "ann"})["tags"].append("changed")  # type: ignore[index]
        assert people.find_one({"_id": "ann"})["tags"] == ["carer", "parent"]  # type: ignore[index]

    def test_count_documents(self, store: Store, people: Collection) -> None:
        assert people.count_documents() == 4
        assert people.count_documents({}) == 4
        assert people.count_documents({"active": True}) == 3
        assert store.collection("nobody_here").count_documents() == 0

    # ------------------------------------------------------ sort, skip, limit

    def test_sort_ascending_puts_missing_first(self, people: Collection) -> None:
        assert ids(people.find(sort=[("score", 1)])) == ["dee", "bob", "ann", "cy"]

    def test_sort_descending_puts_missing_last(self, people: Collection) -> None:
        assert ids(people.find(sort=[("score", -1)])) == ["cy", "ann", "bob", "dee"]

    def test_sort_on_strings(self, people: Collection) -> None:
        assert ids(people.find(sort=[("name", -1)])) == ["dee", "cy", "bob", "ann"]

    def test_sort_on_two_keys_and_a_dotted_path(self, people: Collection) -> None:
        # dee has no address, so address.city is missing: it comes first.
        assert ids(people.find(sort=[("address.city", 1), ("name", -1)])) == ["dee", "cy", "ann", "bob"]

    def test_sort_with_a_filter(self, people: Collection) -> None:
        assert ids(people.find({"active": True}, sort=[("name", -1)])) == ["dee", "cy", "ann"]

    def test_skip_and_limit(self, people: Collection) -> None:
        assert ids(people.find(sort=[("name", 1)], skip=1, limit=2)) == ["bob", "cy"]
        assert ids(people.find(sort=[("name", 1)], limit=0)) == EVERYONE
        assert ids(people.find(sort=[("name", 1)], skip=3)) == ["dee"]
        assert people.find(sort=[("name", 1)], skip=10) == []

    def test_equal_keys_are_ordered_by_id(self, store: Store) -> None:
        items = store.collection("items")
        for _id in ["k", "c", "x", "a", "m"]:
            items.insert_one({"_id": _id, "rank": 1})
        items.insert_one({"_id": "b", "rank": 0})
        assert ids(items.find(sort=[("rank", 1)])) == ["b", "a", "c", "k", "m", "x"]
        assert ids(items.find(sort=[("rank", -1)])) == ["x", "m", "k", "c", "a", "b"]

    def test_pages_neither_repeat_nor_lose_documents(self, store: Store) -> None:
        items = store.collection("items")
        items.create_index("rank")
        for n in range(11):
            items.insert_one({"_id": f"i{n:02d}", "rank": n % 3})
        pages = [ids(items.find(sort=[("rank", 1)], skip=s, limit=4)) for s in (0, 4, 8)]
        assert [i for page in pages for i in page] == ids(items.find(sort=[("rank", 1)]))
        assert sorted(i for page in pages for i in page) == [f"i{n:02d}" for n in range(11)]

    def test_bad_sort_is_refused(self, people: Collection) -> None:
        with pytest.raises(ValueError):
            people.find(sort=[("name", 0)])

    # ------------------------------------------------------------------ inserts

    def test_insert_generates_a_string_id_and_version_1(self, store: Store) -> None:
        plans = store.collection("plans")
        doc = {"child": "c1"}
        _id = plans.insert_one(doc)
        assert isinstance(_id, str) and re.fullmatch(r"[0-9a-f]{32}", _id)
        assert plans.find_one({"_id": _id}) == {"_id": _id, "child": "c1", "version": 1}
        assert doc == {"child": "c1"}, "the caller's dict must not be modified"

    def test_insert_keeps_a_given_id_and_version(self, store: Store) -> None:
        plans = store.collection("plans")
        assert plans.insert_one({"_id": "p1", "version": 7}) == "p1"
        assert plans.find_one({"_id": "p1"}) == {"_id": "p1", "version": 7}

    def test_documents_round_trip(self, store: Store) -> None:
        doc = {
            "_id": "d1",
            "text": "Zoë — ünïcödé ✓ 'quoted' \"double\"",
            "int": 2**53 + 1,
            "negative": -12,
            "float": 0.1,
            "true": True,
            "false": False,
            "none": None,
            "empty_list": [],
            "empty_dict": {},
            "nested": {"list": [1, "two", {"three": [3.0, None]}], "deep": {"er": {"est": "x"}}},
            "version": 1,
        }
        store.collection("docs").insert_one(doc)
        assert store.collection("docs").find_one({"_id": "d1"}) == doc

    def test_insert_of_a_used_id_raises_duplicate_key(self, people: Collection) -> None:
        with pytest.raises(DuplicateKey):
            people.insert_one({"_id": "ann", "name": "Another Ann"})
        assert people.find_one({"_id": "ann"})["name"] == "Ann"  # type: ignore[index]

    def test_documents_must_be_json_shaped(self, store: Store) -> None:
        import datetime

        docs = store.collection("docs")
        with pytest.raises(TypeError):
            docs.insert_one({"when": datetime.datetime(2024, 1, 1)})
        with pytest.raises(TypeError):
            docs.insert_one({"_id": 12})
        with pytest.raises(ValueError):
            docs.insert_one({"a.b": 1})
        with pytest.raises(ValueError):
            docs.insert_one({"$set": 1})
        with pytest.raises(ValueError):
            docs.insert_one({"x": float("nan")})
        assert docs.count_documents() == 0

    @pytest.mark.parametrize(
        "name",
        ["outbox", "leases", "processed_events", "log_entries", "log_heads", "", "has space", "$x", "system.users"],
    )
    def test_reserved_or_invalid_collection_names_are_refused(self, store: Store, name: str) -> None:
        with pytest.raises(ValueError):
            store.collection(name)

    def test_delete_one(self, people: Collection) -> None:
        assert people.delete_one({"active": True}) == 1
        assert people.count_documents({"active": True}) == 2
        assert people.delete_one({"name": "Zed"}) == 0
        assert people.delete_one({"_id": "bob"}) == 1
        assert people.find_one({"_id": "bob"}) is None
        assert people.count_documents() == 2

    # ------------------------------------------------------------------ indexes

    def test_unique_index_refuses_a_duplicate_insert(self, people: Collection) -> None:
        people.create_index("name", unique=True)
        with pytest.raises(DuplicateKey):
            people.insert_one({"name": "Ann"})
        assert people.count_documents({"name": "Ann"}) == 1

    def test_unique_index_refuses_a_duplicate_update(self, people: Collection) -> None:
        people.create_index("name", unique=True)
        with pytest.raises(DuplicateKey):
            people.update_one({"_id": "bob"}, {"$set": {"name": "Ann"}})
        assert people.find_one({"_id": "bob"})["name"] == "Bob"  # type: ignore[index]
        with pytest.raises(DuplicateKey):
            people.update_one({"_id": "new"}, {"$set": {"name": "Cy"}}, upsert=True)
        assert people.find_one({"_id": "new"}) is None

    def test_unique_index_on_a_dotted_path(self, store: Store) -> None:
        cases = store.collection("cases")
        cases.create_index("child.ref", unique=True)
        cases.insert_one({"child": {"ref": "C-1"}})
        cases.insert_one({"child": {"ref": "C-2"}})
        with pytest.raises(DuplicateKey):
            cases.insert_one({"child": {"ref": "C-1", "name": "other"}})
        assert cases.count_documents() == 2

    def test_unique_index_ignores_documents_without_the_field(self, store: Store) -> None:
        accounts = store.collection("accounts")
        accounts.create_index("email", unique=True)
        accounts.insert_one({"name": "no email 1"})
        accounts.insert_one({"name": "no email 2"})
        accounts.insert_one({"email": "a@example.org"})
        assert accounts.count_documents() == 3

    def test_unique_index_over_existing_duplicates_raises_duplicate_key(self, people: Collection) -> None:
        with pytest.raises(DuplicateKey):
            people.create_index("active", unique=True)
        # and the failed index does not constrain later writes
        people.insert_one({"active": True})

    def test_create_index_is_idempotent(self, people: Collection) -> None:
        for _ in range(2):
            people.create_index("name", unique=True)
            people.create_index("age")
            people.create_index("address.city")
        people.insert_one({"name": "Eve", "age": 27})
        with pytest.raises(DuplicateKey):
            people.insert_one({"name": "Eve"})

    def test_a_plain_index_allows_duplicates(self, people: Collection) -> None:
        people.create_index("address.city")
        people.insert_one({"_id": "eve", "name": "Eve", "address": {"city": "Leeds"}})
        assert sorted(ids(people.find({"address.city": "Leeds"}))) == ["ann", "cy", "eve"]
        assert people.count_documents({"address.city": "Leeds"}) == 3

    # ------------------------------------------------------------------ updates

    def test_set_on_a_field_and_a_new_dotted_path(self, people: Collection) -> None:
        assert people.update_one({"_id": "bob"}, {"$set": {"age": 28, "address.postcode": "YO1", "a.b.c": 1}}) == 1
        bob = people.find_one({"_id": "bob"})
        assert bob["age"] == 28 and bob["address"] == {"city": "York", "postcode": "YO1"}  # type: ignore[index]
        assert bob["a"] == {"b": {"c": 1}}  # type: ignore[index]

    def test_update_does_not_change_the_version(self, people: Collection) -> None:
        people.update_one({"_id": "bob"}, {"$set": {"age": 28}})
        assert people.find_one({"_id": "bob"})["version"] == 1  # type: ignore[index]

    def test_unset(self, people: Collection) -> None:
        people.update_one({"_id": "ann"}, {"$unset": {"address.postcode": "", "score": "", "missing": ""}})
        ann = people.find_one({"_id": "ann"})
        assert ann["address"] == {"city": "Leeds"} and "score" not in ann  # type: ignore[index,operator]

    def test_inc(self, people: Collection) -> None:
        people.update_one({"_id": "ann"}, {"$inc": {"age": 1, "score": 0.5, "visits": 2}})
        ann = people.find_one({"_id": "ann"})
        assert (ann["age"], ann["score"], ann["visits"]) == (35, 8.0, 2)  # type: ignore[index]
        people.update_one({"_id": "ann"}, {"$inc": {"age": -5}})
        assert people.find_one({"_id": "ann"})["age"] == 30  # type: ignore[index]

    def test_push(self, people: Collection) -> None:
        people.update_one({"_id": "bob"}, {"$push": {"tags": "carer", "notes": {"text": "first"}}})
        bob = people.find_one({"_id": "bob"})
        assert bob["tags"] == ["parent", "carer"] and bob["notes"] == [{"text": "first"}]  # type: ignore[index]

    def test_set_on_insert_is_ignored_when_a_document_matches(self, people: Collection) -> None:
        assert (
            people.update_one({"_id": "bob"}, {"$set": {"age": 30}, "$setOnInsert": {"created": "now"}}, upsert=True)
            == 1
        )
        bob = people.find_one({"_id": "bob"})
        assert bob["age"] == 30 and "created" not in bob  # type: ignore[index,operator]
        assert people.count_documents() == 4

    def test_upsert_inserts_from_filter_and_update(self, store: Store) -> None:
        counters = store.collection("counters")
        matched = counters.update_one(
            {"kind": "plan", "year": 2024, "status": {"$in": ["open"]}},
            {"$inc": {"value": 1}, "$set": {"meta.by": "test"}, "$setOnInsert": {"created": "2024-01-01"}},
            upsert=True,
        )
        assert matched == 0
        doc = counters.find_one({"kind": "plan"})
        assert doc is not None and isinstance(doc["_id"], str) and re.fullmatch(r"[0-9a-f]{32}", doc["_id"])
        assert without_id(doc) == {
            "kind": "plan",
            "year": 2024,
            "value": 1,
            "meta": {"by": "test"},
            "created": "2024-01-01",
            "version": 1,
        }
        assert counters.update_one({"kind": "plan", "year": 2024}, {"$inc": {"value": 1}}, upsert=True) == 1
        assert counters.find_one({"kind": "plan"})["value"] == 2  # type: ignore[index]
        assert counters.count_documents() == 1

    def test_upsert_uses_the_filter_id(self, store: Store) -> None:
        counters = store.collection("counters")
        counters.update_one({"_id": "plan-refs"}, {"$inc": {"next": 1}}, upsert=True)
        assert counters.find_one({"_id": "plan-refs"}) == {"_id": "plan-refs", "next": 1, "version": 1}

    def test_update_without_match_does_nothing(self, people: Collection) -> None:
        assert people.update_one({"name": "Zed"}, {"$set": {"age": 1}}) == 0
        assert people.count_documents() == 4

    def test_update_changes_one_document_only(self, people: Collection) -> None:
        assert people.update_one({"active": True}, {"$set": {"flag": 1}}) == 1
        assert people.count_documents({"flag": 1}) == 1

    @pytest.mark.parametrize("update", BAD_UPDATES, ids=repr)
    def test_bad_updates_are_refused(self, people: Collection, update: dict[str, Any]) -> None:
        with pytest.raises(ValueError):
            people.update_one({"_id": "ann"}, update)
        assert people.find_one({"_id": "ann"}) == {**PEOPLE[0], "version": 1}

    # ----------------------------------------------------------- units of work

    def test_unit_of_work_commits_everything_together(self, store: Store, people: Collection) -> None:
        with store.unit_of_work() as uow:
            new_id = uow.insert("plans", {"child": "c1", "version": 99})
            assert uow.replace("people", {**PEOPLE[1], "age": 28}, expected_version=1) == 2
            uow.update("counters", {"_id": "plans"}, {"$inc": {"n": 1}}, upsert=True)
            uow.publish("plan.created", {"plan": new_id}, message_id="m1", headers={"trace": "t1"})
            uow.mark_processed("e1", "plans-consumer")
            # buffered: nothing visible before the block ends
            assert store.collection("plans").find_one({"_id": new_id}) is None
            assert people.find_one({"_id": "bob"})["age"] == 27  # type: ignore[index]
            assert store.outbox_pending() == []
            assert not store.is_processed("e1", "plans-consumer")
        assert store.collection("plans").find_one({"_id": new_id}) == {"_id": new_id, "child": "c1", "version": 1}
        assert people.find_one({"_id": "bob"}) == {**PEOPLE[1], "age": 28, "version": 2}
        assert store.collection("counters").find_one({"_id": "plans"})["n"] == 1  # type: ignore[index]
        [message] = store.outbox_pending()
        assert (message.message_id, message.routing_key, message.body, message.headers) == (
            "m1",
            "plan.created",
            {"plan": new_id},
            {"trace": "t1"},
        )
        assert store.is_processed("e1", "plans-consumer")

    def test_a_version_conflict_leaves_no_trace(self, store: Store, people: Collection) -> None:
        with pytest.raises(VersionConflict) as raised:
            with store.unit_of_work() as uow:
                uow.insert("plans", {"_id": "plan-1", "child": "c1"})
                uow.replace("people", {**PEOPLE[0], "age": 35}, expected_version=1)
                uow.replace("people", {**PEOPLE[1], "age": 99}, expected_version=5)  # stale
                uow.update("counters", {"_id": "plans"}, {"$inc": {"n": 1}}, upsert=True)
                uow.publish("plan.created", {"plan": "plan-1"}, message_id="m1")
                uow.mark_processed("e1", "plans-consumer")
        conflict = raised.value
        assert (conflict.collection, conflict.doc_id, conflict.expected, conflict.actual) == ("people", "bob", 5, 1)
        assert store.collection("plans").find_one({"_id": "plan-1"}) is None
        assert people.find_one({"_id": "ann"}) == {**PEOPLE[0], "version": 1}
        assert people.find_one({"_id": "bob"}) == {**PEOPLE[1], "version": 1}
        assert store.collection("counters").count_documents() == 0
        assert store.outbox_pending() == []
        assert store.outbox_stats().pending == 0
        assert not store.is_processed("e1", "plans-consumer")

    def test_replacing_a_missing_document_is_a_version_conflict(self, store: Store) -> None:
        with pytest.raises(VersionConflict) as raised:
            with store.unit_of_work() as uow:
                uow.replace("plans", {"_id": "ghost", "x": 1}, expected_version=1)
        assert raised.value.actual is None
        assert store.collection("plans").count_documents() == 0

    def test_a_duplicate_key_at_commit_leaves_no_trace(self, store: Store, people: Collection) -> None:
        with pytest.raises(DuplicateKey):
            with store.unit_of_work() as uow:
                uow.insert("plans", {"_id": "plan-1"})
                uow.insert("people", {"_id": "ann", "name": "Ann again"})
                uow.publish("x", {}, message_id="m1")
                uow.mark_processed("e1", "c")
        assert store.collection("plans").count_documents() == 0
        assert people.find_one({"_id": "ann"})["name"] == "Ann"  # type: ignore[index]
        assert store.outbox_pending() == [] and not store.is_processed("e1", "c")

    def test_a_unique_index_violation_at_commit_leaves_no_trace(self, store: Store, people: Collection) -> None:
        people.create_index("name", unique=True)
        with pytest.raises(DuplicateKey):
            with store.unit_of_work() as uow:
                uow.replace("people", {**PEOPLE[2], "age": 42}, expected_version=1)
                uow.update("people", {"_id": "bob"}, {"$set": {"name": "Ann"}})
                uow.publish("x", {}, message_id="m1")
        assert people.find_one({"_id": "cy"})["age"] == 41  # type: ignore[index]
        assert people.find_one({"_id": "bob"})["name"] == "Bob"  # type: ignore[index]
        assert store.outbox_pending() == []

    def test_an_exception_in_the_block_discards_the_writes(self, store: Store) -> None:
        with pytest.raises(RuntimeError, match="boom"):
            with store.unit_of_work() as uow:
                uow.insert("plans", {"_id": "plan-1"})
                uow.publish("x", {}, message_id="m1")
                raise RuntimeError("boom")
        assert store.collection("plans").count_documents() == 0
        assert store.outbox_pending() == []

    def test_replace_bumps_the_version(self, store: Store) -> None:
        plans = store.collection("plans")
        plans.insert_one({"_id": "p", "status": "draft"})
        for expected in (1, 2, 3):
            with store.unit_of_work() as uow:
                # the version in the document itself does not matter
                assert (
                    uow.replace(
                        "plans", {"_id": "p", "status": f"s{expected}", "version": 1}, expected_version=expected
                    )
                    == expected + 1
                )
            assert plans.find_one({"_id": "p"}) == {"_id": "p", "status": f"s{expected}", "version": expected + 1}

    def test_delete_removes_the_version_read_with_the_rest_of_the_unit(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.insert("plans", {"_id": "p", "status": "ended"})
            uow.insert("plans", {"_id": "q", "status": "ended"})
        with store.unit_of_work() as uow:
            uow.remove("plans", "p", expected_version=1)
            uow.append("audit", {"action": "erase", "record_id": "p"})
        assert store.collection("plans").find_one({"_id": "p"}) is None
        assert ids(store.collection("plans").find()) == ["q"]
        assert [r.entry["action"] for r in store.read_log("audit")] == ["erase"]

    def test_a_delete_of_a_changed_or_missing_document_leaves_no_trace(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.insert("plans", {"_id": "p", "status": "active"})
            uow.insert("plans", {"_id": "q", "status": "active"})
        with store.unit_of_work() as uow:
            uow.replace("plans", {"_id": "p", "status": "ended"}, expected_version=1)
        for gone, expected in (("p", 1), ("nobody", 1)):
            with pytest.raises(VersionConflict), store.unit_of_work() as uow:
                uow.remove("plans", "q", expected_version=1)
                uow.append("audit", {"action": "erase"})
                uow.remove("plans", gone, expected_version=expected)
            assert store.collection("plans").find_one({"_id": "q"}) is not None
            assert store.collection("plans").find_one({"_id": "p"})["version"] == 2  # type: ignore[index]
            assert store.read_log("audit") == []
        with pytest.raises(TypeError), store.unit_of_work() as uow:
            uow.remove("plans", "q", expected_version="1")  # type: ignore[arg-type]

    def test_forget_sent_removes_the_sent_messages_mentioning_an_id_and_keeps_the_rest(self, store: Store) -> None:
        about = "a1b2c3d4e5f6"
        with store.unit_of_work() as uow:
            uow.publish("child.registered.v1", {"data": {"child_id": about, "name": "Ann"}}, message_id="m1")
            uow.publish("family.updated.v1", {"data": {"children": [{"child_id": about}]}}, message_id="m2")
            uow.publish("child.registered.v1", {"data": {"child_id": "someone-else"}}, message_id="m3")
        store.outbox_mark_sent([m.seq for m in store.outbox_pending()])
        with store.unit_of_work() as uow:
            uow.publish("child.updated.v1", {"data": {"child_id": about}}, message_id="m4")  # not yet sent
        with pytest.raises(VersionConflict), store.unit_of_work() as uow:
            uow.forget_sent_mentioning(about)
            uow.remove("plans", "nobody", expected_version=1)
        with pytest.raises(DuplicateKey), store.unit_of_work() as uow:  # the unit that failed forgot nothing
            uow.publish("x.y.v1", {"data": {}}, message_id="m1")
        with store.unit_of_work() as uow:
            uow.forget_sent_mentioning(about)
            uow.publish("child.erased.v1", {"data": {"child_id": about}}, message_id="m5")
        assert [m.message_id for m in store.outbox_pending()] == ["m4", "m5"]
        with store.unit_of_work() as uow:  # m1 and m2 are gone: publishing their ids again is allowed
            uow.publish("x.y.v1", {"data": {}}, message_id="m1")
        with pytest.raises(ValueError):
            store.begin().forget_sent_mentioning("a1")

    def test_unit_of_work_insert_starts_at_version_1(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            _id = uow.insert("plans", {"status": "draft"})
        assert isinstance(_id, str) and store.collection("plans").find_one({"_id": _id})["version"] == 1  # type: ignore[index]

    def test_writes_apply_in_call_order(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.insert("plans", {"_id": "p", "reviews": []})
            uow.update("plans", {"_id": "p"}, {"$push": {"reviews": "r1"}})
            uow.update("plans", {"_id": "p"}, {"$push": {"reviews": "r2"}})
            uow.replace("plans", {"_id": "p", "reviews": ["r1", "r2"], "closed": True}, expected_version=1)
        assert store.collection("plans").find_one({"_id": "p"}) == {
            "_id": "p",
            "reviews": ["r1", "r2"],
            "closed": True,
            "version": 2,
        }

    def test_a_unit_of_work_cannot_be_used_after_its_block(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.insert("plans", {"_id": "p"})
        with pytest.raises(RuntimeError):
            uow.insert("plans", {"_id": "q"})

    def test_an_empty_unit_of_work_is_fine(self, store: Store) -> None:
        with store.unit_of_work():
            pass
        assert store.outbox_pending() == []

    def test_arguments_are_checked_when_called(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            with pytest.raises(ValueError):
                uow.update("plans", {"$or": []}, {"$set": {"a": 1}})
            with pytest.raises(ValueError):
                uow.update("plans", {}, {"$rename": {"a": "b"}})
            with pytest.raises(ValueError):
                uow.replace("plans", {"no": "id"}, expected_version=1)
            with pytest.raises(ValueError):
                uow.insert("outbox", {})
            doc: dict[str, Any] = {"_id": "p", "tags": ["a"]}
            uow.insert("plans", doc)
            doc["tags"].append("changed after the call")
        assert store.collection("plans").find_one({"_id": "p"})["tags"] == ["a"]  # type: ignore[index]

    # ------------------------------------------------------- processed events

    # -- group commit --
    def test_commit_all_commits_each_unit_on_its_own(self, store: Store) -> None:
        store.collection("cases").insert_one({"_id": "existing", "n": 1})
        store.collection("cases").create_index("ref", unique=True)
        fine, stale, clash, also_fine = (store.begin() for _ in range(4))
        fine.insert("cases", {"_id": "a", "ref": "r-a"})
        fine.publish("case.opened.v1", {"case": "a"}, message_id="ev-a")
        fine.mark_processed("in-a", "docs")
        stale.insert("cases", {"_id": "b"})
        stale.replace("cases", {"_id": "existing", "n": 2}, expected_version=7)
        stale.publish("case.opened.v1", {"case": "b"}, message_id="ev-b")
        stale.mark_processed("in-b", "docs")
        clash.insert("cases", {"_id": "c", "ref": "r-a"})  # the same unique ref as unit `fine`
        clash.mark_processed("in-c", "docs")
        also_fine.replace("cases", {"_id": "existing", "n": 3}, expected_version=1)
        also_fine.mark_processed("in-d", "docs")
        outcomes = store.commit_all([fine, stale, clash, also_fine])
        assert outcomes[0] is None and outcomes[3] is None
        assert isinstance(outcomes[1], VersionConflict)
        assert isinstance(outcomes[2], DuplicateKey)
        cases = store.collection("cases")
        assert cases.find_one({"_id": "a"})["ref"] == "r-a"  # type: ignore[index]
        assert cases.find_one({"_id": "b"}) is None and cases.find_one({"_id": "c"}) is None
        assert cases.find_one({"_id": "existing"}) == {"_id": "existing", "n": 3, "version": 2}
        assert [m.message_id for m in store.outbox_pending()] == ["ev-a"]
        assert store.is_processed("in-a", "docs") and store.is_processed("in-d", "docs")
        assert not store.is_processed("in-b", "docs") and not store.is_processed("in-c", "docs")

    def test_commit_all_reports_a_duplicate_event_for_that_unit_only(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.mark_processed("seen", "docs")
        again, new = store.begin(), store.begin()
        again.insert("effects", {"_id": "e1"})
        again.mark_processed("seen", "docs")
        new.insert("effects", {"_id": "e2"})
        new.mark_processed("new", "docs")
        outcomes = store.commit_all([again, new])
        assert isinstance(outcomes[0], AlreadyProcessed) and outcomes[1] is None
        assert [d["_id"] for d in store.collection("effects").find({})] == ["e2"]

    def test_commit_all_of_nothing(self, store: Store) -> None:
        assert store.commit_all([]) == []
        assert store.commit_all([store.begin()]) == [None]

    def test_a_unit_committed_by_commit_all_cannot_be_reused(self, store: Store) -> None:
        uow = store.begin()
        uow.insert("cases", {"_id": "x"})
        store.commit_all([uow])
        with pytest.raises(RuntimeError):
            uow.insert("cases", {"_id": "y"})

    def test_mark_processed_twice_is_already_processed(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.insert("effects", {"_id": "first"})
            uow.mark_processed("e1", "consumer-a")
        assert store.is_processed("e1", "consumer-a")
        with pytest.raises(AlreadyProcessed) as raised:
            with store.unit_of_work() as uow:
                uow.insert("effects", {"_id": "second"})
                uow.update("effects", {"_id": "first"}, {"$set": {"again": True}})
                uow.publish("effect.done", {}, message_id="m2")
                uow.mark_processed("e1", "consumer-a")
        assert raised.value.event_id == "e1"
        assert store.collection("effects").find_one({"_id": "second"}) is None
        assert store.collection("effects").find_one({"_id": "first"}) == {"_id": "first", "version": 1}
        assert store.outbox_pending() == []

    def test_already_processed_wins_over_a_version_conflict(self, store: Store) -> None:
        store.collection("effects").insert_one({"_id": "x"})
        with store.unit_of_work() as uow:
            uow.replace("effects", {"_id": "x", "n": 1}, expected_version=1)
            uow.mark_processed("e1", "consumer-a")
        with pytest.raises(AlreadyProcessed):
            with store.unit_of_work() as uow:  # the redelivery, with the same stale read
                uow.replace("effects", {"_id": "x", "n": 1}, expected_version=1)
                uow.mark_processed("e1", "consumer-a")

    def test_processed_marks_are_per_consumer(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.mark_processed("e1", "consumer-a")
        with store.unit_of_work() as uow:
            uow.mark_processed("e1", "consumer-b")
            uow.mark_processed("e2", "consumer-a")
        assert store.is_processed("e1", "consumer-b") and store.is_processed("e2", "consumer-a")
        assert not store.is_processed("e2", "consumer-b") and not store.is_processed("e3", "consumer-a")

    # ------------------------------------------------------------- concurrency

    def test_concurrent_replaces_one_wins_and_nothing_is_lost(self, store: Store) -> None:
        """Two writers read the same version; exactly one commit succeeds, the
        other gets VersionConflict, and after re-reading its retry succeeds."""
        plans = store.collection("plans")
        plans.insert_one({"_id": "p", "writers": []})
        barrier = threading.Barrier(2, timeout=20)
        outcomes: dict[str, Any] = {}

        def writer(name: str) -> None:
            try:
                doc = plans.find_one({"_id": "p"})
                assert doc is not None
                barrier.wait()  # both have read version 1 before either writes
                try:
                    with store.unit_of_work() as uow:
                        uow.replace(
                            "plans", {**doc, "writers": doc["writers"] + [name]}, expected_version=doc["version"]
                        )
                    outcomes[name] = "won"
                except VersionConflict as exc:
                    outcomes[name] = exc
                    while True:  # the loser re-reads and tries again
                        doc = plans.find_one({"_id": "p"})
                        assert doc is not None
                        try:
                            with store.unit_of_work() as uow:
                                uow.replace(
                                    "plans",
                                    {**doc, "writers": doc["writers"] + [name]},
                                    expected_version=doc["version"],
                                )
                            break
                        except VersionConflict:
                            continue
            except BaseException as exc:  # surfaced by the main thread
                outcomes[name] = exc

        threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        winners = [n for n, o in outcomes.items() if o == "won"]
        losers = {n: o for n, o in outcomes.items() if isinstance(o, VersionConflict)}
        assert len(winners) == 1 and len(losers) == 1, outcomes
        [conflict] = losers.values()
        assert (conflict.expected, conflict.actual) == (1, 2)
        final = plans.find_one({"_id": "p"})
        assert final is not None and final["version"] == 3
        assert final["writers"] == [winners[0], *losers]

    def test_threads_incrementing_with_retries_lose_nothing(self, store: Store) -> None:
        counters = store.collection("counters")
        counters.insert_one({"_id": "c", "n": 0})
        threads_count, increments = 4, 10
        conflicts: list[int] = []
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                for _ in range(increments):
                    while True:
                        doc = counters.find_one({"_id": "c"})
                        assert doc is not None
                        try:
                            with store.unit_of_work() as uow:
                                uow.replace("counters", {**doc, "n": doc["n"] + 1}, expected_version=doc["version"])
                            break
                        except VersionConflict:
                            conflicts.append(1)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(threads_count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        doc = counters.find_one({"_id": "c"})
        assert doc is not None
        assert doc["n"] == threads_count * increments
        assert doc["version"] == threads_count * increments + 1

    def test_readers_never_see_part_of_a_unit_of_work(self, store: Store) -> None:
        """Each unit inserts a pair of documents, and every third one then
        fails; a reader counting all the while must only ever see whole pairs."""
        pairs = store.collection("pairs")
        pairs.insert_one({"_id": "stale"})
        rounds, odd_counts, errors = 150, [], []
        done = threading.Event()

        def write() -> None:
            try:
                for n in range(rounds):
                    try:
                        with store.unit_of_work() as uow:
                            uow.insert("pairs", {"pair": n, "half": 1})
                            uow.insert("pairs", {"pair": n, "half": 2})
                            if n % 3 == 0:
                                uow.replace("pairs", {"_id": "stale"}, expected_version=0)
                    except VersionConflict:
                        pass
            except BaseException as exc:
                errors.append(exc)
            finally:
                done.set()

        def read() -> None:
            try:
                while not done.is_set():
                    count = pairs.count_documents({"half": {"$in": [1, 2]}})
                    if count % 2:
                        odd_counts.append(count)
            except BaseException as exc:
                errors.append(exc)

        race([write, read])
        assert errors == [] and odd_counts == []
        assert pairs.count_documents({"half": {"$in": [1, 2]}}) == 2 * len([n for n in range(rounds) if n % 3])

    def test_any_interleaving_of_read_replace_retry_counts_every_increment(self, store: Store) -> None:
        """Each worker loops: read, then replace with count + 1 expecting the
        version it read, re-reading on VersionConflict. Hypothesis picks which
        worker takes its next step, so reads and writes interleave in every
        order; the counter must always end at the number of increments."""
        counters = store.collection("counters")

        # Defined per call (not as a @given method) so that each adapter's
        # subclass runs its own property over its own store.
        @settings(max_examples=25, deadline=None, database=None)
        @given(
            workers=st.integers(min_value=2, max_value=4),
            increments=st.integers(min_value=1, max_value=4),
            schedule=st.lists(st.integers(min_value=0, max_value=3), max_size=40),
        )
        def interleaving(workers: int, increments: int, schedule: list[int]) -> None:
            doc_id = uuid.uuid4().hex  # the examples share the store
            counters.insert_one({"_id": doc_id, "n": 0})
            remaining = [increments] * workers
            read: list[dict[str, Any] | None] = [None] * workers
            commits = 0

            def step(w: int) -> None:
                nonlocal commits
                if remaining[w] == 0:
                    return
                if read[w] is None:
                    read[w] = counters.find_one({"_id": doc_id})
                    return
                doc, read[w] = read[w], None
                assert doc is not None
                try:
                    with store.unit_of_work() as uow:
                        uow.replace("counters", {**doc, "n": doc["n"] + 1}, expected_version=doc["version"])
                except VersionConflict:
                    return  # re-read on the next step
                remaining[w] -= 1
                commits += 1

            for w in schedule:
                step(w % workers)
            while any(remaining):
                for w in range(workers):
                    step(w)
            final = counters.find_one({"_id": doc_id})
            total = workers * increments
            assert final is not None and final["n"] == total and final["version"] == total + 1
            assert commits == total

        interleaving()

    # ------------------------------------------------------------------ outbox

    def test_outbox_lists_pending_messages_in_commit_order(self, store: Store) -> None:
        before = time.time()
        with store.unit_of_work() as uow:
            uow.publish("plan.created", {"n": 1}, message_id="m1")
            uow.publish("plan.updated", {"n": 2}, message_id="m2", headers={"h": "v"})
        with store.unit_of_work() as uow:
            uow.publish("plan.closed", {"n": 3, "nested": {"list": [1, None]}}, message_id="m3")
        after = time.time()
        pending = store.outbox_pending()
        assert [m.message_id for m in pending] == ["m1", "m2", "m3"]
        assert [m.routing_key for m in pending] == ["plan.created", "plan.updated", "plan.closed"]
        assert [m.body for m in pending] == [{"n": 1}, {"n": 2}, {"n": 3, "nested": {"list": [1, None]}}]
        assert [m.headers for m in pending] == [{}, {"h": "v"}, {}]
        seqs = [m.seq for m in pending]
        assert seqs == sorted(seqs) and len(set(seqs)) == 3
        assert all(isinstance(m, OutboxMessage) and before - 1 <= m.created_at <= after + 1 for m in pending)
        assert [m.message_id for m in store.outbox_pending(limit=2)] == ["m1", "m2"]

    def test_outbox_order_follows_commits_not_calls(self, store: Store) -> None:
        # The unit opened first commits last: its message must come last.
        with store.unit_of_work() as late:
            late.publish("x", {}, message_id="late")
            with store.unit_of_work() as early:
                early.publish("x", {}, message_id="early")
        assert [m.message_id for m in store.outbox_pending()] == ["early", "late"]

    def test_mark_sent_removes_messages_from_pending(self, store: Store) -> None:
        for n in range(3):
            with store.unit_of_work() as uow:
                uow.publish("x", {"n": n}, message_id=f"m{n}")
        first, second, third = store.outbox_pending()
        store.outbox_mark_sent([first.seq, third.seq])
        assert [m.message_id for m in store.outbox_pending()] == ["m1"]
        store.outbox_mark_sent([first.seq, 10_000_000])  # already sent or unknown: ignored
        store.outbox_mark_sent([])
        assert [m.seq for m in store.outbox_pending()] == [second.seq]
        with store.unit_of_work() as uow:
            uow.publish("x", {}, message_id="m3")
        assert [m.message_id for m in store.outbox_pending()] == ["m1", "m3"]
        assert store.outbox_pending()[1].seq > third.seq

    def test_outbox_stats(self, store: Store) -> None:
        empty = store.outbox_stats()
        assert (empty.pending, empty.oldest_created_at) == (0, None)
        with store.unit_of_work() as uow:
            uow.publish("x", {}, message_id="m1")
        time.sleep(0.02)
        with store.unit_of_work() as uow:
            uow.publish("x", {}, message_id="m2")
        first, second = store.outbox_pending()
        stats = store.outbox_stats()
        assert stats.pending == 2
        assert stats.oldest_created_at is not None
        assert stats.oldest_created_at == pytest.approx(first.created_at)
        assert 0 <= time.time() - stats.oldest_created_at < 60
        store.outbox_mark_sent([first.seq])
        stats = store.outbox_stats()
        assert stats.pending == 1 and stats.oldest_created_at == pytest.approx(second.created_at)
        assert second.created_at > first.created_at

    def test_a_message_id_is_published_once(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.publish("x", {}, message_id="m1")
        with pytest.raises(DuplicateKey):
            with store.unit_of_work() as uow:
                uow.insert("plans", {"_id": "p"})
                uow.publish("x", {"again": True}, message_id="m1")
        assert store.collection("plans").count_documents() == 0
        assert [m.body for m in store.outbox_pending()] == [{}]

    # -------------------------------------------------------- append-only logs

    def test_log_entries_of_one_unit_get_consecutive_seqs_in_call_order(self, store: Store) -> None:
        before = time.time()
        with store.unit_of_work() as uow:
            uow.insert("plans", {"_id": "p"})
            for n in range(5):
                uow.append("audit", {"n": n, "action": "read", "plan": "p"})
            assert store.read_log("audit") == [], "buffered, like every other write"
        after = time.time()
        records = store.read_log("audit")
        assert [r.seq for r in records] == [1, 2, 3, 4, 5]
        assert [r.entry for r in records] == [{"n": n, "action": "read", "plan": "p"} for n in range(5)]
        assert all(isinstance(r, LogRecord) and before - 1 <= r.committed_at <= after + 1 for r in records)

    def test_log_records_are_hash_chained(self, store: Store) -> None:
        first_entry = {
            "who": "sw-1",
            "text": "Zoë — ✓ 'q' \"dq\"",
            "big": 2**53 + 1,
            "float": 0.1,
            "nested": {"list": [1, None, True, {"_id": "nested keys may start with _"}]},
        }
        with store.unit_of_work() as uow:
            uow.append("audit", first_entry)
            uow.append("audit", {"who": "sw-2"})
        first, second = store.read_log("audit")
        assert first.entry == first_entry and second.entry == {"who": "sw-2"}
        assert first.prev_hash == GENESIS == "0" * 64
        # The hash, spelt out as the port documents it.
        canonical = json.dumps(
            {"seq": 1, "prev_hash": GENESIS, "entry": first_entry},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode("utf-8")
        assert first.hash == hashlib.sha256(canonical).hexdigest() == entry_hash(1, GENESIS, first_entry)
        assert second.prev_hash == first.hash and second.hash == entry_hash(2, first.hash, second.entry)
        assert store.verify_log("audit") == ChainReport(ok=True, checked=2, last_seq=2, last_hash=second.hash)

    def test_logs_are_independent(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.append("audit", {"n": 1})
            uow.append("access", {"n": 1})
            uow.append("audit", {"n": 2})
        with store.unit_of_work() as uow:
            uow.append("audit", {"n": 3})
        assert [(r.seq, r.entry["n"]) for r in store.read_log("audit")] == [(1, 1), (2, 2), (3, 3)]
        [access] = store.read_log("access")
        assert (access.seq, access.prev_hash) == (1, GENESIS)
        assert store.read_log("never-appended") == []
        assert store.verify_log("never-appended") == ChainReport(ok=True, checked=0)
        assert store.verify_log("audit").checked == 3 and store.verify_log("access").checked == 1

    def test_log_order_follows_commits_not_calls(self, store: Store) -> None:
        # The unit opened first commits last: its entry must come last.
        with store.unit_of_work() as late:
            late.append("audit", {"who": "late"})
            with store.unit_of_work() as early:
                early.append("audit", {"who": "early"})
        assert [(r.seq, r.entry["who"]) for r in store.read_log("audit")] == [(1, "early"), (2, "late")]
        assert store.verify_log("audit").ok

    def test_a_failed_unit_leaves_no_log_entry_and_no_gap(self, store: Store) -> None:
        """The audit entry of a write commits with it or not at all."""
        plans = store.collection("plans")
        with store.unit_of_work() as uow:
            uow.insert("plans", {"_id": "p", "status": "draft"})
            uow.append("audit", {"n": 1, "action": "create", "plan": "p"})
            uow.mark_processed("e1", "plans")
        with pytest.raises(VersionConflict):
            with store.unit_of_work() as uow:
                uow.append("audit", {"n": "lost", "action": "update"})
                uow.replace("plans", {"_id": "p", "status": "open"}, expected_version=7)
                uow.append("audit", {"n": "lost too"})
        with pytest.raises(DuplicateKey):
            with store.unit_of_work() as uow:
                uow.append("audit", {"n": "lost"})
                uow.insert("plans", {"_id": "p"})
        with pytest.raises(AlreadyProcessed):
            with store.unit_of_work() as uow:
                uow.append("audit", {"n": "lost"})
                uow.mark_processed("e1", "plans")
        with pytest.raises(RuntimeError, match="boom"):
            with store.unit_of_work() as uow:
                uow.append("audit", {"n": "lost"})
                raise RuntimeError("boom")
        with store.unit_of_work() as uow:
            uow.replace("plans", {"_id": "p", "status": "open"}, expected_version=1)
            uow.append("audit", {"n": 2, "action": "update", "plan": "p"})
        records = store.read_log("audit")
        assert [(r.seq, r.entry["n"]) for r in records] == [(1, 1), (2, 2)]
        assert records[1].prev_hash == records[0].hash
        assert store.verify_log("audit") == ChainReport(ok=True, checked=2, last_seq=2, last_hash=records[1].hash)
        assert plans.find_one({"_id": "p"}) == {"_id": "p", "status": "open", "version": 2}

    def test_commit_all_keeps_the_log_chained_and_gap_free(self, store: Store) -> None:
        store.collection("cases").insert_one({"_id": "existing"})
        units = [store.begin() for _ in range(5)]
        fine, stale, also_fine, clash, last = units
        fine.append("audit", {"unit": "fine", "i": 0})
        fine.insert("cases", {"_id": "a"})
        fine.append("audit", {"unit": "fine", "i": 1})
        stale.append("audit", {"unit": "stale", "i": 0})
        stale.append("access", {"unit": "stale"})
        stale.replace("cases", {"_id": "existing", "n": 1}, expected_version=9)
        stale.append("audit", {"unit": "stale", "i": 1})
        also_fine.append("audit", {"unit": "also_fine", "i": 0})
        also_fine.append("access", {"unit": "also_fine"})
        clash.append("audit", {"unit": "clash", "i": 0})
        clash.insert("cases", {"_id": "a"})  # inserted by `fine`
        last.append("audit", {"unit": "last", "i": 0})
        outcomes = store.commit_all(units)
        assert outcomes[0] is None and outcomes[2] is None and outcomes[4] is None
        assert isinstance(outcomes[1], VersionConflict) and isinstance(outcomes[3], DuplicateKey)
        audit = store.read_log("audit")
        assert [(r.seq, r.entry["unit"], r.entry["i"]) for r in audit] == [
            (1, "fine", 0),
            (2, "fine", 1),
            (3, "also_fine", 0),
            (4, "last", 0),
        ]
        assert [r.prev_hash for r in audit] == [GENESIS] + [r.hash for r in audit[:-1]]
        [access] = store.read_log("access")
        assert (access.seq, access.prev_hash, access.entry) == (1, GENESIS, {"unit": "also_fine"})
        assert store.verify_log("audit").ok and store.verify_log("audit").checked == 4
        assert store.verify_log("access").ok
        # and the next commit continues from the last entry committed
        with store.unit_of_work() as uow:
            uow.append("audit", {"unit": "after", "i": 0})
        assert store.read_log("audit", after_seq=4)[0].prev_hash == audit[-1].hash
        assert store.verify_log("audit").checked == 5

    def test_read_log_pages(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            for n in range(1, 11):
                uow.append("audit", {"n": n})
        everything = store.read_log("audit")
        assert [r.seq for r in everything] == list(range(1, 11))
        pages = [store.read_log("audit", after_seq=after, limit=4) for after in (0, 4, 8, 10)]
        assert [[r.seq for r in page] for page in pages] == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10], []]
        assert [r for page in pages for r in page] == everything
        assert [r.entry["n"] for r in store.read_log("audit", after_seq=6, limit=1)] == [7]
        assert store.read_log("audit", after_seq=1000) == []
        for bad in ({"after_seq": -1}, {"limit": 0}, {"limit": True}, {"after_seq": "3"}, {"limit": 1.5}):
            with pytest.raises(ValueError):
                store.read_log("audit", **bad)
        with pytest.raises(ValueError):
            store.read_log("has space")

    def test_verify_log_pages_through_a_long_chain(self, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
        total = 2500
        for start in range(0, total, 250):
            with store.unit_of_work() as uow:
                for n in range(start, start + 250):
                    uow.append("audit", {"n": n, "action": "read", "child": f"c{n % 7}"})
        head = store.read_log("audit", after_seq=total - 1)[0]
        calls: list[tuple[int, int]] = []
        read_log = store.read_log

        def counting_read_log(log: str, *, after_seq: int = 0, limit: int = 1000) -> list[LogRecord]:
            calls.append((after_seq, limit))
            return read_log(log, after_seq=after_seq, limit=limit)

        monkeypatch.setattr(store, "read_log", counting_read_log)
        report = store.verify_log("audit")
        assert report == ChainReport(ok=True, checked=total, last_seq=total, last_hash=head.hash)
        assert calls == [(0, 1000), (1000, 1000), (2000, 1000)], "paged by seq, never the whole log at once"
        calls.clear()
        assert store.verify_log("audit", batch=500) == report
        assert calls == [(n, 500) for n in range(0, total + 1, 500)]  # the last page comes back empty
        with pytest.raises(ValueError):
            store.verify_log("audit", batch=0)

    def test_log_entries_are_checked_when_appended(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            for log in ("has space", "", "outbox", "log_entries", "system.x"):
                with pytest.raises(ValueError):
                    uow.append(log, {"n": 1})
            for bad in ({"_id": "x"}, {"_private": 1}, {"a.b": 1}, {"$set": 1}, {"x": float("nan")}, {"s": "\ud800"}):
                with pytest.raises(ValueError):
                    uow.append("audit", bad)
            for wrong in ({"when": datetime.datetime(2024, 1, 1)}, ["not", "a", "dict"], None, {1: "int key"}):
                with pytest.raises(TypeError):
                    uow.append("audit", wrong)  # type: ignore[arg-type]
            entry: dict[str, Any] = {"tags": ["a"], "pair": (1, 2)}
            uow.append("audit", entry)
            entry["tags"].append("changed after the call")
        [record] = store.read_log("audit")
        assert record.entry == {"tags": ["a"], "pair": [1, 2]}
        assert store.verify_log("audit").ok

    def test_concurrent_appenders_never_gap_or_fork(self, store: Store) -> None:
        """Threads append through units of work and commit_all, some units
        failing; the log must end up one unbroken chain holding exactly the
        committed entries, each unit's entries together and in call order."""
        store.collection("plans").insert_one({"_id": "stale"})
        workers, rounds = 4, 12
        committed: list[tuple[int, int]] = []
        errors: list[BaseException] = []

        def unit_entries(uow: Any, w: int, i: int) -> None:
            uow.append("audit", {"w": w, "i": i, "half": 1})
            if i % 4 == 3:  # this unit fails at commit
                uow.replace("plans", {"_id": "stale"}, expected_version=0)
            uow.append("audit", {"w": w, "i": i, "half": 2})

        def work(w: int) -> None:
            try:
                if w == 0:  # group commits, two units at a time
                    for i in range(0, rounds, 2):
                        units = [store.begin(), store.begin()]
                        for k, uow in enumerate(units):
                            unit_entries(uow, w, i + k)
                        for k, outcome in enumerate(store.commit_all(units)):
                            assert (outcome is None) == ((i + k) % 4 != 3), outcome
                            if outcome is None:
                                committed.append((w, i + k))
                    return
                for i in range(rounds):
                    try:
                        with store.unit_of_work() as uow:
                            unit_entries(uow, w, i)
                        committed.append((w, i))
                    except VersionConflict:
                        assert i % 4 == 3
            except BaseException as exc:  # surfaced by the main thread
                errors.append(exc)

        race([lambda w=w: work(w) for w in range(workers)])
        assert errors == []
        records = store.read_log("audit", limit=10_000)
        assert [r.seq for r in records] == list(range(1, 2 * len(committed) + 1))
        assert [r.prev_hash for r in records] == [GENESIS] + [r.hash for r in records[:-1]]
        pairs = [(r.entry["w"], r.entry["i"], r.entry["half"]) for r in records]
        assert pairs[0::2] == [(w, i, 1) for w, i, _ in pairs[1::2]], "a unit's entries are consecutive"
        assert sorted((w, i) for w, i, _ in pairs[0::2]) == sorted(committed)
        for w in range(workers):
            mine = [i for ww, i, _ in pairs[0::2] if ww == w]
            assert mine == sorted(mine), "each writer's units in its commit order"
        report = store.verify_log("audit", batch=16)
        assert report.ok and report.checked == len(records)

    # ------------------------------------- MongoDB's semantics where they are subtle
    # Each is MongoDB's documented behaviour, which every adapter follows (issue 24, finding 10). An adapter that
    # cannot (mongomock, a test double) overrides the test with a skip that says why.

    def test_true_matches_true_only_not_the_number_one(self, store: Store) -> None:
        c = store.collection("kinds")
        c.insert_one({"_id": "t", "v": True})
        c.insert_one({"_id": "one", "v": 1})
        c.insert_one({"_id": "zero", "v": 0})
        c.insert_one({"_id": "f", "v": False})
        assert ids(c.find({"v": True})) == ["t"]
        assert ids(c.find({"v": 1})) == ["one"]
        assert ids(c.find({"v": False})) == ["f"]
        assert sorted(ids(c.find({"v": {"$in": [1, False]}}))) == ["f", "one"]

    def test_in_with_an_array_value_matches_that_array_or_an_element_equal_to_it(self, store: Store) -> None:
        c = store.collection("arrays")
        c.insert_one({"_id": "exact", "v": ["a", "b"]})
        c.insert_one({"_id": "nested", "v": [["a", "b"], "c"]})
        c.insert_one({"_id": "elements", "v": ["a"]})
        c.insert_one({"_id": "reversed", "v": ["b", "a"]})
        assert sorted(ids(c.find({"v": {"$in": [["a", "b"]]}}))) == ["exact", "nested"]
        assert sorted(ids(c.find({"v": ["a", "b"]}))) == ["exact", "nested"]

    def test_a_sub_document_equals_only_with_its_keys_in_the_same_order(self, store: Store) -> None:
        c = store.collection("subdocs")
        c.insert_one({"_id": "s", "v": {"x": 1, "y": 2}})
        assert ids(c.find({"v": {"x": 1, "y": 2}})) == ["s"]
        assert ids(c.find({"v": {"y": 2, "x": 1}})) == []
        assert ids(c.find({"v.y": 2})) == ["s"]

    def test_unset_of_an_array_element_leaves_a_null_in_its_place(self, store: Store) -> None:
        c = store.collection("arrays")
        c.insert_one({"_id": "x", "v": [1, 2, 3]})
        assert c.update_one({"_id": "x"}, {"$unset": {"v.1": ""}}) == 1
        assert c.find_one({"_id": "x"})["v"] == [1, None, 3]  # type: ignore[index]

    def test_inc_past_the_largest_64_bit_integer_is_refused_and_changes_nothing(self, store: Store) -> None:
        c = store.collection("counters")
        c.insert_one({"_id": "n", "v": 2**63 - 1, "w": 0})
        with pytest.raises((ValueError, StoreError)):
            c.update_one({"_id": "n"}, {"$inc": {"v": 1, "w": 1}})
        assert without_id(c.find_one({"_id": "n"})) == {"v": 2**63 - 1, "w": 0, "version": 1}

    def test_a_unique_index_on_an_array_field_is_on_each_element(self, store: Store) -> None:
        c = store.collection("tagged")
        c.create_index("tags", unique=True)
        c.insert_one({"_id": "a", "tags": ["red", "blue"]})
        c.insert_one({"_id": "b", "tags": ["green", "green"]})  # one document may repeat its own element
        with pytest.raises(DuplicateKey):
            c.insert_one({"_id": "c", "tags": ["blue", "pink"]})
        with pytest.raises(DuplicateKey):
            c.insert_one({"_id": "d", "tags": "red"})  # a value equal to another's element
        with pytest.raises(DuplicateKey):
            c.update_one({"_id": "b"}, {"$push": {"tags": "red"}})
        with pytest.raises(DuplicateKey):
            with store.unit_of_work() as uow:
                uow.insert("tagged", {"_id": "e", "tags": ["pink", "red"]})
        assert sorted(ids(c.find())) == ["a", "b"]
        assert c.find_one({"_id": "b"})["tags"] == ["green", "green"]  # type: ignore[index]
        c.insert_one({"_id": "f", "tags": ["pink"]})
        assert c.update_one({"_id": "a"}, {"$set": {"tags": ["red", "blue", "white"]}}) == 1  # its own elements

    def test_a_document_nested_more_than_100_levels_is_refused(self, store: Store) -> None:
        def nested(levels: int) -> dict[str, Any]:
            doc: dict[str, Any] = {}
            for _ in range(levels - 1):  # the document itself is the first level
                doc = {"a": doc}
            return doc

        c = store.collection("deep")
        c.insert_one({"_id": "ok", **nested(100)})
        with pytest.raises((ValueError, StoreError)):
            c.insert_one({"_id": "deep", **nested(101)})
        with pytest.raises((ValueError, StoreError)):
            c.update_one({"_id": "ok"}, {"$set": {"b": [nested(100)]}})
        assert ids(c.find()) == ["ok"]

    def test_a_document_over_16_mib_as_bson_is_refused_and_nothing_of_its_unit_kept(self, store: Store) -> None:
        c = store.collection("big")
        with pytest.raises(StoreError):
            c.insert_one({"_id": "big", "text": "x" * (16 * 1024 * 1024)})
        c.insert_one({"_id": "grows", "text": "x" * (9 * 1024 * 1024)})
        with pytest.raises(StoreError):
            with store.unit_of_work() as uow:
                uow.insert("big", {"_id": "small"})
                uow.update("big", {"_id": "grows"}, {"$set": {"more": "y" * (8 * 1024 * 1024)}})
        assert ids(c.find()) == ["grows"] and "more" not in (c.find_one({"_id": "grows"}) or {})

    def test_a_sort_orders_values_of_mixed_types_as_mongodb_does(self, store: Store) -> None:
        # BSON's order: null and missing alike, numbers, strings, objects, then booleans (false first).
        c = store.collection("mixed")
        values = {"null": None, "neg": -2, "half": 0.5, "num": 5, "blank": "", "str": "a", "obj": {"x": 1}}
        values |= {"false": False, "true": True}
        c.insert_one({"_id": "missing"})
        for _id, value in values.items():
            c.insert_one({"_id": _id, "v": value})
        ascending = ["missing", "null", "neg", "half", "num", "blank", "str", "obj", "false", "true"]
        for indexed in (False, True):
            if indexed:
                c.create_index("v")
            assert ids(c.find(sort=[("v", 1)])) == ascending, f"indexed={indexed}"
            assert ids(c.find(sort=[("v", -1)])) == ascending[::-1], f"indexed={indexed}"
            assert ids(c.find({"v": {"$gt": 0}}, sort=[("v", 1)])) == ["half", "num"]
            assert ids(c.find({"v": {"$gte": False}}, sort=[("v", -1)])) == ["true", "false"]
            assert ids(c.find({"v": {"$lt": "b"}}, sort=[("v", 1)])) == ["blank", "str"]
            assert ids(c.find({"v": {"$lte": 0.5}}, sort=[("v", 1)])) == ["neg", "half"]

    def test_a_sort_on_arrays_takes_the_least_element_ascending_and_the_greatest_descending(self, store: Store) -> None:
        c = store.collection("arrays")
        c.insert_one({"_id": "missing"})
        values: dict[str, Any] = {"empty": [], "null": None, "with_null": [None, 7], "low": [1, 9], "mid": 5}
        values |= {"mixed": ["b", 3], "str": "a", "bools": [True, False]}
        for _id, value in values.items():
            c.insert_one({"_id": _id, "v": value})
        # An empty array sorts before null; [None, 7] is null going up (its least), 7 going down (its greatest);
        # ["b", 3] is 3 going up (numbers before strings) and "b" going down.
        ascending = ["empty", "missing", "null", "with_null", "low", "mixed", "mid", "str", "bools"]
        descending = ["bools", "mixed", "str", "low", "with_null", "mid", "null", "missing", "empty"]
        for indexed in (False, True):
            if indexed:
                c.create_index("v")
            assert ids(c.find(sort=[("v", 1)])) == ascending, f"indexed={indexed}"
            assert ids(c.find(sort=[("v", -1)])) == descending, f"indexed={indexed}"
            assert ids(c.find(sort=[("v", 1)], skip=4, limit=3)) == ["low", "mixed", "mid"]

    def test_a_sort_across_an_array_of_sub_documents_takes_each_ones_value(self, store: Store) -> None:
        c = store.collection("visits")
        c.insert_one({"_id": "a", "visits": [{"due": 5}, {"due": 2}]})
        c.insert_one({"_id": "b", "visits": [{"due": 3}]})
        c.insert_one({"_id": "c", "visits": {"due": 4}})
        c.insert_one({"_id": "d", "visits": [{"due": [1, 8]}]})
        for indexed in (False, True):
            if indexed:
                c.create_index("visits.due")
            assert ids(c.find(sort=[("visits.due", 1)])) == ["d", "a", "b", "c"], f"indexed={indexed}"
            assert ids(c.find(sort=[("visits.due", -1)])) == ["d", "a", "c", "b"], f"indexed={indexed}"

    def test_a_unique_index_tells_true_from_the_number_one(self, store: Store) -> None:
        c = store.collection("flags")
        c.create_index("v", unique=True)
        c.insert_one({"_id": "one", "v": 1})
        c.insert_one({"_id": "true", "v": True})
        c.insert_one({"_id": "text", "v": "1"})
        with pytest.raises(DuplicateKey):
            c.insert_one({"_id": "again", "v": 1.0})
        with pytest.raises(DuplicateKey):
            c.insert_one({"_id": "again", "v": True})
        assert sorted(ids(c.find())) == ["one", "text", "true"]

    # ------------------------------------------------------------- erasure

    def test_delete_removes_every_match_at_commit(self, store: Store) -> None:
        people = store.collection("people")
        for n, child in enumerate(["c1", "c1", "c2", "c1"]):
            people.insert_one({"_id": f"p{n}", "child_id": child, "links": [{"child_id": child}]})
        with store.unit_of_work() as uow:
            uow.delete("people", {"child_id": "c1", "_id": {"$ne": "p3"}})
            uow.delete("people", {"links.child_id": "nobody"})  # matching none is fine
            uow.delete("never_written", {"child_id": "c1"})
            assert people.count_documents() == 4, "buffered, like every other write"
        assert ids(people.find(sort=[("_id", 1)])) == ["p2", "p3"]
        with store.unit_of_work() as uow:
            uow.delete("people", {"links.child_id": {"$in": ["c1", "c2"]}})
        assert people.count_documents() == 0

    def test_a_failed_unit_deletes_nothing(self, store: Store) -> None:
        people = store.collection("people")
        people.insert_one({"_id": "a", "child_id": "c1"})
        people.insert_one({"_id": "b", "child_id": "c1"})
        with pytest.raises(VersionConflict):
            with store.unit_of_work() as uow:
                uow.delete("people", {"child_id": "c1"})
                uow.replace("people", {"_id": "a", "child_id": "c9"}, expected_version=5)
        assert ids(people.find(sort=[("_id", 1)])) == ["a", "b"]
        with pytest.raises(ValueError):
            store.begin().delete("people", {"$or": []})

    def test_forget_sent_removes_only_sent_messages_that_match(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            for n, child in enumerate(["c1", "c2", "c1", "c1"]):
                uow.publish("deadline.x", {"data": {"child_id": child, "n": n}}, message_id=f"m{n}")
        first, second, third, fourth = store.outbox_pending()
        store.outbox_mark_sent([first.seq, second.seq, third.seq])  # m3 is still owed
        with store.unit_of_work() as uow:
            uow.forget_sent({"data.child_id": "c1"})
            uow.forget_sent({"data.child_id": {"$in": ["nobody"]}})
        assert [m.message_id for m in store.outbox_pending()] == ["m3"]
        assert store.outbox_stats().pending == 1
        with store.unit_of_work() as uow:
            uow.publish("deadline.x", {"data": {"child_id": "c1"}}, message_id="m4")
        assert [m.message_id for m in store.outbox_pending()] == ["m3", "m4"]
        assert store.outbox_pending()[-1].seq > fourth.seq, "seqs are not reused"
        with pytest.raises(ValueError):
            store.begin().forget_sent({"$or": []})

    @staticmethod
    def _log_of(store: Store, n: int, log: str = "history") -> list[LogRecord]:
        with store.unit_of_work() as uow:
            for k in range(1, n + 1):
                uow.append(log, {"n": k, "child": "c1" if k % 2 else "c2", "name": f"Child {k}"})
        return store.read_log(log)

    def test_redaction_erases_the_entries_and_keeps_the_chain_verifiable(self, store: Store) -> None:
        before = self._log_of(store, 6)
        store.collection("children").insert_one({"_id": "c1"})
        with store.unit_of_work() as uow:
            uow.redact("history", [5, 1, 3], erasure_id="er-1", note={"rule": "r", "counts": {"history": 3}})
            uow.delete("children", {"_id": "c1"})
            assert store.read_log("history") == before, "buffered"
        after = store.read_log("history")
        assert [r.entry for r in after[:6]] == [{"redacted": "er-1"} if r.seq in (1, 3, 5) else r.entry for r in before]
        assert [(r.seq, r.prev_hash, r.hash) for r in after[:6]] == [(r.seq, r.prev_hash, r.hash) for r in before]
        assert after[6].seq == 7 and after[6].prev_hash == before[-1].hash
        assert after[6].entry == {
            "rule": "r",
            "counts": {"history": 3},
            "redaction": {
                "erasure_id": "er-1",
                "records": [{"seq": s, "hash": before[s - 1].hash} for s in (1, 3, 5)],
            },
        }
        assert store.collection("children").count_documents() == 0, "in the same commit"
        report = store.verify_log("history")
        assert report == ChainReport(ok=True, checked=7, last_seq=7, last_hash=after[6].hash)
        for batch in (1, 2, 3, 4):  # the redacted records and their entry on different pages
            assert store.verify_log("history", batch=batch) == report
        with store.unit_of_work() as uow:
            uow.append("history", {"n": 8})
        assert store.verify_log("history").checked == 8

    def test_redacting_a_redacted_record_again_names_nothing_new(self, store: Store) -> None:
        self._log_of(store, 3)
        with store.unit_of_work() as uow:
            uow.redact("history", [2], erasure_id="er-1")
        with store.unit_of_work() as uow:
            uow.redact("history", [2, 3], erasure_id="er-2")
        records = store.read_log("history")
        assert records[1].entry == {"redacted": "er-1"} and records[2].entry == {"redacted": "er-2"}
        assert [r.entry["redaction"]["records"] for r in records[3:]] == [
            [{"seq": 2, "hash": records[1].hash}],
            [{"seq": 3, "hash": records[2].hash}],
        ]
        assert store.verify_log("history").ok and store.verify_log("history", batch=1).checked == 5

    def test_a_refused_or_failed_redaction_changes_nothing(self, store: Store) -> None:
        before = self._log_of(store, 3)
        store.collection("children").insert_one({"_id": "c1"})
        with pytest.raises(ValueError, match="no seq 9"):
            with store.unit_of_work() as uow:
                uow.delete("children", {"_id": "c1"})
                uow.redact("history", [1, 9], erasure_id="er-1")
        with pytest.raises(VersionConflict):
            with store.unit_of_work() as uow:
                uow.redact("history", [1], erasure_id="er-1")
                uow.replace("children", {"_id": "c1"}, expected_version=7)
        assert store.read_log("history") == before
        assert store.collection("children").count_documents() == 1
        with store.unit_of_work() as uow:
            uow.redact("history", [1], erasure_id="er-1")
        with pytest.raises(ValueError, match="cannot be redacted"):
            with store.unit_of_work() as uow:
                uow.redact("history", [4], erasure_id="er-2")  # the first redaction's own entry
        assert len(store.read_log("history")) == 4 and store.verify_log("history").ok
        uow = store.begin()
        for bad_seqs in ([0], [1.5], ["2"], [True]):
            with pytest.raises(ValueError):
                uow.redact("history", bad_seqs, erasure_id="er-3")  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            uow.redact("history", [1], erasure_id="")
        with pytest.raises(ValueError):
            uow.redact("history", [1], erasure_id="er-3", note={"redaction": "mine"})
        with pytest.raises(ValueError):
            uow.redact("has space", [1], erasure_id="er-3")

    # ------------------------------------------------------------------ leases

    def test_leases(self, store: Store) -> None:
        assert store.acquire_lease("relay", "A", 0.4)
        assert not store.acquire_lease("relay", "B", 0.4)
        assert store.acquire_lease("relay", "A", 0.4), "the holder renews"
        assert store.acquire_lease("other", "B", 0.4), "leases are independent"
        time.sleep(0.5)
        assert store.acquire_lease("relay", "B", 5), "an expired lease can be taken"
        assert not store.acquire_lease("relay", "A", 5)
        store.release_lease("relay", "A")  # not the holder: no effect
        assert not store.acquire_lease("relay", "A", 5)
        store.release_lease("relay", "B")
        assert store.acquire_lease("relay", "A", 5)

    def test_each_take_of_a_lease_gets_a_greater_fencing_token(self, store: Store) -> None:
        first = store.acquire_lease("relay", "A", 30)
        assert first is not None and first >= 1
        assert store.acquire_lease("relay", "A", 30) == first, "a renewal keeps the token"
        assert store.acquire_lease("relay", "B", 30) is None
        store.release_lease("relay", "A")
        second = store.acquire_lease("relay", "B", 0)  # released: a take; and lapsed at once
        assert second is not None and second > first
        third = store.acquire_lease("relay", "A", 30)  # B's lapsed: a take, not a renewal
        assert third is not None and third > second
        store.release_lease("relay", "A")
        fourth = store.acquire_lease("relay", "A", 30)  # its own, given up and taken again
        assert fourth is not None and fourth > third
        assert store.acquire_lease("other", "A", 30) == 1, "each lease counts its own takes"

    def test_a_fenced_mark_needs_the_latest_take_of_the_lease(self, store: Store) -> None:
        for n in range(3):
            with store.unit_of_work() as uow:
                uow.publish("x", {"n": n}, message_id=f"m{n}")
        first, second, third = store.outbox_pending()
        paused = store.acquire_lease("relay", "A", 0)  # A's lease lapses (A was paused)...
        successor = store.acquire_lease("relay", "B", 30)  # ...and B takes it over
        assert paused is not None and successor is not None
        assert store.outbox_mark_sent([first.seq, second.seq], fence=("relay", paused)) is False
        assert [m.seq for m in store.outbox_pending()] == [first.seq, second.seq, third.seq], "nothing marked"
        assert store.outbox_mark_sent([first.seq], fence=("relay", successor)) is True
        assert [m.seq for m in store.outbox_pending()] == [second.seq, third.seq]
        assert store.outbox_mark_sent([second.seq], fence=("never-taken", successor)) is False
        store.release_lease("relay", "B")
        retaken = store.acquire_lease("relay", "B", 30)
        assert retaken is not None
        assert store.outbox_mark_sent([second.seq], fence=("relay", successor)) is False, "an earlier take of B's"
        assert store.outbox_mark_sent([second.seq, third.seq], fence=("relay", retaken)) is True
        assert store.outbox_pending() == []

    def test_renewing_extends_the_lease(self, store: Store) -> None:
        assert store.acquire_lease("relay", "A", 0.3)
        time.sleep(0.2)
        assert store.acquire_lease("relay", "A", 0.3)
        time.sleep(0.2)  # 0.4 s after the first take, 0.2 s after the renewal
        assert not store.acquire_lease("relay", "B", 0.3)

    # -------------------------------------------------------------------- ping

    def test_ping(self, store: Store) -> None:
        assert store.ping() is None
