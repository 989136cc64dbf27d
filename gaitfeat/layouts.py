"""Skeleton layouts: the one place that knows joint names, sides and edges.

Two layouts are supported:

``body25``
    OpenPose BODY_25 (25 joints, includes neck, mid-hip, heels and toes).
``coco17``
    The COCO keypoint layout (17 joints), used by most pose estimators and
    by the ST-GCN of Yang, Chen & He, "Multimodal Fusion of Skeleton Dynamics
    and Clinical Gait Features for Video-Based Cerebral Palsy Severity
    Assessment".

Joint names are snake_case and shared between layouts where the anatomy is
the same (``"left_knee"`` is joint 13 in both), so that code written against
names works for either layout.

Every layout is a frozen :class:`SkeletonLayout`; the module-level
:data:`LAYOUTS` maps layout names to them and :func:`get_layout` resolves a
name (or passes a layout through) with a clear error for unknown names.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from gaitfeat.errors import LayoutError

__all__ = [
    "SkeletonLayout",
    "BODY25",
    "COCO17",
    "LAYOUTS",
    "BODY25_TO_COCO17",
    "get_layout",
    "layout_for_joint_count",
]


@dataclass(frozen=True)
class SkeletonLayout:
    """A 2-D skeleton layout.

    Parameters
    ----------
    name : str
        Layout name (``"body25"`` or ``"coco17"``).
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


# OpenPose BODY_25 order (OpenPose doc/02_output.md, "Pose Output Format (BODY_25)").
_BODY25_JOINTS = (
    "nose", "neck",
    "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist",
    "mid_hip",
    "right_hip", "right_knee", "right_ankle",
    "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
    "left_big_toe", "left_small_toe", "left_heel",
    "right_big_toe", "right_small_toe", "right_heel",
)

# OpenPose's own BODY_25 limb pairs (24 bones, a tree).
_BODY25_EDGES = (
    (1, 8), (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7),
    (8, 9), (9, 10), (10, 11), (8, 12), (12, 13), (13, 14),
    (1, 0), (0, 15), (15, 17), (0, 16), (16, 18),
    (14, 19), (19, 20), (14, 21), (11, 22), (22, 23), (11, 24),
)

BODY25 = SkeletonLayout(
    name="body25",
    joints=_BODY25_JOINTS,
    edges=_BODY25_EDGES,
    # The neck, as in the original ST-GCN's OpenPose graph.
    center=1,
    segments={
        "head": (0, 15, 16, 17, 18),
        "trunk": (1, 2, 5, 8, 9, 12),
        "left_arm": (5, 6, 7),
        "right_arm": (2, 3, 4),
        "left_leg": (12, 13, 14, 19, 20, 21),
        "right_leg": (9, 10, 11, 22, 23, 24),
    },
)

# COCO keypoint order (COCO 2017 person_keypoints annotation).
_COCO17_JOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)

# A spanning tree of the COCO skeleton rooted at the nose: the head hangs from
# the nose, the shoulders from the nose (COCO has no neck joint), the hips from
# the shoulders of the same side. This is the 16-bone graph skeleton-GCN
# toolkits use for COCO-17.
_COCO17_EDGES = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 5), (12, 6),
    (9, 7), (7, 5), (10, 8), (8, 6), (5, 0), (6, 0),
    (1, 0), (3, 1), (2, 0), (4, 2),
)

COCO17 = SkeletonLayout(
    name="coco17",
    joints=_COCO17_JOINTS,
    edges=_COCO17_EDGES,
    center=0,
    segments={
        "head": (0, 1, 2, 3, 4),
        "trunk": (5, 6, 11, 12),
        "left_arm": (5, 7, 9),
        "right_arm": (6, 8, 10),
        "left_leg": (11, 13, 15),
        "right_leg": (12, 14, 16),
    },
)

LAYOUTS: dict[str, SkeletonLayout] = {"body25": BODY25, "coco17": COCO17}

#: For each COCO-17 joint (in COCO order), the BODY_25 joint it is taken from.
BODY25_TO_COCO17: tuple[int, ...] = (0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11)


def get_layout(layout: str | SkeletonLayout) -> SkeletonLayout:
    """Resolve a layout name (case-insensitive) or pass a layout through.

    Raises
    ------
    LayoutError
        For an unknown name.
    """
    if isinstance(layout, SkeletonLayout):
        return layout
    key = str(layout).lower().replace("-", "").replace("_", "")
    if key not in LAYOUTS:
        raise LayoutError(f"unknown skeleton layout {layout!r}; known layouts are {sorted(LAYOUTS)}")
    return LAYOUTS[key]


def layout_for_joint_count(n_joints: int) -> SkeletonLayout:
    """The layout with ``n_joints`` joints.

    Raises
    ------
    LayoutError
        If no supported layout has that many joints (e.g. OpenPose's 18-joint
        COCO model or the 135-joint whole-body model).
    """
    for layout in LAYOUTS.values():
        if layout.num_joints == n_joints:
            return layout
    known = ", ".join(f"{name} ({lay.num_joints})" for name, lay in LAYOUTS.items())
    raise LayoutError(f"no supported skeleton layout has {n_joints} joints; supported: {known}")


def convert_keypoints(keypoints: np.ndarray, source: str | SkeletonLayout, target: str | SkeletonLayout) -> np.ndarray:
    """Re-index keypoints ``(..., V, C)`` from one layout to another.

    Only conversions that take existing joints are allowed (``body25`` to
    ``coco17``, and identity); joints are never invented.

    Raises
    ------
    LayoutError
        If the conversion would have to invent joints, or the joint axis does
        not match ``source``.
    """
    src, dst = get_layout(source), get_layout(target)
    if keypoints.shape[-2] != src.num_joints:
        raise LayoutError(
            f"keypoints have {keypoints.shape[-2]} joints but layout {src.name!r} has {src.num_joints}"
        )
    if src is dst:
        return keypoints.copy()
    if src is BODY25 and dst is COCO17:
        return keypoints[..., list(BODY25_TO_COCO17), :].copy()
    raise LayoutError(f"cannot convert {src.name!r} to {dst.name!r}: the target has joints the source lacks")
