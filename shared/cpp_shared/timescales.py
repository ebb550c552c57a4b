"""Moved to cpp_shared.contracts.timescales, re-exported here; services' imports are updated separately."""
from .contracts.timescales import *  # noqa: F401,F403
