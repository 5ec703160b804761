# advisor test corpus: eriklindernoren/ML-From-Scratch mlfromscratch/deep_learning/loss_functions.py @ a2806c6732eee8d27762edd6d864e0c179d8e9e8 (MIT).
# Changes: accuracy_score import inlined (utils pulls in matplotlib).
from __future__ import division
import numpy as np
from activation_functions import Sigmoid


def accuracy_score(y_true, y_pred):  # corpus trim: from mlfromscratch/utils/data_operation.py
    return np.sum(y_true == y_pred, axis=0) / len(y_true)

class Loss(object):
    def loss(self, y_true, y_pred):
        return NotImplementedError()

    def gradient(self, y, y_pred):
        raise NotImplementedError()

    def acc(self, y, y_pred):
        return 0

class SquareLoss(Loss):
    def __init__(self): pass

    def loss(self, y, y_pred):
        return 0.5 * np.power((y - y_pred), 2)

    def gradient(self, y, y_pred):
        return -(y - y_pred)

class CrossEntropy(Loss):
    def __init__(self): pass

    def loss(self, y, p):
        # Avoid division by zero
        p = np.clip(p, 1e-15, 1 - 1e-15)
        return - y * np.log(p) - (1 - y) * np.log(1 - p)

    def acc(self, y, p):
        return accuracy_score(np.argmax(y, axis=1), np.argmax(p, axis=1))

    def gradient(self, y, p):
        # Avoid division by zero
        p = np.clip(p, 1e-15, 1 - 1e-15)
        return - (y / p) + (1 - y) / (1 - p)


