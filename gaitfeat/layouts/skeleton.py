"""The :class:`SkeletonLayout` type: joint names, bones, sides and derived graph facts."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from gaitfeat.errors import LayoutError

__all__ = ["SkeletonLayout"]


@dataclass(frozen=True)
class SkeletonLayout:
    """A skeleton layout (the joints of 2-D keypoints or 3-D positions).

    Parameters
    ----------
    name : str
        Layout name (``"body25"``, ``"coco17"``, ``"h36m17"``, ...).
    joints : tuple of str
        Joint names in the order of the keypoint array's ``V`` axis.
    edges : tuple of (int, int)
        Bones as undirected joint-index pairs. They form a tree that spans
        every joint; the GCN graph and the parent of each joint are derived
        from them.
    center : int
        Index of the centre joint used by the ST-GCN spatial-configuration
        partition (joints closer to / farther from it than their neighbour).
    segments : dict of str to tuple of int
        Body segments: ``head``, ``trunk``, ``left_arm``, ``right_arm``,
        ``left_leg``, ``right_leg``.

    Attributes
    ----------
    parents : tuple of int
        Parent of each joint in the tree rooted at ``center`` (-1 for the
        root), derived from ``edges``.
    lr_pairs : tuple of (int, int)
        (left, right) joint-index pairs, derived from the names.
    flip_index : numpy.ndarray of int
        Permutation that swaps every left joint with its right partner
        (joints without a side map to themselves).
    """

    name: str
    joints: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    center: int
    segments: dict[str, tuple[int, ...]] = field(hash=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.joints)
        if len(set(self.joints)) != n:
            raise LayoutError(f"layout {self.name!r}: duplicate joint names")
        if len(self.edges) != n - 1:
            raise LayoutError(f"layout {self.name!r}: {len(self.edges)} edges cannot span {n} joints as a tree")
        for a, b in self.edges:
            if not (0 <= a < n and 0 <= b < n) or a == b:
                raise LayoutError(f"layout {self.name!r}: bad edge ({a}, {b})")
        # Breadth-first search from the centre gives each joint its parent and
        # proves the edges form one connected tree.
        adjacency: dict[int, list[int]] = {i: [] for i in range(n)}
        for a, b in self.edges:
            adjacency[a].append(b)
            adjacency[b].append(a)
        parents = [-2] * n
        parents[self.center] = -1
        queue = deque([self.center])
        while queue:
            j = queue.popleft()
            for k in adjacency[j]:
                if parents[k] == -2:
                    parents[k] = j
                    queue.append(k)
        if -2 in parents:
            missing = [self.joints[i] for i, p in enumerate(parents) if p == -2]
            raise LayoutError(f"layout {self.name!r}: joints not connected to the centre: {missing}")
        object.__setattr__(self, "parents", tuple(parents))

        pairs = []
        for i, name in enumerate(self.joints):
            if name.startswith("left_"):
                partner = "right_" + name[len("left_"):]
                if partner not in self.joints:
                    raise LayoutError(f"layout {self.name!r}: {name!r} has no right partner")
                pairs.append((i, self.joints.index(partner)))
        object.__setattr__(self, "lr_pairs", tuple(pairs))
        flip = np.arange(n)
        for left, right in pairs:
            flip[left], flip[right] = right, left
        flip.setflags(write=False)
        object.__setattr__(self, "flip_index", flip)

    # dataclass(frozen=True) with derived attributes: declare them for type checkers.
    parents: tuple[int, ...] = field(init=False, repr=False, compare=False)
    lr_pairs: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)
    flip_index: np.ndarray = field(init=False, repr=False, compare=False)

    @property
    def num_joints(self) -> int:
        """Number of joints ``V``."""
        return len(self.joints)

    def index(self, name: str) -> int:
        """Index of the joint called ``name``.

        Raises
        ------
        LayoutError
            If the layout has no such joint.
        """
        try:
            return self.joints.index(name)
        except ValueError:
            raise LayoutError(f"layout {self.name!r} has no joint {name!r}; joints are {list(self.joints)}") from None

    def indices(self, *names: str) -> tuple[int, ...]:
        """Indices of several joints, in the order given."""
        return tuple(self.index(n) for n in names)

    def has(self, name: str) -> bool:
        """Whether the layout has a joint called ``name``."""
        return name in self.joints

    def adjacency(self) -> np.ndarray:
        """Symmetric 0/1 adjacency matrix ``(V, V)`` without self-loops."""
        a = np.zeros((self.num_joints, self.num_joints), dtype=np.float32)
        for i, j in self.edges:
            a[i, j] = a[j, i] = 1.0
        return a

    def hop_distance(self) -> np.ndarray:
        """Number of bones between every pair of joints ``(V, V)``, int."""
        n = self.num_joints
        dist = np.full((n, n), -1, dtype=np.int64)
        neighbours = [np.flatnonzero(row) for row in self.adjacency()]
        for start in range(n):
            dist[start, start] = 0
            queue = deque([start])
            while queue:
                j = queue.popleft()
                for k in neighbours[j]:
                    if dist[start, k] < 0:
                        dist[start, k] = dist[start, j] + 1
                        queue.append(k)
        return dist

    def __repr__(self) -> str:
        return f"SkeletonLayout({self.name!r}, {self.num_joints} joints)"
