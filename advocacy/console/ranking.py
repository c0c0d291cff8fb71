"""How the Advocates pages read their query and show what the ranking service returns.

Rows are shown generically: every component in ``view.components`` gets a bar, every
number the service adds to a row (expected people, share probability, ...) gets a column,
so a change of the ranking model shows up without a page change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import marshmallow as ma

from advocacy.advocates.browse import SORTS
from advocacy.advocates.service import OBJECTIVES, AdvocateView
from advocacy.errors import Unprocessable
from advocacy.graph.scoring import COMPONENT_NAMES, OBJECTIVE_WEIGHTS

PAGE_SIZE = 50
# Shown in their own columns, or not numbers a person reads as a figure.
_NOT_FIGURES = frozenset({"rank", "score", "followers", "eligible"})
ELIGIBILITY = {"eligible": True, "all": None, "ineligible": False}
SLIDER_MAX = 100


class AdvocateQuerySchema(ma.Schema):
    """The Advocates page's filters; unknown parameters are ignored (htmx adds its own)."""

    class Meta:
        unknown = ma.EXCLUDE

    objective = ma.fields.String(load_default="conversion", validate=ma.validate.OneOf(OBJECTIVES))
    show = ma.fields.String(load_default="eligible", validate=ma.validate.OneOf(ELIGIBILITY))
    q = ma.fields.String(load_default="", validate=ma.validate.Length(max=100))
    sort = ma.fields.String(load_default="rank", validate=ma.validate.OneOf(SORTS))
    cursor = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200))
    custom = ma.fields.Boolean(load_default=False)


def parse_query(args: Mapping[str, Any]) -> dict[str, Any]:
    """The filters, and custom weights from the sliders ``w_<component>`` when asked for."""
    try:
        query = AdvocateQuerySchema().load(dict(args.items()))
    except ma.ValidationError as exc:
        raise Unprocessable("Check the filters.", errors=exc.normalized_messages()) from exc
    defaults = default_sliders(query["objective"])
    sliders = {}
    for name in COMPONENT_NAMES:
        raw = args.get(f"w_{name}")
        try:
            value = int(raw) if raw not in (None, "") else defaults[name]
        except ValueError:
            raise Unprocessable(
                "Weights are whole numbers.", errors={f"w_{name}": ["A whole number."]}
            ) from None
        if not 0 <= value <= SLIDER_MAX:
            raise Unprocessable(
                f"Weights go from 0 to {SLIDER_MAX}.",
                errors={f"w_{name}": [f"From 0 to {SLIDER_MAX}."]},
            )
        sliders[name] = value
    query["sliders"] = sliders
    query["weights"] = {k: float(v) for k, v in sliders.items()} if query["custom"] else None
    return query


def default_sliders(objective: str) -> dict[str, int]:
    """The objective's own weights on the sliders' 0-100 scale."""
    return {name: round(w * SLIDER_MAX) for name, w in OBJECTIVE_WEIGHTS[objective].items()}


def figures(view: AdvocateView) -> dict[str, float]:
    """The row's other numbers (e.g. expected people), whatever the model returns."""
    return {
        field.name: getattr(view, field.name)
        for field in dataclasses.fields(view)
        if field.name not in _NOT_FIGURES
        and isinstance(getattr(view, field.name), int | float)
        and not isinstance(getattr(view, field.name), bool)
    }


def figure_names(views: Sequence[AdvocateView]) -> list[str]:
    names: dict[str, None] = {}
    for view in views:
        names.update(dict.fromkeys(figures(view)))
    return list(names)


def component_names(views: Sequence[AdvocateView]) -> list[str]:
    names: dict[str, None] = dict.fromkeys(COMPONENT_NAMES)
    for view in views:
        names.update(dict.fromkeys(view.components))
    return list(names)


def label(name: str) -> str:
    """``track_record`` -> ``Track record``."""
    return name.replace("_", " ").capitalize()


def csv_rows(
    views: Sequence[AdvocateView], names: Mapping[str, str | None]
) -> tuple[list[dict[str, Any]], list[str]]:
    """What the page shows, as CSV rows and their columns."""
    extra, components = figure_names(views), component_names(views)
    columns = [
        "rank",
        "external_id",
        "name",
        "score",
        *extra,
        *components,
        "eligible",
        "gates",
        "reasons",
        "followers",
    ]
    rows = [
        {
            "rank": view.rank,
            "external_id": view.external_id,
            "name": names.get(view.external_id) or "",
            "score": view.score,
            **{name: figures(view).get(name) for name in extra},
            **{name: view.components.get(name) for name in components},
            "eligible": "yes" if view.eligible else "no",
            "gates": " ".join(view.gates),
            "reasons": "; ".join(view.reasons),
            "followers": "" if view.followers is None else view.followers,
        }
        for view in views
    ]
    return rows, columns
