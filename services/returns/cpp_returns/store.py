"""The returns service's store: the events it keeps, and the children's histories folded from them.

* ``returns_history``: an append-only log (hash-chained, like every log of
  the store port) of every event the returns keep, in the order they
  arrived. It is the event history the read models are rebuilt from.
* ``return_children``: one document per child and generation
  (``_id`` ``"<generation>:<child id>"``) holding the child's history
  (``domain.history``), folded from the log.
* ``erasures``: the children erased here (ids and counts: ``cpp_shared.erasure``);
  their records in the log are redacted, and a rebuild skips redacted records
  and the entries recording the redactions.
* ``returns_projection``: one document saying which generation the returns
  are read from (``current``), which is being rebuilt (``building``) and,
  for each, how far into the log it is (``seq``) and the time of the
  latest event it reflects (``as_of``).
"""

from __future__ import annotations

from cpp_shared import erasure
from cpp_shared.store import Store

HISTORY = "returns_history"
CHILDREN = "return_children"
PROJECTION = "returns_projection"
PROJECTION_ID = "projection"


def setup_store(store: Store) -> None:
    erasure.setup_store(store)
    children = store.collection(CHILDREN)
    children.create_index("gen")
    children.create_index("child_id")  # read a page at a time, in child id order
    children.create_index("authority")
