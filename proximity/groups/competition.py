"""Competition rules: when two firms compete (NAF codes), vectorised."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from ..errors import InputError
from ._util import _show

__all__ = ["COMPETITION_RULES", "Rule", "competes"]

#: Built-in competition rules: two firms compete when the first so many characters of
#: their undotted NAF rév. 2 codes are equal (``"6201Z"``: division ``62``, group
#: ``620``, class ``6201``, subclass ``6201Z``); ``"none"``: firms never compete.
COMPETITION_RULES: dict[str, int] = {
    "naf_subclass": 5,
    "naf_class": 4,
    "naf_group": 3,
    "naf_division": 2,
    "none": 0,
}


Rule: TypeAlias = "str | Callable[[np.ndarray, np.ndarray], Any]"


_NAF_RE = re.compile(r"\d{4}[A-Z]?")


def _normalise_naf(codes: Any, name: str) -> np.ndarray:
    """Dotted upper-case NAF codes (``"62.01Z"``) as an object array; bad codes are an error."""
    arr = np.asarray(codes, dtype=object)
    flat = arr.reshape(-1)
    out = np.empty(flat.shape, dtype=object)
    bad = []
    for k, v in enumerate(flat):
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            bad.append(v)
            continue
        s = str(v).strip().upper().replace(".", "")
        if not _NAF_RE.fullmatch(s):
            bad.append(v)
            continue
        out[k] = s[:2] + "." + s[2:]
    if bad:
        raise InputError(
            f"{name} has {len(bad)} missing or malformed NAF code(s) (e.g. {_show(bad)}); expected NAF "
            f"rév. 2 codes like '62.01Z' or '6201Z': fill them or drop those firms first "
            f"(e.g. select_smes(..., naf_prefixes=...))"
        )
    return out.reshape(arr.shape)


def _check_rule(rule: Any) -> None:
    if callable(rule):
        return
    if not isinstance(rule, str) or rule not in COMPETITION_RULES:
        raise InputError(
            f"competition rule {rule!r} is unknown; choose one of {', '.join(COMPETITION_RULES)} "
            f"or pass a callable f(naf_a, naf_b) -> array of bool"
        )


def _callable_competes(rule: Callable[..., Any], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = []
    for x, y in ((a, b), (b, a)):
        try:
            r = np.asarray(rule(x, y))
        except InputError:
            raise
        except Exception as exc:  # a user's callable: report what it did
            raise InputError(
                f"competition rule {rule!r} failed on NAF codes: {exc!r}; it must take two "
                f"arrays of NAF codes and return an array of bool"
            ) from exc
        if r.shape != a.shape or r.dtype.kind not in "bui":
            raise InputError(
                f"competition rule {rule!r} returned shape {r.shape} and dtype {r.dtype}; it must return "
                f"one bool per pair, shape {a.shape}"
            )
        out.append(r.astype(bool))
    return out[0] | out[1]


def competes(a: Any, b: Any, *, rule: Rule = "naf_class") -> np.ndarray:
    """Whether firms with NAF codes ``a`` and ``b`` compete, pair by pair (vectorised).

    Parameters
    ----------
    a, b : str or array-like of str
        NAF rév. 2 codes, dotted or not (``"62.01Z"``, ``"6201Z"``; a 4-digit class such
        as ``"62.01"`` is accepted); broadcast against each other.
    rule : str or callable, default "naf_class"
        ``"naf_class"`` (same first four digits, e.g. ``62.01``), ``"naf_group"``
        (``62.0``), ``"naf_division"`` (``62``), ``"naf_subclass"`` (the full code),
        ``"none"`` (never), or a callable ``rule(naf_a, naf_b) -> array of bool`` taking
        two object arrays of dotted codes. A pair competes if ``rule(a, b)`` or
        ``rule(b, a)``: competition is symmetric.

    Returns
    -------
    numpy.ndarray of bool
        The broadcast shape of ``a`` and ``b`` (0-d for two strings).

    Raises
    ------
    InputError
        Unknown rule, malformed or missing NAF code, shapes that do not broadcast, or a
        callable returning something else than one bool per pair.

    Examples
    --------
    >>> competes(["62.01Z", "62.01Z", "10.71C"], ["6201A", "62.02A", "10.71D"]).tolist()
    [True, False, True]
    >>> bool(competes("62.01Z", "62.02A", rule="naf_division"))
    True
    """
    _check_rule(rule)
    na = _normalise_naf(a, "a")
    nb = _normalise_naf(b, "b")
    try:
        na, nb = np.broadcast_arrays(na, nb)
    except ValueError as exc:
        raise InputError(
            f"a (shape {na.shape}) and b (shape {nb.shape}) do not broadcast; pass arrays of the same length"
        ) from exc
    if callable(rule):
        flat = _callable_competes(rule, na.reshape(-1).copy(), nb.reshape(-1).copy())
        return flat.reshape(na.shape)
    width = COMPETITION_RULES[rule]
    if width == 0:
        return np.zeros(na.shape, dtype=bool)
    ka = np.vectorize(lambda s: s.replace(".", "")[:width], otypes=[object])(na) if na.size else na
    kb = np.vectorize(lambda s: s.replace(".", "")[:width], otypes=[object])(nb) if nb.size else nb
    return np.asarray(ka == kb, dtype=bool)


def _competition_codes(naf: np.ndarray, rule: Rule) -> tuple[np.ndarray | None, Callable[..., np.ndarray] | None]:
    """Integer keys per firm such that equal keys compete, or a pairwise function (callables)."""
    if not callable(rule):
        width = COMPETITION_RULES[rule]
        if width == 0:
            return None, None
        keys = pd.Series([s.replace(".", "")[:width] for s in naf])
        return pd.factorize(keys)[0].astype(np.int64), None
    uniq, inv = np.unique(naf.astype(str), return_inverse=True)
    ua = np.repeat(uniq.astype(object), len(uniq))
    ub = np.tile(uniq.astype(object), len(uniq))
    grid = _callable_competes(rule, ua, ub).reshape(len(uniq), len(uniq))
    inv = inv.astype(np.int64)

    def pairwise(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return grid[inv[i], inv[j]]

    return None, pairwise
