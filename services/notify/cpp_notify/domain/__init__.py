"""The notify service's rules, in plain Python: no Flask, no store, no broker.

``people`` (who is told of an event, in which words, by which channel),
``subscriptions`` (which events a subscription matches, an escalation's
recipient, the secrets a delivery is signed with), ``minimise`` (what of an
event a subscription receives) and ``deliveries`` (the order deliveries keep,
the retry schedule, and when a failing receiver is disabled). The handlers,
the dispatcher and the API read the store, call these, and store what they
return.
"""
