"""What the services and the plugins agree on, and nothing else: importing it brings in no service, no Flask, broker
client or store (tests/unit/test_contracts.py). Which services consume what (``topology.SUBSCRIPTIONS``, and so the
AsyncAPI document) is read from the installed services' handlers when first asked.

* ``catalogue``: every event type the platform publishes, its producer, its data's schema (marshmallow) and the
  AsyncAPI document made from them;
* ``topology``: the names of the exchanges and queues and how an event type routes (declaring them on a broker
  is ``cpp_shared.messaging.topology``'s);
* ``hookspecs``: every hook a council's plugin may implement (re-exported as ``cpp_shared.hookspecs``, which
  plugins import), with the checks of their answers as the plugins load: ``hook_answers``, ``timescales``
  for the timescale rules and ``retention`` for the retention rules.
"""
