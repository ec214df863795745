"""Archon's greedy search as an Optuna sampler: change one axis of the best architecture so far
at a time, cycling through the axes (the incumbent's parameters, in name order); random until a
trial has completed. A proposal the loop has seen is told as a duplicate, and the next trial
moves to the next axis. (The Archon paper compares its Bayesian search with this and with random.)
"""

from __future__ import annotations

import random
from typing import Any


def greedy_sampler(seed: int) -> Any:
    """A GreedySampler (built here: optuna is imported only when a search needs it)."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
    from optuna.trial import TrialState

    class GreedySampler(optuna.samplers.BaseSampler):
        def __init__(self) -> None:
            self._random = optuna.samplers.RandomSampler(seed=seed)
            self._rng = random.Random(seed)
            self._axis: dict[int, str | None] = {}
            self._step = 0

        def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, Any]:
            return {}

        def sample_relative(self, study: Any, trial: Any, search_space: dict[str, Any]) -> dict[str, Any]:
            return {}

        def sample_independent(self, study: Any, trial: Any, name: str, distribution: Any) -> Any:
            done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.values]
            if not done:
                return self._random.sample_independent(study, trial, name, distribution)
            best = max(done, key=lambda t: (t.values[0], -t.number))
            if trial.number not in self._axis:  # one axis per trial, the next one each time
                axes = sorted(best.params)
                self._axis[trial.number] = axes[self._step % len(axes)] if axes else None
                self._step += 1
            kept = best.params.get(name)
            if name != self._axis[trial.number] and kept is not None \
                    and distribution._contains(distribution.to_internal_repr(kept)):
                return kept
            return self._other(distribution, kept, study, trial, name)

        def _other(self, distribution: Any, current: Any, study: Any, trial: Any, name: str) -> Any:
            """A value of `distribution` other than `current` (the axis being changed)."""
            if isinstance(distribution, CategoricalDistribution):
                options = [c for c in distribution.choices if c != current] or list(distribution.choices)
                return self._rng.choice(options)
            if isinstance(distribution, IntDistribution) and distribution.high > distribution.low:
                while (value := self._rng.randrange(distribution.low, distribution.high + 1, distribution.step)) \
                        == current:
                    pass
                return value
            if isinstance(distribution, FloatDistribution):
                return self._rng.uniform(distribution.low, distribution.high)
            return self._random.sample_independent(study, trial, name, distribution)

    return GreedySampler()
