"""A CartPole-shaped stub: every episode lasts ``CORPUS_EPISODE_LEN`` steps whatever the actions, and
``spec.reward_threshold`` is ``CORPUS_THRESHOLD``, so the scripts' "solved" test ends the run after a
number of episodes the driver computes in advance."""
import os
from types import SimpleNamespace

import numpy as np


class _CartPole:
    def __init__(self):
        self.length = int(os.environ.get("CORPUS_EPISODE_LEN", "50"))
        self.spec = SimpleNamespace(reward_threshold=float(os.environ.get("CORPUS_THRESHOLD", "20")))
        self.rng = np.random.default_rng(0)
        self.t = 0

    def reset(self, seed=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.t = 0
        return self.rng.standard_normal(4), {}

    def step(self, action):
        self.t += 1
        done = self.t >= self.length
        return self.rng.standard_normal(4), 1.0, done, False, {}

    def render(self):
        pass


def make(name, render_mode=None, **kwargs):
    return _CartPole()
