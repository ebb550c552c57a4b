"""The docs service's rules, in plain Python: no Flask, no store, no broker.

``documents`` (what each kind of document contains, as HTML from the plan's
snapshot and the deployment's templates and branding), ``phrases`` (the
family wording, in English and the family's languages) and ``readability``
(how hard a family document is to read). The handlers and the renderer read
the store, call these, and store what they make.
"""
