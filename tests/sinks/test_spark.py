"""redactor.sinks.spark on a real local[2] Spark: DataFrames and log files redacted in the executors."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from helpers.nbfactory import PASSWORD, TOKEN, demo_redactor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import redactor
from redactor import Redactor, RedactorWarning
from redactor.sinks import spark as rs
from redactor.sinks.logfiles import list_log_files, scrub_log_file

pyspark = pytest.importorskip("pyspark", reason="pyspark is in the test extra")
from pyspark.sql import Row  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas")


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.fixture(scope="module")
def demo():
    return demo_redactor()


def test_every_string_column_redacted_the_rest_unchanged(spark, demo):
    import datetime as dt
    from decimal import Decimal

    rows = [
        (f"login {PASSWORD} ok", 1, 2.5, b"raw " + TOKEN.encode(), dt.date(2026, 11, 28), True),
        (None, None, None, None, None, None),
        ("", 0, float("nan"), b"", dt.date(1970, 1, 1), False),
        (f"caf\xe9 \u2603 {TOKEN}\u00e9\U0001f600", -7, -0.0, b"\xff", None, None),
        ("nothing to see: caf\xe9 \u2603 \U0001f600", 2**31 - 1, 1e300, None, None, None),
    ]
    df = spark.createDataFrame(
        rows, "s string, i int, d double, b binary, day date, flag boolean"
    ).withColumn("money", F.lit(Decimal("1.25")).cast("decimal(10,2)"))
    out_df = rs.redact_dataframe(df, redactor=demo)
    assert out_df.schema == df.schema
    out = out_df.collect()
    assert [r.s for r in out] == [
        "login [REDACTED] ok",
        None,
        "",
        "caf\xe9 \u2603 [REDACTED]\u00e9\U0001f600",
        "nothing to see: caf\xe9 \u2603 \U0001f600",
    ]
    for got, was in zip(out, df.collect()):
        # binary is not a string column: it passes through as it was
        assert (got.i, got.b, got.day, got.flag, got.money) == (
            was.i,
            was.b,
            was.day,
            was.flag,
            was.money,
        )
        assert repr(got.d) == repr(was.d)  # nan and -0.0 included


NESTED = (
    "id int, "
    "st struct<user:string, n:int, inner:struct<tok:string, ok:boolean>>, "
    "arr array<string>, "
    "m map<string,string>, "
    "deep array<map<string, array<struct<v:string>>>>"
)


def test_nested_struct_array_map(spark, demo):
    rows = [
        (
            1,
            (f"u {PASSWORD}", 5, (TOKEN, True)),
            ["a", None, "", TOKEN, f"x{PASSWORD}y"],
            {"plain": f"v {TOKEN}", f"key {PASSWORD}": "ok", "none": None},
            [{"k": [(TOKEN,), None, (None,)]}, None],
        ),
        (2, None, None, None, None),
        (3, (None, None, None), [], {}, []),
    ]
    df = spark.createDataFrame(rows, NESTED)
    out = rs.redact_dataframe(df, redactor=demo).orderBy("id").collect()
    R = "[REDACTED]"
    assert out[0].st == Row(user=f"u {R}", n=5, inner=Row(tok=R, ok=True))
    assert out[0].arr == ["a", None, "", R, f"x{R}y"]
    # map keys are redacted too: a secret in a key is a leak like any other
    assert out[0].m == {"plain": f"v {R}", f"key {R}": "ok", "none": None}
    assert out[0].deep == [{"k": [Row(v=R), None, Row(v=None)]}, None]
    assert out[1] == Row(id=2, st=None, arr=None, m=None, deep=None)
    assert out[2] == Row(id=3, st=Row(user=None, n=None, inner=None), arr=[], m={}, deep=[])


def test_named_columns_only(spark, demo):
    df = spark.createDataFrame(
        [(TOKEN, (TOKEN,), TOKEN)], "a string, b struct<c:string>, keep string"
    )
    out = rs.redact_dataframe(df, ["a", "b"], redactor=demo).first()
    assert rs.redact_dataframe(df, "a", redactor=demo).first().b == Row(c=TOKEN)
    assert out == Row(a="[REDACTED]", b=Row(c="[REDACTED]"), keep=TOKEN)
    with pytest.raises(ValueError, match=r"no such column.*'nope'"):
        rs.redact_dataframe(df, ["a", "nope"], redactor=demo)
    # nothing to redact: the same DataFrame, no Python pass at all
    ints = spark.range(3)
    assert rs.redact_dataframe(ints, redactor=demo) is ints
    assert rs.redact_dataframe(df, ["a"], redactor=demo).columns == df.columns


@pytest.mark.parametrize(
    "engine", ["ahocorasick"] + (["hyperscan"] if redactor.hyperscan_available() else [])
)
def test_equals_the_single_process_engine_on_realistic_data(spark, engine):
    """Log-like lines with the secrets in several encodings, across many batches; the engine
    setting travels with the broadcast."""
    import base64
    import json
    from urllib.parse import quote

    disguises = [
        PASSWORD,
        base64.b64encode(TOKEN.encode()).decode(),
        json.dumps({"p": PASSWORD})[7:-2],
        quote(PASSWORD, safe=""),
        TOKEN.encode().hex(),
    ]
    lines = [
        f"2026-11-28T10:{i % 60:02d} INFO step {i} " + (disguises[i % 5] if i % 3 else "ok")
        for i in range(200)
    ]
    demo = Redactor(engine=engine)
    demo.add(PASSWORD, "db/password")
    demo.add(TOKEN, "api/token")
    df = spark.createDataFrame([(i, line) for i, line in enumerate(lines)], "i int, line string")
    out = rs.redact_dataframe(df.repartition(3), redactor=demo).orderBy("i").collect()
    assert [r.line for r in out] == [demo.redact(line) for line in lines]
    assert sum("[REDACTED]" in r.line for r in out) == len([i for i in range(200) if i % 3])


def test_sources_keywords_and_the_process_wide_default(
    spark, tmp_path, monkeypatch, fresh_redactor
):
    df = spark.createDataFrame([(f"{PASSWORD} {TOKEN}",)], "s string")
    env = tmp_path / "s.env"
    env.write_text(f"PASSWORD='{PASSWORD}'\n")
    assert rs.redact_dataframe(df, secrets_file=[env]).first().s == f"[REDACTED] {TOKEN}"
    monkeypatch.setenv("APP_TOKEN", TOKEN)
    assert rs.redact_dataframe(df, env_pattern=["*_TOKEN"]).first().s == f"{PASSWORD} [REDACTED]"
    assert rs.redact_dataframe(df, secret_env=["APP_TOKEN"]).first().s == f"{PASSWORD} [REDACTED]"
    with pytest.raises(TypeError, match="not both"):
        rs.redact_dataframe(df, redactor=demo_redactor(), secret_env=["APP_TOKEN"])
    # no argument: the process-wide redactor (what dbutils.secrets.get fills), empty here
    with pytest.warns(RedactorWarning, match="no secret is registered"):
        assert rs.redact_dataframe(df) is df
    redactor.add_secret(TOKEN, "api/token")
    assert rs.redact_dataframe(df).first().s == f"{PASSWORD} [REDACTED]"


def _worker_stats(spark, token):
    report = functools.partial(rs._worker_report, token)
    rows = spark.range(8, numPartitions=8).mapInArrow(report, "pid long, builds long, work long")
    return {r.pid: (r.builds, r.work) for r in rows.collect()}


def test_secrets_ship_once_and_each_worker_builds_once(spark):
    r = demo_redactor()
    df = spark.createDataFrame([(f"{i} {TOKEN}",) for i in range(60)], "s string").repartition(6)
    first = rs.redact_dataframe(df, redactor=r)
    second = rs.redact_dataframe(df.selectExpr("concat(s, '!') AS s"), redactor=r)
    assert first.count() == 60 and second.count() == 60
    bc, token = rs._ship(spark.sparkContext, r)
    assert rs._ship(spark.sparkContext, r) == (bc, token)  # one broadcast for the redactor
    stats = _worker_stats(spark, token)
    used = {pid: s for pid, s in stats.items() if s[1]}
    assert used, stats
    # every worker that redacted unpickled and built the automaton exactly once, for many batches
    assert all(builds == 1 and work > 1 for builds, work in used.values()), stats
    assert sum(work for _, work in used.values()) >= 2 * 15  # 2 jobs of >= 15 batches of 4 rows
    # a new secret: a new broadcast, built once more
    r.add("another-secret-value", "more")
    assert rs._ship(spark.sparkContext, r)[1] != token


def test_task_closures_hold_no_secret(spark, demo):
    from pyspark import cloudpickle

    df = spark.createDataFrame([("x",)], "s string")
    bc, token = rs._ship(spark.sparkContext, demo)
    func = functools.partial(rs._redact_batches, bc, token, (True,))
    shipped = cloudpickle.dumps(func)
    assert PASSWORD.encode() not in shipped and TOKEN.encode() not in shipped
    assert len(shipped) < 2000
    plan = rs.redact_dataframe(df, redactor=demo)._jdf.queryExecution().toString()
    assert TOKEN not in plan and PASSWORD not in plan


def test_release_secrets_destroys_the_broadcasts(spark):
    r = Redactor()
    r.add(TOKEN, "t")
    df = rs.redact_dataframe(spark.createDataFrame([(TOKEN,)], "s string"), redactor=r)
    assert df.first().s == "[REDACTED]"
    assert rs.release_secrets() >= 1
    with pytest.raises(Exception, match=r"(?i)destroy|broadcast"):
        df.collect()
    # a new call ships the secrets again
    again = rs.redact_dataframe(spark.createDataFrame([(TOKEN,)], "s string"), redactor=r)
    assert again.first().s == "[REDACTED]"


pieces = st.lists(
    st.sampled_from([PASSWORD, TOKEN, PASSWORD[:6], TOKEN[4:], "\n", "\u00e9", "\U0001f600", " "])
    | st.text(max_size=5),
    max_size=8,
).map("".join)
maybe = st.none() | pieces


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(maybe, st.lists(maybe, max_size=3), st.dictionaries(pieces, maybe, max_size=2)),
        min_size=1,
        max_size=12,
    )
)
def test_property_equals_redact_per_value(spark, demo, rows):
    df = spark.createDataFrame(
        [(i, *row) for i, row in enumerate(rows)],
        "i int, s string, a array<string>, m map<string,string>",
    )
    out = rs.redact_dataframe(df, redactor=demo).orderBy("i").collect()

    def red(v):
        return None if v is None else demo.redact(v)

    expected = [
        Row(
            i=i,
            s=red(s),
            a=[red(v) for v in a],
            m={red(k): red(v) for k, v in m.items()},
        )
        for i, (s, a, m) in enumerate(rows)
    ]
    # (two keys that redaction makes equal stay two entries in Spark; as dicts, the last wins)
    assert [(r.i, r.s, r.a) for r in out] == [(r.i, r.s, r.a) for r in expected]
    assert [r.m for r in out] == [r.m for r in expected]
    for r in out:
        for text in [r.s, *(r.a or []), *(r.m or {}), *(r.m or {}).values()]:
            assert text is None or (PASSWORD not in text and TOKEN not in text)


def test_scrub_files_on_executors_equals_one_process(spark, tmp_path, demo):
    src = tmp_path / "in"
    (src / "a" / "b").mkdir(parents=True)
    for i in range(7):
        (src / "a" / f"f{i}.log").write_bytes(f"{i} {TOKEN}\n".encode() * (i + 1) + b"\xff")
    (src / "a" / "b" / "e.jsonl").write_text('{"x": "\\u0067hp_demoT0ken1234567890abcdefXYZ"}\n')
    files, _ = list_log_files(src, tmp_path / "spark")
    outcomes = rs.scrub_files(spark, files, demo)
    assert [o.rel for o in outcomes] == [f.rel for f in files]
    single, _ = list_log_files(src, tmp_path / "one")
    expected = [scrub_log_file(job, demo) for job in single]
    assert outcomes == expected
    for job in files:
        rel = Path(job.rel)
        assert (tmp_path / "spark" / rel).read_bytes() == (tmp_path / "one" / rel).read_bytes()
    assert (tmp_path / "spark" / "a" / "f2.log").read_bytes() == b"2 [REDACTED]\n" * 3 + b"\xff"
    assert sum(o.counts["api/token"] for o in outcomes) == 28 + 1


ENGINES = ["ahocorasick"] + (["hyperscan"] if redactor.hyperscan_available() else [])
arrow_values = st.none() | st.lists(
    st.sampled_from(
        [
            PASSWORD,
            TOKEN,
            PASSWORD[:5],
            PASSWORD[5:],
            TOKEN[:9],
            TOKEN[9:],
            "\xe9",
            "\U0001f600",
            "",
        ]
    )
    | st.text(max_size=4),
    max_size=6,
).map("".join)


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(arrow_values, max_size=30),
    cut=st.tuples(st.integers(0, 5), st.integers(0, 5)),
    large=st.booleans(),
    scan=st.integers(1, 40),
)
def test_arrow_strings_equal_redact_per_value(engine, values, cut, large, scan, monkeypatch_module):
    """The batch scan (one buffer, groups of values, straddling matches) on sliced arrays."""
    import pyarrow as pa

    monkeypatch_module.setattr(rs, "_SCAN", scan)
    r = Redactor(engine=engine)
    r.add(PASSWORD, "p")
    r.add(TOKEN, "t")
    arr = pa.array(values, pa.large_string() if large else pa.string())
    arr = arr.slice(min(cut[0], len(arr)), max(0, len(arr) - sum(cut)))
    got = rs._redact_array(arr, r)
    assert got.type == arr.type
    assert got.to_pylist() == [None if v is None else r.redact(v) for v in arr.to_pylist()]


def test_a_secret_split_across_two_values_is_not_joined(spark, demo):
    df = spark.createDataFrame([(PASSWORD[:6],), (PASSWORD[6:],), (TOKEN,)], "s string")
    out = [r.s for r in rs.redact_dataframe(df.coalesce(1), redactor=demo).collect()]
    assert out == [PASSWORD[:6], PASSWORD[6:], "[REDACTED]"]
