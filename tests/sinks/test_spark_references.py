"""``resolve_spark_conf``: ``{{secrets/scope/key}}`` in Spark properties, resolved from a real local
store before a real local Spark session starts, and hidden in what the driver prints."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers.store import filled_store

from redactor import Redactor, UnresolvedReferenceError

pyspark = pytest.importorskip("pyspark", reason="pyspark is in the test extra")

PASSWORD = "Spark-P@ss-refs-8c1d"
URL = "jdbc:postgresql://db:5432/etl?password={{secrets/kv-scope/sql-db-password}}"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return filled_store(tmp_path, monkeypatch, {"sql-db-password": PASSWORD}).home


def test_a_mapping_and_a_spark_conf(home: Path, fresh_redactor: Redactor) -> None:
    from pyspark import SparkConf

    from redactor.spark import resolve_spark_conf

    conf = {"spark.app.name": "etl", "spark.jdbc.url": URL}
    assert resolve_spark_conf(conf) == {
        "spark.app.name": "etl",
        "spark.jdbc.url": URL.replace("{{secrets/kv-scope/sql-db-password}}", PASSWORD),
    }
    assert conf["spark.jdbc.url"] == URL  # a mapping is not changed
    names = [n for n in fresh_redactor.secret_names if "#" not in n]
    assert names == ["kv-scope/sql-db-password", "spark.jdbc.url"]

    spark_conf = SparkConf(loadDefaults=False).set(
        "spark.password", "{{secrets/kv-scope/sql-db-password}}"
    )
    mine = Redactor()
    assert resolve_spark_conf(spark_conf, redactor=mine) is spark_conf
    assert spark_conf.get("spark.password") == PASSWORD
    assert mine.secret_names == ["kv-scope/sql-db-password"]

    bad = SparkConf(loadDefaults=False).set("spark.token", "{{secrets/kv-scope/nope}}")
    with pytest.raises(UnresolvedReferenceError) as info:
        resolve_spark_conf(bad)
    assert str(info.value) == (
        "Spark property spark.token: cannot resolve {{secrets/kv-scope/nope}}: secret 'nope' "
        "does not exist in scope 'kv-scope'"
    )
    assert bad.get("spark.token") == "{{secrets/kv-scope/nope}}"  # unchanged on failure


def test_a_local_session_starts_with_the_resolved_values_hidden_in_its_output(home: Path) -> None:
    script = textwrap.dedent(
        f"""
        import hashlib
        import redactor
        from pyspark import SparkConf
        from pyspark.sql import SparkSession
        from redactor.spark import resolve_spark_conf

        redactor.install()
        conf = SparkConf().setMaster("local[1]").setAppName("refs")
        conf.set("spark.ui.enabled", "false")
        conf.set("spark.jdbc.password", "{{{{secrets/kv-scope/sql-db-password}}}}")
        conf.set("spark.jdbc.url", {URL!r})
        spark = SparkSession.builder.config(conf=resolve_spark_conf(conf)).getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        password = spark.conf.get("spark.jdbc.password")
        url = spark.sparkContext.getConf().get("spark.jdbc.url")
        print("password:", password)
        print("url:", url)
        print("sha256:", hashlib.sha256(password.encode()).hexdigest())
        print("url ok:", url == {URL!r}.replace("{{{{secrets/kv-scope/sql-db-password}}}}", password))
        spark.stop()
        """
    )
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == [
        "password: [REDACTED]",
        "url: [REDACTED]",
        f"sha256: {hashlib.sha256(PASSWORD.encode()).hexdigest()}",
        "url ok: True",
    ]
    assert PASSWORD not in result.stdout and PASSWORD not in result.stderr
