"""The scheduler's rules, in plain Python: no Flask, no store, no broker.

``rules`` (the timescale rules in force and what they hear), ``calendar``
(the working days, and due dates counted on them), ``deadlines`` (what an
event does to a case's deadlines), ``people`` (who must act on each),
``words`` (rules and counts as people read them) and ``ics`` (a plan's
calendar in iCalendar). The handlers, the tick and the API read the store,
call these and store what they return.
"""
