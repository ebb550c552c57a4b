"""Moved to cpp_shared.contracts.catalogue, re-exported here; services' imports are updated separately."""
from ..contracts.catalogue import *  # noqa: F401,F403
