"""Bounds on the passphrase KDF parameters a store's ``meta`` table holds, checked before use.

The parameters come from the database, which whoever can write the file controls. Unchecked,
lowered ones (Argon2 memory 8 KiB, one pass) turn every passphrase attempt into a cheap
verifier, and raised ones hang the process or end in a ``MemoryError``. So each is checked
against a floor, the defaults' strength (what :func:`keys.new_kdf_params` writes), and a ceiling
that one derivation reaches in a few seconds; anything else is a :class:`KdfParamsError` naming
the field, raised before any passphrase is asked for or derived.

Measured on the 2-core CI machine under load (load average 8: eight test runs at once), one
derivation each:

=====================================  =======  ==========================================
parameters                             time     note
=====================================  =======  ==========================================
Argon2id 64 MiB, t=3, p=4              0.73 s   the default (0.15 s on an idle machine)
Argon2id 256 MiB, t=3, p=1             3.04 s   a ceiling: memory x passes <= 4 x default
Argon2id 256 MiB, t=3, p=8             3.18 s   the same, most lanes
Argon2id 64 MiB, t=12, p=1             2.51 s   the same ceiling reached by passes
scrypt N=2**17, r=8, p=1               1.36 s   the default (0.35 s idle)
scrypt N=2**18, r=8, p=1               2.95 s   a ceiling: 256 MiB (128 * N * r bytes)
scrypt N=2**17, r=16, p=1              2.83 s   the same work: N * r * p <= 2 x default
scrypt N=2**17, r=8, p=2               2.88 s   the same work, by p
=====================================  =======  ==========================================

Lanes (Argon2 ``p``) may be 1 to 8: fewer lanes do not make a guess cheaper (the work is memory
x passes whatever the lanes), and more than 8 add threads, not strength, on the machines this
runs on.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from redactor.sources.scopes.errors import KdfParamsError

__all__ = ["ARGON2_BOUNDS", "SCRYPT_BOUNDS", "check_kdf_params"]

KIB_PER_MIB = 1024
# (floor, ceiling) per field; the floors are the defaults of keys.ARGON2_PARAMS/SCRYPT_PARAMS.
ARGON2_BOUNDS = {
    "memory_cost": (64 * KIB_PER_MIB, 256 * KIB_PER_MIB),  # KiB
    "iterations": (3, 12),
    "lanes": (1, 8),
}
ARGON2_MAX_WORK = 4 * 64 * KIB_PER_MIB * 3  # memory_cost x iterations: 4 x the default
SCRYPT_BOUNDS = {"n": (2**17, 2**18), "r": (8, 16), "p": (1, 2)}
SCRYPT_MAX_MEMORY = 256 * 1024 * 1024  # bytes: 128 * n * r
SCRYPT_MAX_WORK = 2 * 2**17 * 8  # n x r x p: 2 x the default (scrypt's p is sequential here)
SALT_BYTES = (16, 64)


def _int(kdf: dict[str, Any], field: str) -> int:
    value = kdf.get(field)
    # bool is an int in Python, and JSON true is no parameter
    if not isinstance(value, int) or isinstance(value, bool):
        raise KdfParamsError(
            f"the store's passphrase KDF parameter {field!r} is missing or not an integer; "
            "the store was damaged or tampered with: restore it from a backup"
        )
    return value


def _bounded(kdf: dict[str, Any], field: str, low: int, high: int) -> int:
    value = _int(kdf, field)
    if not low <= value <= high:
        raise KdfParamsError(
            f"the store's passphrase KDF parameter {field!r} is {value}, outside the accepted "
            f"{low} to {high}; the store was damaged or tampered with: restore it from a backup"
        )
    return value


def check_kdf_params(kdf: object) -> dict[str, Any]:
    """``kdf`` if its algorithm is known and every parameter within bounds, else
    :class:`KdfParamsError` naming the field."""
    if not isinstance(kdf, dict):
        raise KdfParamsError("the store's passphrase KDF parameters are malformed")
    name = kdf.get("name")
    try:
        salt = base64.b64decode(str(kdf.get("salt", "")), validate=True)
    except (binascii.Error, ValueError):
        salt = b""
    if not SALT_BYTES[0] <= len(salt) <= SALT_BYTES[1]:
        raise KdfParamsError(
            f"the store's passphrase KDF parameter 'salt' is not {SALT_BYTES[0]} to "
            f"{SALT_BYTES[1]} bytes of base64; the store was damaged or tampered with: restore "
            "it from a backup"
        )
    if name == "argon2id":
        values = {f: _bounded(kdf, f, *bounds) for f, bounds in ARGON2_BOUNDS.items()}
        if values["memory_cost"] * values["iterations"] > ARGON2_MAX_WORK:
            raise KdfParamsError(
                "the store's passphrase KDF parameters 'memory_cost' x 'iterations' are "
                f"{values['memory_cost'] * values['iterations']}, above the accepted "
                f"{ARGON2_MAX_WORK}; the store was damaged or tampered with: restore it from a "
                "backup"
            )
    elif name == "scrypt":
        values = {f: _bounded(kdf, f, *bounds) for f, bounds in SCRYPT_BOUNDS.items()}
        n, r, p = values["n"], values["r"], values["p"]
        if n & (n - 1):
            raise KdfParamsError(
                f"the store's passphrase KDF parameter 'n' is {n}, not a power of two; the store "
                "was damaged or tampered with: restore it from a backup"
            )
        if 128 * n * r > SCRYPT_MAX_MEMORY or n * r * p > SCRYPT_MAX_WORK:
            raise KdfParamsError(
                f"the store's passphrase KDF parameters 'n', 'r', 'p' ({n}, {r}, {p}) need more "
                f"than the accepted {SCRYPT_MAX_MEMORY // 2**20} MiB or {SCRYPT_MAX_WORK} "
                "(n x r x p); the store was damaged or tampered with: restore it from a backup"
            )
    else:
        shown = name if isinstance(name, str) and len(name) <= 32 else type(name).__name__
        raise KdfParamsError(
            f"unknown passphrase KDF {shown!r} in the store (damaged, or written by a newer "
            "redactor)"
        )
    return kdf
