# advisor test corpus: karpathy/micrograd demo.ipynb cells 3, 5, 6, 7 @ c911406e5ace8742e5841a7e0df113ecb5d54685 (MIT).
# Changes: make_moons (sklearn) replaced by two noisy half-circles made with NumPy; plotting cells dropped;
# the sample count and step count come from the command line (defaults 100 and 100 as in the notebook).
import random
import sys

import numpy as np

from micrograd.engine import Value
from micrograd.nn import Neuron, Layer, MLP

n_samples = int(sys.argv[1]) if len(sys.argv) > 1 else 100
n_steps = int(sys.argv[2]) if len(sys.argv) > 2 else 100

np.random.seed(1337)
random.seed(1337)

# make up a dataset (corpus: instead of sklearn.datasets.make_moons(n_samples=100, noise=0.1))
t = np.random.rand(n_samples) * np.pi
y = (np.arange(n_samples) % 2)
X = np.stack([np.cos(t) + y, np.sin(t) * (1 - 2 * y) + 0.5 * y], axis=1) + 0.1 * np.random.randn(n_samples, 2)
y = y*2 - 1 # make y be -1 or 1

# initialize a model 
model = MLP(2, [16, 16, 1]) # 2-layer neural network
print(model)
print("number of parameters", len(model.parameters()))

# loss function
def loss(batch_size=None):
    
    # inline DataLoader :)
    if batch_size is None:
        Xb, yb = X, y
    else:
        ri = np.random.permutation(X.shape[0])[:batch_size]
        Xb, yb = X[ri], y[ri]
    inputs = [list(map(Value, xrow)) for xrow in Xb]
    
    # forward the model to get scores
    scores = list(map(model, inputs))
    
    # svm "max-margin" loss
    losses = [(1 + -yi*scorei).relu() for yi, scorei in zip(yb, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    # L2 regularization
    alpha = 1e-4
    reg_loss = alpha * sum((p*p for p in model.parameters()))
    total_loss = data_loss + reg_loss
    
    # also get accuracy
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
    return total_loss, sum(accuracy) / len(accuracy)

total_loss, acc = loss()
print(total_loss, acc)

# optimization
for k in range(n_steps):
    
    # forward
    total_loss, acc = loss()
    
    # backward
    model.zero_grad()
    total_loss.backward()
    
    # update (sgd)
    learning_rate = 1.0 - 0.9*k/100
    for p in model.parameters():
        p.data -= learning_rate * p.grad
    
    if k % 1 == 0:
        print(f"step {k} loss {total_loss.data}, accuracy {acc*100}%")
