"""The scheduler's HTTP API, one module per resource: the rules in force
(``rules``), the deadlines (``deadlines``) and a plan's calendar with its
feed addresses (``calendar_feeds``)."""
