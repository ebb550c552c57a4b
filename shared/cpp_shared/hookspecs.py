"""The plugin contract, as council plugins import it (``from cpp_shared.hookspecs import hookimpl, ...``): a
re-export of ``cpp_shared.contracts.hookspecs``, where the hooks are written; kept so that every plugin's imports
stay as they are."""

from .contracts.hookspecs import *  # noqa: F401,F403
