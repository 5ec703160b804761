"""Corpus driver (ours): ML-From-Scratch's MultilayerPerceptron on synthetic data, like its main()
(``clf = MultilayerPerceptron(n_hidden=16, n_iterations=1000, learning_rate=0.01); clf.fit(X_train, y_train)``).
argv: samples iterations."""
import sys

import numpy as np

from multilayer_perceptron import MultilayerPerceptron

n, iters = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
X = rng.standard_normal((n, 64))
y = np.eye(10)[rng.integers(0, 10, size=n)]
clf = MultilayerPerceptron(n_hidden=16, n_iterations=iters, learning_rate=0.01)
clf.fit(X, y)
print("accuracy", float(np.mean(np.argmax(clf.predict(X), axis=1) == np.argmax(y, axis=1))))
