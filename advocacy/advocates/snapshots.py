"""Turning computed components into stored rows and back.

A snapshot row keeps a customer's components, scores and ranks as columns, and the
per-customer facts the reasons are written from as one float vector (names kept once,
in the snapshot's parameters). ``page_components`` rebuilds a small ``Components`` for
the rows of one page, so reasons read exactly as they would straight after ranking.

On PostgreSQL the rows are written with ``COPY ... FROM STDIN (FORMAT binary)``: every
value is fixed-width (followers aside, which is why rows with and without a follower
count go in two layouts), so numpy lays out a million rows without a Python loop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from advocacy.graph.attitude import AttitudeFacts
from advocacy.graph.components import Components
from advocacy.graph.engagement import EngagementFacts
from advocacy.graph.influence import InfluenceFacts
from advocacy.graph.inputs import RankingParams
from advocacy.graph.network import InteractionGraph
from advocacy.graph.scoring import COMPONENT_NAMES
from advocacy.graph.sentiment import SentimentFacts

_GROUPS: dict[str, type] = {
    "engagement_facts": EngagementFacts,
    "sentiment_facts": SentimentFacts,
    "influence_facts": InfluenceFacts,
    "graph": InteractionGraph,
}
_TRACK = ("invites", "clicks", "conversions")


def fact_columns(components: Components) -> dict[str, np.ndarray]:
    """Every per-customer array of the facts, named ``group.field``, in a stable order."""
    columns: dict[str, np.ndarray] = {}
    for group in _GROUPS:
        facts = getattr(components, group)
        for f in dataclasses.fields(facts):
            value = getattr(facts, f.name)
            if isinstance(value, np.ndarray) and value.ndim == 1 and value.size == components.n:
                columns[f"{group}.{f.name}"] = value
    for name in _TRACK:
        columns[f"track.{name}"] = getattr(components, name)
    return columns


def fact_dtypes(columns: dict[str, np.ndarray]) -> dict[str, str]:
    return {name: values.dtype.str for name, values in columns.items()}


def facts_matrix(columns: dict[str, np.ndarray], n: int) -> np.ndarray:
    """(n, F) float64, one row of facts per customer."""
    if not columns:
        return np.zeros((n, 0))
    return np.column_stack([values.astype(np.float64) for values in columns.values()])


def params_from_dict(stored: dict[str, Any]) -> RankingParams:
    known = {f.name for f in dataclasses.fields(RankingParams)}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in stored.items() if k in known}
    return RankingParams(**values)  # type: ignore[arg-type]  # checked by __post_init__


def page_components(
    rows: Sequence[Any], params: RankingParams, now: float, names: list[str], dtypes: dict[str, str]
) -> Components:
    """A ``Components`` over just ``rows`` (AdvocateScore-like objects), for the reasons."""
    m = len(rows)
    matrix = np.array([row.facts for row in rows], dtype=np.float64).reshape(m, len(names))
    position = {name: i for i, name in enumerate(names)}

    def column(name: str, default: Any = np.float64) -> np.ndarray:
        dtype = np.dtype(dtypes.get(name, default))
        if name not in position:
            return np.zeros(m, dtype=dtype)
        values = matrix[:, position[name]]
        if dtype.kind in "iub":
            return np.nan_to_num(values).astype(dtype)
        return values.astype(dtype)

    groups: dict[str, Any] = {}
    empty = sp.csr_array((m, m), dtype=np.float64)
    for group, cls in _GROUPS.items():
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            annotation = str(f.type)
            if f.name == "n":
                kwargs[f.name] = m
            elif "csr" in annotation:
                kwargs[f.name] = empty
            elif "ndarray" in annotation:
                kwargs[f.name] = column(f"{group}.{f.name}")
            elif "bool" in annotation:
                kwargs[f.name] = True
            else:
                kwargs[f.name] = 0
        groups[group] = cls(**kwargs)
    arrays: dict[str, Any] = {
        name: np.array([getattr(r, name) for r in rows], dtype=np.float64)
        for name in COMPONENT_NAMES
    }
    arrays.update({name: column(f"track.{name}", np.int64) for name in _TRACK})
    return Components(
        n=m,
        now=now,
        params=params,
        **arrays,
        eligible=np.array([r.eligible for r in rows], dtype=bool),
        gate=np.array([r.gate for r in rows], dtype=np.uint8),
        followers=np.array(
            [-1 if r.followers is None else r.followers for r in rows], dtype=np.int64
        ),
        engagement_facts=groups["engagement_facts"],
        sentiment_facts=groups["sentiment_facts"],
        attitude_facts=AttitudeFacts.unknown(m),
        influence_facts=groups["influence_facts"],
        graph=groups["graph"],
    )


# Column name -> (PostgreSQL binary type) for the fixed-width part of a score row.
SCORE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("snapshot_id", ">i8"),
    ("customer_id", ">i8"),
    *((name, ">f8") for name in COMPONENT_NAMES),
    ("score_awareness", ">f8"),
    ("score_consideration", ">f8"),
    ("score_conversion", ">f8"),
    ("rank_awareness", ">i4"),
    ("rank_consideration", ">i4"),
    ("rank_conversion", ">i4"),
    ("share_probability", ">f8"),
    ("eligible", "?"),
    ("gate", ">i2"),
)


def copy_binary(values: dict[str, np.ndarray], followers: np.ndarray, facts: np.ndarray) -> bytes:
    """Rows for ``COPY advocate_scores (<SCORE_COLUMNS>, followers, facts) FROM STDIN
    (FORMAT binary)``, header and trailer included."""
    n, width = facts.shape
    parts = [b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")]
    known = followers >= 0
    for has_followers in (True, False):
        rows = np.flatnonzero(known == has_followers)
        if rows.size == 0:
            continue
        fields: list[tuple[Any, ...]] = [("count", ">i2")]
        for name, code in SCORE_COLUMNS:
            fields += [(f"len_{name}", ">i4"), (name, code)]
        fields += [("len_followers", ">i4")]
        if has_followers:
            fields += [("followers", ">i8")]
        fields += [("len_facts", ">i4"), ("facts", "<f8", (width,))]
        record = np.zeros(rows.size, dtype=np.dtype(fields))
        record["count"] = len(SCORE_COLUMNS) + 2
        for name, code in SCORE_COLUMNS:
            record[f"len_{name}"] = np.dtype(code).itemsize
            record[name] = values[name][rows]
        if has_followers:
            record["len_followers"] = 8
            record["followers"] = followers[rows]
        else:
            record["len_followers"] = -1
        record["len_facts"] = 8 * width
        record["facts"] = facts[rows]
        parts.append(record.tobytes())
    parts.append((-1).to_bytes(2, "big", signed=True))
    return b"".join(parts)
