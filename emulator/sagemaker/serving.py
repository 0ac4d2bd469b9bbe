"""What the runtime reads on every request: immutable per-endpoint routing tables.

The control plane builds a new `EndpointRoute` when an endpoint becomes InService or an
update finishes loading, and swaps it into `Router` in one dict assignment. A request that
already picked a route keeps using it, so UpdateEndpoint never fails a request in flight;
nothing on this path takes a lock.
"""

from __future__ import annotations

import bisect
import math
import operator
import random
from dataclasses import dataclass, field

from training.artifact import LinearModel
from training.xgboost.artifact import XGBoostModel


@dataclass(frozen=True)
class RowScorer:
    """Pure-Python scoring of one row, for one-row JSON answers in `predict.py` (no numpy call
    overhead; parsing is not its business — every body goes through `payloads.parse_request`).

    Same arithmetic as `training.inference.score_matrix` (folded weights, 0.5 * (1 + tanh(z/2))
    for logistic scores, `score > threshold` for the label); the tests check both agree. It
    returns None whenever the numpy path must decide (non-finite values, overflow), so error
    messages and edge cases stay the shared implementation's.
    """

    weights: tuple[float, ...]
    bias: float
    sigmoid: bool
    threshold: float | None

    @classmethod
    def for_model(cls, model: LinearModel) -> RowScorer:
        return cls(
            tuple(model.effective_weights.tolist()),
            model.effective_bias,
            model.score_transform == "sigmoid",
            model.threshold if model.predictor_type == "binary_classifier" else None,
        )

    def score(self, row: list[float]) -> tuple[float, int | None] | None:
        z = sum(map(operator.mul, self.weights, row)) + self.bias
        if not math.isfinite(z):
            return None
        score = 0.5 * (1.0 + math.tanh(0.5 * z)) if self.sigmoid else z
        if self.threshold is None:
            return score, None
        return score, 1 if score > self.threshold else 0


@dataclass(frozen=True)
class ServingVariant:
    name: str
    model: LinearModel | XGBoostModel
    weight: float
    scorer: RowScorer | None = field(init=False, repr=False, compare=False)  # Linear Learner's fast path only
    header: tuple[bytes, bytes] = field(init=False, repr=False, compare=False)  # x-Amzn-Invoked-Production-Variant

    def __post_init__(self) -> None:
        linear = isinstance(self.model, LinearModel)
        object.__setattr__(self, "scorer", RowScorer.for_model(self.model) if linear else None)
        object.__setattr__(self, "header", (b"x-amzn-invoked-production-variant", self.name.encode()))


@dataclass(frozen=True)
class EndpointRoute:
    endpoint_name: str
    variants: tuple[ServingVariant, ...]
    single: ServingVariant | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        total, cumulative = 0.0, []
        for variant in self.variants:
            total += max(variant.weight, 0.0)
            cumulative.append(total)
        object.__setattr__(self, "_cumulative", tuple(cumulative))
        object.__setattr__(self, "_total", total)
        object.__setattr__(self, "_by_name", {v.name: v for v in self.variants})
        # The common one-variant endpoint skips the weighted draw.
        object.__setattr__(self, "single", self.variants[0] if len(self.variants) == 1 and total > 0 else None)

    def variant(self, name: str) -> ServingVariant | None:
        return self._by_name.get(name)  # type: ignore[attr-defined]

    def pick(self, rng: random.Random) -> ServingVariant | None:
        """A variant chosen with probability weight / total weight; None when all weights are 0."""
        if len(self.variants) == 1:
            return self.variants[0] if self._total > 0 else None  # type: ignore[attr-defined]
        if self._total <= 0:  # type: ignore[attr-defined]
            return None
        point = rng.random() * self._total  # type: ignore[attr-defined]
        index = bisect.bisect_right(self._cumulative, point)  # type: ignore[attr-defined]
        return self.variants[min(index, len(self.variants) - 1)]


class Router:
    """endpoint name -> current route; readers never lock, writers replace whole entries."""

    def __init__(self) -> None:
        self._routes: dict[str, EndpointRoute] = {}

    def get(self, name: str) -> EndpointRoute | None:
        return self._routes.get(name)

    def publish(self, route: EndpointRoute) -> None:
        self._routes[route.endpoint_name] = route

    def withdraw(self, name: str) -> None:
        self._routes.pop(name, None)

    def names(self) -> list[str]:
        return list(self._routes)
