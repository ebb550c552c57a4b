"""The plans service's use cases: one function per step of a child's
lifecycle (cases.py, conferences.py, plans.py), the same whoever calls it
(an HTTP view, a command, a test).

Each step takes its collaborators explicitly (the deployment: its store,
plugins, authority and outbox; who acts, a Principal; ``today``), never
Flask's request: it loads what it needs, applies the domain's rules
(domain/lifecycle.py, domain/plan_content.py), runs the council's own checks
(``cpp_validate_plan``) wherever a plan version is agreed, links the key
worker to the staff directory, and writes the step's records, its audit
entry and its events (each naming the child) in one unit of work. It
returns the records as saved, or raises: ``LifecycleError`` (409),
``InvalidStep`` (422), ``NotFound`` (404), ``VersionConflict``.
"""
