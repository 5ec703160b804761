"""Synthetic MNIST / FakeData: ``CORPUS_N`` items (default 640), uint8 images, transform per item."""
import os

import numpy as np
import torch.utils.data


def _n(train=True):
    return int(os.environ.get("CORPUS_N" if train else "CORPUS_N_TEST", "640" if train else "200"))


class _Images(torch.utils.data.Dataset):
    def __init__(self, n, shape, transform=None, classes=10, seed=0):
        rng = np.random.default_rng(seed)
        self.data = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
        self.targets = rng.integers(0, classes, size=n)
        self.transform = transform

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        img = self.data[i]
        if self.transform is not None:
            img = self.transform(img)
        return img, int(self.targets[i])


class MNIST(_Images):
    def __init__(self, root=None, train=True, download=False, transform=None, target_transform=None):
        super().__init__(_n(train), (28, 28), transform, seed=0 if train else 1)


class FakeData(_Images):
    def __init__(self, size=None, image_size=(3, 224, 224), num_classes=10, transform=None, **_kw):
        c, h, w = image_size
        super().__init__(size or _n(), (h, w, c), transform, num_classes)
