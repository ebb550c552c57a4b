"""`python -m cpp_docs [serve [--bind HOST:PORT] [--workers N] | worker]`: as `cpp serve docs` and
`cpp worker docs`."""

from cpp_shared.cli import service_main

service_main("docs")
