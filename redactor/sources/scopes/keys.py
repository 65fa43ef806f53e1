"""The former import path of :mod:`redactor.sources.scopes.local.keys`.

Kept only because ``redactor/cli/commands/secrets.py`` imports ``ENV_MASTER_KEY`` and
``parse_master_key`` from here; once it imports them from :mod:`redactor.sources.scopes`, delete
this module.
"""

from redactor.sources.scopes.local.keys import ENV_MASTER_KEY, parse_master_key

__all__ = ["ENV_MASTER_KEY", "parse_master_key"]
