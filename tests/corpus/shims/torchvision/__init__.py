"""Stand-in for torchvision (not installable beside torch 2.13 here): synthetic datasets only."""
from torchvision import datasets, transforms, utils  # noqa: F401
