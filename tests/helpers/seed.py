"""The Python example of shared/seed/secrets-management.md (without the Spark read) and what it
prints once redaction is installed: the dbutils tests run it against every kind of scope."""

from __future__ import annotations

import textwrap

SEED = textwrap.dedent(
    """
    username = dbutils.secrets.get(scope="kv-scope", key="sql-db-user")
    password = dbutils.secrets.get(scope="kv-scope", key="sql-db-password")
    jdbc_url = f"jdbc:sqlserver://<your-server>.database.windows.net;databaseName=<your-db>;user={username};password={password}"
    print(username)
    print(password)
    print(jdbc_url)
    """
)
SEED_REDACTED = (
    "[REDACTED]\n[REDACTED]\njdbc:sqlserver://<your-server>.database.windows.net;"
    "databaseName=<your-db>;user=[REDACTED];password=[REDACTED]\n"
)
