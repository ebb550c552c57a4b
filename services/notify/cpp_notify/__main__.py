"""`python -m cpp_notify [serve [--bind HOST:PORT] [--workers N] | worker]`: as `cpp serve notify` and
`cpp worker notify`."""

from cpp_shared.cli import service_main

service_main("notify")
