"""Redact DataFrames and log folders on Apache Spark, inside the executors (``redactor[spark]``).

How the secrets travel: the :class:`~redactor.Redactor` is built on the driver and shipped once
per job as a Spark broadcast variable (it pickles as its settings and secret forms, without
matchers). Each executor's Python worker unpickles it once and builds its automaton once, on
first use, then keeps it for every later batch and task of that job (pyspark reuses Python
workers: ``spark.python.worker.reuse``, on by default). Task closures hold only the broadcast's
handle, never a secret.

What that exposes: the broadcast holds every secret form (and the names). It sits in the memory
of the driver, of every executor's block manager and of every Python worker that used it, and on
local disk under ``spark.local.dir``: pyspark writes the pickle to a file on the driver, each
executor stores the blocks and hands the value to its Python workers through a local file.
Between machines it travels in the clear unless ``spark.network.crypto.enabled=true`` (with
``spark.authenticate=true``), and it is written to disk in the clear unless
``spark.io.encryption.enabled=true``; turn both on for secrets. :func:`release_secrets` destroys
the broadcasts (driver file and executor copies) when you are done; ``redactor scrub-logs`` does so at the end of its job.

Work happens in Arrow record batches (``DataFrame.mapInArrow``), column by column: columns with no
string inside pass through untouched; a string array's buffer (its values back to back) is
scanned in a few matcher calls, and each value a match overlaps is redacted with
:meth:`Redactor.redact`, so every value comes out exactly as the single-process engine makes it.
"""

from __future__ import annotations

import bisect
import functools
import os
import uuid
import warnings
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from redactor.config import resolve
from redactor.engine.default import get_redactor
from redactor.engine.redactor import Redactor, RedactorWarning
from redactor.sinks.logfiles import FileOutcome, LogFile, scrub_log_file
from redactor.sources.load import build_redactor
from redactor.sources.references import Resolver

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark import SparkConf, SparkContext
    from pyspark.core.broadcast import Broadcast
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["redact_dataframe", "release_secrets", "resolve_spark_conf", "scrub_files"]


# -- the driver ---------------------------------------------------------------------------------

# One broadcast per (redactor, secrets registered so far, SparkContext): a job that redacts
# several DataFrames with the same redactor ships the secrets once.
_SHIPPED: weakref.WeakKeyDictionary[Redactor, tuple[Any, int, Any, str]] = (
    weakref.WeakKeyDictionary()
)
_ISSUED: list[Any] = []


def _ship(sc: SparkContext, redactor: Redactor) -> tuple[Broadcast, str]:
    """The broadcast carrying ``redactor`` and the token executors cache it under."""
    entry = _SHIPPED.get(redactor)
    if entry is not None:
        ctx, count, bc, token = entry
        if ctx is sc and count == len(redactor) and sc._jsc is not None:
            return bc, token
    bc = sc.broadcast(redactor)
    token = uuid.uuid4().hex
    _SHIPPED[redactor] = (sc, len(redactor), bc, token)
    _ISSUED.append(bc)
    return bc, token


def release_secrets() -> int:
    """Destroy every broadcast this module made (the driver's file, the executors' copies).

    DataFrames returned by :func:`redact_dataframe` before this call cannot be evaluated after
    it. Returns how many broadcasts were destroyed.
    """
    done = 0
    while _ISSUED:
        bc = _ISSUED.pop()
        try:
            bc.destroy()
            done += 1
        except Exception:  # noqa: S112 - its SparkContext is gone, and the broadcast with it
            continue
    _SHIPPED.clear()
    return done


def _context(spark: SparkSession) -> SparkContext:
    try:
        return spark.sparkContext
    except Exception as exc:
        # Spark Connect (Databricks serverless and shared access mode) has no broadcast variables.
        raise RuntimeError(
            "redactor.sinks.spark needs a classic SparkSession with a SparkContext (spark-submit, a "
            "single-user or dedicated cluster); Spark Connect has no broadcast variables"
        ) from exc


def _release(bc: Broadcast) -> None:
    for key, entry in list(_SHIPPED.items()):
        if entry[2] is bc:
            del _SHIPPED[key]
    if bc in _ISSUED:
        _ISSUED.remove(bc)
    bc.destroy()


def _redactor_for(
    redactor: Redactor | None,
    scopes: Sequence[str],
    secret_env: Sequence[str],
    env_pattern: Sequence[str],
    secrets_file: Sequence[str | os.PathLike[str]],
) -> Redactor:

    if scopes or secret_env or env_pattern or secrets_file:
        if redactor is not None:
            raise TypeError("pass either redactor= or secret sources, not both")
        given = {
            "scopes": scopes,
            "secret_env": secret_env,
            "env_pattern": env_pattern,
            "secrets_file": secrets_file,
        }
        # The sources as given here (no pyproject.toml: a Spark job has no project folder).
        return build_redactor(resolve(given, use_config=False))
    return redactor if redactor is not None else get_redactor()


def _has_string(dtype: Any) -> bool:
    from pyspark.sql.types import ArrayType, MapType, StringType, StructType

    if isinstance(dtype, StringType):
        return True
    if isinstance(dtype, StructType):
        return any(_has_string(f.dataType) for f in dtype.fields)
    if isinstance(dtype, ArrayType):
        return _has_string(dtype.elementType)
    if isinstance(dtype, MapType):
        return _has_string(dtype.keyType) or _has_string(dtype.valueType)
    return False


def redact_dataframe(
    df: DataFrame,
    columns: Iterable[str] | None = None,
    *,
    redactor: Redactor | None = None,
    scopes: Sequence[str] = (),
    secret_env: Sequence[str] = (),
    env_pattern: Sequence[str] = (),
    secrets_file: Sequence[str | os.PathLike[str]] = (),
) -> DataFrame:
    """``df`` with every string in ``columns`` (default: all) redacted, nested fields included.

    Strings inside structs, arrays and maps (keys and values) are redacted too; every other
    value, nulls and empty strings come back unchanged, and each string comes back exactly as
    ``redactor.redact(value)`` would make it. The secrets come from ``redactor`` or, instead, from
    sources as ``redactor scrub`` reads them (``scopes``, ``secret_env`` names, ``env_pattern``
    globs, ``secrets_file`` dotenv paths, all read on the driver); with neither, from the
    process-wide redactor (:func:`redactor.get_redactor`, which ``dbutils.secrets.get`` fills).
    The secrets are those registered at the time of the call. Lazy like any transformation.
    """
    chosen = _redactor_for(redactor, scopes, secret_env, env_pattern, secrets_file)
    fields = df.schema.fields
    wanted = None if columns is None else [columns] if isinstance(columns, str) else list(columns)
    if wanted is not None:
        missing = [c for c in wanted if c not in df.columns]
        if missing:
            raise ValueError(f"no such column(s): {', '.join(map(repr, missing))}")
    plan = tuple((wanted is None or f.name in wanted) and _has_string(f.dataType) for f in fields)
    if not any(plan):
        return df
    if not len(chosen):
        warnings.warn(
            "no secret is registered: the DataFrame is returned unredacted",
            RedactorWarning,
            stacklevel=2,
        )
        return df
    bc, token = _ship(_context(df.sparkSession), chosen)
    func = functools.partial(_redact_batches, bc, token, plan)
    with warnings.catch_warnings():
        # mapInArrow goes through pandas_udf, which checks pandas' version; no pandas is used.
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas")
        return df.mapInArrow(func, df.schema)


# -- the configuration ----------------------------------------------------------------------------


def resolve_spark_conf(
    conf: SparkConf | Mapping[str, str], *, redactor: Redactor | None = None
) -> Any:
    """``conf`` with every ``{{secrets/scope/key}}`` in its values resolved, before a session
    starts, as Databricks resolves ``spark.password {{secrets/kv-scope/sql-db-password}}`` at a
    cluster's start.

    A ``SparkConf`` is changed in place and returned (for ``SparkSession.builder.config(conf=...)``);
    a mapping comes back as a new dict (for ``.config(map=...)``). Every value fetched is
    registered first, with ``redactor`` or the process-wide redactor (and so shipped to the
    executors by :func:`redact_dataframe`), as ``scope/key``; a property that was only partly a
    reference (a JDBC URL) is registered whole as well, under the property's name. Raises
    :class:`redactor.UnresolvedReferenceError` naming every property, scope and key that failed,
    before anything is changed.

    Call it before the session starts: Spark reads its static properties once. The values then
    live in the driver's and the executors' configuration, where anyone who can read it (the
    Spark UI's Environment tab, ``spark.conf.get``) sees them unless their names match
    ``spark.redaction.regex`` (by default names holding ``secret``, ``password``, ``token`` or
    ``access.key``), exactly as on Databricks.
    """
    items: list[tuple[str, Any]] = list(
        conf.items() if isinstance(conf, Mapping) else conf.getAll()
    )
    resolver = Resolver()
    resolved = [
        (k, resolver.value(v, f"Spark property {k}", k) if isinstance(v, str) else v)
        for k, v in items
    ]
    resolver.check()
    resolver.register(redactor)
    if isinstance(conf, Mapping):
        return dict(resolved)
    for (key, old), (_, new) in zip(items, resolved):
        if new is not old:
            conf.set(key, new)
    return conf


# -- the executors ------------------------------------------------------------------------------

# token -> (the broadcast object it came from, the redactor): one unpickle and one automaton per
# Python worker and broadcast. An entry goes when pyspark drops its broadcast (destroyed or
# unpersisted), so a long-lived worker does not keep secrets longer than Spark does.
_WORKER: dict[str, tuple[weakref.ref, Redactor]] = {}
# token -> [unpickles, batches or files] in this worker: what tests and benchmarks read back.
_WORKER_STATS: dict[str, list[int]] = {}


def _worker_redactor(bc: Broadcast, token: str) -> Redactor:
    entry = _WORKER.get(token)
    if entry is not None and entry[0]() is not None:
        return entry[1]
    for key, (ref, _) in list(_WORKER.items()):
        if ref() is None:
            del _WORKER[key]
    redactor: Redactor = bc.value
    redactor.prepare()  # build the automaton now, once
    _WORKER[token] = (weakref.ref(bc), redactor)
    _WORKER_STATS.setdefault(token, [0, 0])[0] += 1
    return redactor


# A batch's strings are scanned in groups of values of about this many bytes.
_SCAN = 1 << 22


def _redact_strings(arr: pa.Array, redactor: Redactor) -> pa.Array:
    """A string array with every value as ``redactor.redact`` makes it.

    Arrow keeps a column's strings back to back in one buffer: that buffer is scanned in a few
    calls (not one per value), and only values that a match overlaps are redacted one by one.
    A match that straddles two values only costs a look at both; a value holding a secret is
    always overlapped by a match, so every other value is kept as it is, without a copy.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(arr)
    if n == arr.null_count:
        return arr
    large = pa.types.is_large_string(arr.type)
    offsets_type = pa.int64() if large else pa.int32()
    _, offsets_buf, data_buf = arr.buffers()
    offsets = pa.Array.from_buffers(
        offsets_type, n + 1, [None, offsets_buf], offset=arr.offset
    ).to_pylist()
    data = memoryview(data_buf) if data_buf is not None else memoryview(b"")
    hits: list[int] = []
    first = 0
    while first < n:
        # values first..last-1, about _SCAN bytes (a longer value alone)
        last = bisect.bisect_right(offsets, offsets[first] + _SCAN, first + 1) - 1
        last = min(max(last, first + 1), n)
        lo, hi = offsets[first], offsets[last]
        if hi > lo:
            chunk = bytes(data[lo:hi])
            # (across escape sequences too: a coloured value reaches redact below)
            for start, stop, _ in redactor.spans(chunk):
                i = bisect.bisect_right(offsets, lo + start, first, last) - 1
                while i < last and offsets[i] < lo + stop:
                    if offsets[i + 1] > offsets[i] and (not hits or hits[-1] != i):
                        hits.append(i)
                    i += 1
        first = last
    if arr.null_count:
        hits = [i for i in hits if arr[i].is_valid]  # a null's slot may hold bytes: not a value
    if not hits:
        return arr
    new = [redactor.redact(arr[i].as_py()) for i in hits]
    mask = [False] * n
    for i in hits:
        mask[i] = True
    return pc.replace_with_mask(arr, pa.array(mask, pa.bool_()), pa.array(new, type=arr.type))


def _redact_array(arr: pa.Array, redactor: Redactor) -> pa.Array:
    """``arr`` with every string inside it redacted as ``redactor.redact`` would; the rest as is."""
    import pyarrow as pa

    t = arr.type
    if not _arrow_has_string(t):
        return arr
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _redact_strings(arr, redactor)
    if arr.offset:
        arr = pa.concat_arrays([arr])  # a copy that starts at 0, as from_arrays needs
    mask = arr.is_null() if arr.null_count else None
    if pa.types.is_struct(t):
        children = [_redact_array(arr.field(i), redactor) for i in range(t.num_fields)]
        return pa.StructArray.from_arrays(children, fields=list(t), mask=mask)
    if pa.types.is_map(t):
        return pa.MapArray.from_arrays(
            arr.offsets,
            _redact_array(arr.keys, redactor),
            _redact_array(arr.items, redactor),
            type=t,
            mask=mask,
        )
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        cls = pa.ListArray if pa.types.is_list(t) else pa.LargeListArray
        values = _redact_array(arr.values, redactor)
        return cls.from_arrays(arr.offsets, values, type=t, mask=mask)
    raise TypeError(f"cannot redact strings inside Arrow type {t}")  # pragma: no cover


def _arrow_has_string(t: Any) -> bool:
    import pyarrow as pa

    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return True
    return any(_arrow_has_string(t.field(i).type) for i in range(t.num_fields))


def _redact_batches(
    bc: Broadcast, token: str, plan: tuple[bool, ...], batches: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    redactor = _worker_redactor(bc, token)
    stats = _WORKER_STATS[token]
    for batch in batches:
        stats[1] += 1
        columns = [
            _redact_array(col, redactor) if todo else col for col, todo in zip(batch.columns, plan)
        ]
        yield pa.RecordBatch.from_arrays(columns, schema=batch.schema)


def _scrub_group(bc: Broadcast, token: str, group: list[LogFile]) -> list[FileOutcome]:
    redactor = _worker_redactor(bc, token)
    _WORKER_STATS[token][1] += len(group)
    return [scrub_log_file(job, redactor) for job in group]


def _worker_report(token: str, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """(pid, unpickles, batches or files) for ``token`` in the Python worker running this task.

    For tests and benchmarks, through ``mapInArrow`` so that it runs in the same pool of SQL
    Python workers as :func:`redact_dataframe` (the RDD API keeps a pool of its own).
    """
    import pyarrow as pa

    for _ in batches:
        pass
    builds, work = _WORKER_STATS.get(token, [0, 0])
    yield pa.RecordBatch.from_pydict({"pid": [os.getpid()], "builds": [builds], "work": [work]})


# -- log folders --------------------------------------------------------------------------------


def _groups(files: list[LogFile], n: int) -> list[list[LogFile]]:
    """``files`` in at most ``n`` groups of similar total size (largest first, to the lightest)."""
    groups: list[list[LogFile]] = [[] for _ in range(max(1, min(n, len(files))))]
    sizes = [0] * len(groups)
    for job in sorted(files, key=lambda j: (-j.size, j.rel)):
        i = sizes.index(min(sizes))
        groups[i].append(job)
        sizes[i] += job.size
    return [g for g in groups if g]


def scrub_files(
    spark: SparkSession, files: list[LogFile], redactor: Redactor, *, release: bool = True
) -> list[FileOutcome]:
    """Copy ``files`` redacted, one Spark task per group of files, results in ``files``' order.

    Executors open the paths themselves, so they must see them: a local master, or a mount every
    node has (Databricks ``/dbfs`` and ``/Volumes``, NFS, a FUSE-mounted bucket). A file is
    streamed, never held whole in memory; one file is one task's work, so a single huge file
    gains nothing from the cluster.
    """
    if not files:
        return []
    sc = _context(spark)
    bc, token = _ship(sc, redactor)
    try:
        groups = _groups(files, sc.defaultParallelism * 4)
        rdd = sc.parallelize(groups, len(groups))
        outcomes = rdd.flatMap(functools.partial(_scrub_group, bc, token)).collect()
    finally:
        if release:
            _release(bc)
    order = {job.rel: i for i, job in enumerate(files)}
    return sorted(outcomes, key=lambda o: order[o.rel])
