"""Where secret values come from: the environment (:mod:`~redactor.sources.env`), dotenv files
(:mod:`~redactor.sources.dotenv`), secret scopes (:mod:`~redactor.sources.scopes`: the local
store, Key Vault, ``dbutils``) and child processes (:mod:`~redactor.sources.channel`);
:mod:`~redactor.sources.load` reads the configured ones into a redactor.

This package's ``__init__`` imports nothing: ``import redactor`` loads the child-process channel
(for its hook into the default redactor), and a heavier ``__init__`` here would come with it; the
local store's crypto and SQLite alone tripled the import time (38 ms to 106 ms, measured).
"""
