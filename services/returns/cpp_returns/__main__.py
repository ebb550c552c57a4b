"""`python -m cpp_returns [serve [--bind HOST:PORT] [--workers N] | worker]`: as `cpp serve returns` and
`cpp worker returns`."""

from cpp_shared.cli import service_main

service_main("returns")
