"""`python -m cpp_web [serve [--bind HOST:PORT] [--workers N] | worker]`: as `cpp serve web` and
`cpp worker web`."""

from cpp_shared.cli import service_main

service_main("web")
