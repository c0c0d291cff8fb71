"""KPI rows flattened for CSV: nested figures become columns or ``CUR:amount`` lists."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def flat_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        flat: dict[str, Any] = {}
        for key, value in row.items():
            if key == "program_score":
                flat["program_score"] = value["score"]
                flat.update({f"{k}_index": v for k, v in value.items() if k != "score"})
            elif isinstance(value, Mapping):
                flat[key] = ";".join(f"{k}:{v}" for k, v in sorted(value.items()))
            else:
                flat[key] = value
        out.append(flat)
    return out
