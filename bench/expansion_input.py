"""A medium-like grant-expansion input: a c1z whose one sync is paused before expansion.

Upstream's "medium" expansion fixture (66,601 stored grants, 35,217 resources, a
deep nested graph expanding to 418,389 grants) cannot be shared, so this builds
one of the same shape, deterministically from a seed:

- ``users`` users and ``groups`` groups (each group has a ``member`` entitlement);
- groups sit in ``levels`` levels; every group below the top is nested in one
  parent group of the level above, and a fifth of them in a second parent too
  (a DAG, so principals reach ancestors by several paths);
- nesting is a grant of the parent's ``member`` to the child group carrying
  ``GrantExpandable{[child:member]}``; one in ten of those edges is shallow and one
  in ten is restricted to user principals;
- a few child groups grant their own ``member`` back to their parent: small
  cycles, which expansion collapses;
- user memberships (direct grants) lean towards the deeper levels, so each one
  travels up several layers.

    PYTHONPATH=. .venv/bin/python bench/expansion_input.py OUT.c1z [--scale 1.0] [--seed 13]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from baton_cli.c1z import C1ZWriter  # noqa: E402
from baton_cli.connector import builders  # noqa: E402
from baton_cli.core.sync_state import OP_GRANT_EXPANSION, Action, SyncState  # noqa: E402


@dataclass(frozen=True, slots=True)
class Shape:
    users: int = 30_000
    groups: int = 5_217
    levels: int = 7
    memberships: int = 60_000
    second_parent_share: float = 0.12
    cycles: int = 40
    shallow_share: float = 0.1
    user_only_share: float = 0.1

    def scaled(self, scale: float) -> Shape:
        return Shape(
            users=max(10, int(self.users * scale)),
            groups=max(self.levels * 2, int(self.groups * scale)),
            levels=self.levels,
            memberships=max(10, int(self.memberships * scale)),
            second_parent_share=self.second_parent_share,
            cycles=max(1, int(self.cycles * scale)),
            shallow_share=self.shallow_share,
            user_only_share=self.user_only_share,
        )


def _level_sizes(groups: int, levels: int) -> list[int]:
    # Each level about 1.6 times the one above: a wide, deep hierarchy.
    weights = [1.6**level for level in range(levels)]
    total = sum(weights)
    sizes = [max(1, int(groups * w / total)) for w in weights]
    sizes[-1] += groups - sum(sizes)
    return sizes


def build(path: Path, shape: Shape, seed: int = 13) -> dict[str, int]:
    """Write the input file; returns what it holds."""
    rng = random.Random(seed)
    user_type = builders.resource_type("user", "User", [builders.TRAIT_USER])
    group_type = builders.resource_type("group", "Group", [builders.TRAIT_GROUP])
    users = [
        builders.user_resource(
            "user", f"u{i:06d}", f"User {i}", email=f"user{i}@example.com", login=f"user{i}"
        )
        for i in range(shape.users)
    ]
    levels: list[list[int]] = []
    next_group = 0
    for size in _level_sizes(shape.groups, shape.levels):
        levels.append(list(range(next_group, next_group + size)))
        next_group += size
    groups = [builders.group_resource("group", f"g{i:05d}", f"Group {i}") for i in range(shape.groups)]
    members = [builders.assignment_entitlement(g, "member", grantable_to=["user", "group"]) for g in groups]
    level_of = {g: depth for depth, level in enumerate(levels) for g in level}

    grants = []
    nested = 0

    def nest(parent: int, child: int) -> None:
        nonlocal nested
        shallow = rng.random() < shape.shallow_share
        types = ["user"] if rng.random() < shape.user_only_share else []
        expandable = builders.grant_expandable([members[child].id], shallow=shallow, resource_type_ids=types)
        grants.append(builders.grant(members[parent], groups[child], annotations=[expandable]))
        nested += 1

    parents: dict[int, list[int]] = {}
    for depth in range(1, len(levels)):
        above = levels[depth - 1]
        for child in levels[depth]:
            chosen = [rng.choice(above)]
            if rng.random() < shape.second_parent_share and len(above) > 1:
                other = rng.choice(above)
                if other != chosen[0]:
                    chosen.append(other)
            parents[child] = chosen
            for parent in chosen:
                nest(parent, child)
    # Cycles: a child also holds its parent's members' way up, and the parent the child's.
    deep = [g for g in parents if level_of[g] >= 2]
    for child in rng.sample(deep, min(shape.cycles, len(deep))):
        nest(child, parents[child][0])
    # Direct memberships, weighted towards deep levels (leaf groups are the big ones).
    weights = [level_of[g] + 1 for g in range(shape.groups)]
    seen: set[tuple[int, int]] = set()
    while len(seen) < shape.memberships:
        user = rng.randrange(shape.users)
        group = rng.choices(range(shape.groups), weights)[0]
        if (user, group) in seen:
            continue
        seen.add((user, group))
        grants.append(builders.grant(members[group], users[user]))

    writer = C1ZWriter.open(path, tmp_dir=path.parent)
    try:
        writer.start_sync("full")
        writer.put_resource_types([user_type, group_type])
        writer.put_resources(users)
        writer.put_resources(groups)
        writer.put_entitlements(members)
        writer.put_grants(grants)
        state = SyncState(needs_expansion=True)
        state.push(Action(OP_GRANT_EXPANSION))
        writer.set_sync_token(state.to_token())
        writer.checkpoint()
        writer.save()  # unfinished: paused before grant expansion
    except BaseException:
        writer.abort()
        raise
    return {
        "resources": len(users) + len(groups),
        "entitlements": len(members),
        "grants": len(grants),
        "nesting_grants": nested,
        "levels": len(levels),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    started = time.perf_counter()
    counts = build(args.out, Shape().scaled(args.scale), args.seed)
    print(f"built {counts} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
