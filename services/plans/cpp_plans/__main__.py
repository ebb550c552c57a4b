"""`python -m cpp_plans [serve [--bind HOST:PORT] [--workers N] | worker]`: as `cpp serve plans` and
`cpp worker plans`."""

from cpp_shared.cli import service_main

service_main("plans")
