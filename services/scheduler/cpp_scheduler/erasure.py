"""The scheduler's copy of a child, erased on ``child.erased.v1`` (see ``cpp_shared.erasure``).

What the scheduler holds about a child: their deadlines (which name them),
who they are (``children``), their cases' people and conferences
(``case_people``), their plans (``plans``), the meetings of their cases
(``meetings``, which the calendar feeds show), and the case events heard
(``case_events``). Each is found by the child's id, or by the id of one of
their cases or plans. The calendar feeds themselves belong to staff: what
they show of the child is their deadlines and meetings, erased here. The
audit log keeps ids only (no names), and keeps them.
"""

from __future__ import annotations

from typing import Any

from cpp_shared import case_events
from cpp_shared.erasure import Erasure
from cpp_shared.messaging.consumer import HandlerContext

from . import store as st


def erase_child(event: dict[str, Any], ctx: HandlerContext) -> None:
    erasure = Erasure(ctx, event)
    if erasure.done_before:
        return
    child_id = erasure.child_id
    deadlines = erasure.find(st.DEADLINES, {"child_id": child_id})
    plans = erasure.find(st.PLANS, {"child_id": child_id})
    cases = erasure.find(st.CASE_PEOPLE, {"child_id": child_id})
    case_ids = sorted({d["case_id"] for d in [*deadlines, *plans] if d.get("case_id")} | {c["_id"] for c in cases})
    plan_ids = sorted({p["_id"] for p in plans} | {d["plan_id"] for d in deadlines if d.get("plan_id")})
    erasure.delete_ids(
        st.DEADLINES,
        [d["_id"] for d in deadlines] + [d["_id"] for d in erasure.find(st.DEADLINES, {"case_id": {"$in": case_ids}})],
    )
    erasure.delete_ids(st.PLANS, plan_ids)
    erasure.delete_ids(st.CASE_PEOPLE, [c["_id"] for c in cases])
    erasure.delete(st.MEETINGS, {"case_id": {"$in": case_ids}})
    erasure.delete(case_events.COLLECTION, {"case_id": {"$in": case_ids}})
    erasure.delete(st.CHILDREN, {"_id": child_id})
    erasure.finish()
