"""``redactor scan --git``: every blob reachable from some revisions, each scanned once.

Three steps, all through one long-lived ``git cat-file --batch`` (objects read on demand, one
request at a time, so the pipes never fill both ways):

1. ``git log --format=%H %T`` lists the commits and their root trees;
2. every distinct tree is read once (memoized by id: a tree unchanged across 10,000 commits is
   parsed once), giving the distinct blobs and the paths each is seen at;
3. each distinct blob is scanned once; only for the blobs that hold a finding are the commits and
   paths that hold them worked out, again per distinct tree.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from redactor.errors import CommandError
from redactor.sinks.scan import Finding, Scanner

__all__ = ["GitError", "scan_history"]

_TREE_MODE = b"40000"
_GITLINK_MODE = b"160000"


class GitError(CommandError):
    """git failed or the folder is not a repository; the message is git's, which holds no value
    (it names revisions and paths)."""


def _git(repo: Path, *args: str) -> bytes:
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, check=False, timeout=None
        )
    except FileNotFoundError:
        raise GitError("git is not installed (scan --git runs it)") from None
    if proc.returncode:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {msg[-1] if msg else proc.returncode}")
    return proc.stdout


class _Batch:
    """``git cat-file --batch``: one object at a time, by id."""

    def __init__(self, repo: Path) -> None:
        self._proc = subprocess.Popen(
            ["git", "-C", str(repo), "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._in: IO[bytes] = self._proc.stdin
        self._out: IO[bytes] = self._proc.stdout

    def read(self, oid: str) -> tuple[str, bytes]:
        self._in.write(oid.encode() + b"\n")
        self._in.flush()
        header = self._out.readline().split()
        if len(header) != 3:
            raise GitError(f"git cat-file: object {oid} is missing")
        size = int(header[2])
        data = self._out.read(size)
        self._out.read(1)  # the newline after the content
        return header[1].decode(), data

    def close(self) -> None:
        self._in.close()
        self._proc.wait()


class _Blob:
    """One blob's content on the pipe: ``read`` stops at its end, so that a large blob is
    scanned in windows (``Scanner.scan_stream``) rather than read into memory whole."""

    def __init__(self, pipe: IO[bytes], size: int) -> None:
        self._pipe = pipe
        self.left = size

    def read(self, n: int = -1, /) -> bytes:
        if self.left <= 0:
            return b""
        data = self._pipe.read(self.left if n < 0 else min(n, self.left))
        if not data:
            raise GitError("git cat-file stopped in the middle of a blob")
        self.left -= len(data)
        return data


def _stream_blobs(repo: Path, oids: Sequence[str]) -> Iterator[tuple[str, _Blob]]:
    """``(oid, content)`` of each blob in order, through a second ``git cat-file --batch`` whose
    requests a thread writes all at once while this one reads the answers: no round trip per
    object (the one-at-a-time reads were most of a 300-commit scan's time after start-up). The
    content is a reader; what the caller leaves unread of it is skipped."""
    proc = subprocess.Popen(
        ["git", "-C", str(repo), "cat-file", "--batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    def feed() -> None:
        try:
            stdin.write(b"".join(oid.encode() + b"\n" for oid in oids))
        except BrokenPipeError:
            pass
        finally:
            try:
                stdin.close()
            except BrokenPipeError:
                pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    done = False
    try:
        for oid in oids:
            header = stdout.readline().split()
            if len(header) != 3:
                raise GitError(f"git cat-file: object {oid} is missing")
            blob = _Blob(stdout, int(header[2]))
            yield oid, blob
            while blob.read(1 << 20):
                pass
            stdout.read(1)  # the newline after the content
        done = True
    finally:
        if not done:  # stopped early: the writer may be blocked on a full pipe
            proc.kill()
        stdout.close()
        proc.wait()
        writer.join()


@dataclass
class _Tree:
    """A tree's direct entries: blobs (path, id) and subtrees (name, id)."""

    blobs: list[tuple[str, str]]
    trees: list[tuple[str, str]]


def _parse_tree(data: bytes) -> _Tree:
    blobs: list[tuple[str, str]] = []
    trees: list[tuple[str, str]] = []
    i = 0
    n = len(data)
    while i < n:
        space = data.index(b" ", i)
        nul = data.index(b"\0", space)
        mode = data[i:space]
        name = data[space + 1 : nul].decode("utf-8", "surrogateescape")
        oid = data[nul + 1 : nul + 21].hex()
        i = nul + 21
        if mode == _TREE_MODE:
            trees.append((name, oid))
        elif mode != _GITLINK_MODE:  # a submodule's commit is not in this repository
            blobs.append((name, oid))
    return _Tree(blobs, trees)


class _History:
    def __init__(self, batch: _Batch) -> None:
        self._batch = batch
        self._trees: dict[str, _Tree] = {}

    def tree(self, oid: str) -> _Tree:
        tree = self._trees.get(oid)
        if tree is None:
            kind, data = self._batch.read(oid)
            if kind != "tree":
                raise GitError(f"git cat-file: {oid} is a {kind}, not a tree")
            tree = self._trees[oid] = _parse_tree(data)
        return tree

    def blobs(self, roots: Sequence[str]) -> dict[str, str]:
        """Every distinct blob under ``roots``, with the first path it was seen at."""
        out: dict[str, str] = {}
        seen: set[str] = set()
        stack = [("", r) for r in roots]
        while stack:
            prefix, oid = stack.pop()
            if oid in seen:
                continue
            seen.add(oid)
            tree = self.tree(oid)
            for name, blob in tree.blobs:
                out.setdefault(blob, prefix + name)
            stack += [(f"{prefix}{name}/", sub) for name, sub in tree.trees]
        return out

    def holding(self, root: str, wanted: set[str]) -> list[tuple[str, str]]:
        """(path, blob) of every blob in ``wanted`` under tree ``root`` (memoized per tree)."""
        memo: dict[str, list[tuple[str, str]]] = getattr(self, "_memo", {})
        self._memo = memo

        def walk(oid: str) -> list[tuple[str, str]]:
            found = memo.get(oid)
            if found is None:
                tree = self.tree(oid)
                found = [(name, b) for name, b in tree.blobs if b in wanted]
                for name, sub in tree.trees:
                    found += [(f"{name}/{p}", b) for p, b in walk(sub)]
                memo[oid] = found
            return found

        return walk(root)


def scan_history(scanner: Scanner, repo: Path, revs: Sequence[str]) -> list[Finding]:
    """The findings in every blob reachable from ``revs`` (``--all`` when empty), one per
    (blob, region, secret), each with the commits (newest first) and paths that hold the blob.
    The finding's ``path`` is the first of those paths; its fingerprint uses that path."""
    log = _git(repo, "log", "--format=%H %T", *(revs or ["--all"]), "--")
    commits = [tuple(line.split()) for line in log.decode().splitlines() if line.strip()]
    batch = _Batch(repo)
    try:
        history = _History(batch)
        blobs = history.blobs(sorted({tree for _, tree in commits}))
        by_blob: dict[str, list[Finding]] = {}
        order = sorted(blobs, key=blobs.__getitem__)
        for oid, blob in _stream_blobs(repo, order):
            found = scanner.scan_stream(blob, blobs[oid])
            if found:
                by_blob[oid] = found
        holders: dict[str, list[tuple[str, str]]] = {oid: [] for oid in by_blob}
        wanted = set(by_blob)
        for commit, tree in commits:
            for path, oid in history.holding(tree, wanted):
                holders[oid].append((commit, path))
    finally:
        batch.close()
    out: list[Finding] = []
    for oid, found in by_blob.items():
        commits_of = list(dict.fromkeys(c for c, _ in holders[oid]))
        paths = sorted({p for _, p in holders[oid]})
        for f in found:
            f.blob, f.commits, f.paths = oid, commits_of, paths
            if paths and f.path != paths[0]:
                f.path = paths[0]
                f.set_fingerprint(scanner.key)
            out.append(f)
    out.sort(key=lambda f: (f.path, f.line, f.column, f.secret))
    return out
