"""`python -m cpp_scheduler [serve [--bind HOST:PORT] [--workers N] | worker]`: as `cpp serve scheduler` and
`cpp worker scheduler`."""

from cpp_shared.cli import service_main

service_main("scheduler")
