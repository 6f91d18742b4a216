"""Container updates merged in a burst have the effect of applying them one by one."""

from __future__ import annotations

import random

from dockui.engine.models import ContainerSummary
from dockui.messages import ContainersUpdated, merge_updates


def box(n: int, state: str = "running") -> ContainerSummary:
    return ContainerSummary(
        id=f"c{n}", name=f"n{n}", image="i", image_id="x", command="", created=0.0,
        state=state, status=state,
    )  # fmt: skip


def apply(state: dict[str, ContainerSummary], u: ContainersUpdated) -> dict[str, ContainerSummary]:
    if u.full:
        return {c.id: c for c in u.upserts}
    out = {k: v for k, v in state.items() if k not in u.removed}
    out.update((c.id, c) for c in u.upserts)
    return out


def test_merged_equals_sequential_on_random_histories() -> None:
    rng = random.Random(7)
    for _ in range(300):
        start = {f"c{n}": box(n) for n in range(rng.randint(0, 8))}
        updates = []
        for _ in range(rng.randint(1, 6)):
            if rng.random() < 0.15:
                ids = rng.sample(range(12), rng.randint(0, 6))
                updates.append(ContainersUpdated(tuple(box(n) for n in ids), (), True))
            else:
                ups = tuple(
                    box(n, rng.choice(["running", "exited"])) for n in rng.sample(range(12), 2)
                )
                gone = tuple(f"c{n}" for n in rng.sample(range(12), 2))
                updates.append(ContainersUpdated(ups, gone, False))
        one_by_one = start
        for u in updates:
            one_by_one = apply(one_by_one, u)
        assert apply(start, merge_updates(updates)) == one_by_one


def test_a_single_update_passes_through() -> None:
    u = ContainersUpdated((box(1),), ("c2",), False)
    assert merge_updates([u]) is u
