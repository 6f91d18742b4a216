"""KeyedTable against a model: whatever sequence of upserts, bulk removals, filters and
sort changes it gets, the rows on screen are exactly the visible objects in sort order,
every cell shows its object's current text, the cursor stays on its object, and the
incremental bookkeeping (sort keys, column widths) equals a from-scratch computation."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import pytest
from rich.text import Text
from textual.app import App, ComposeResult

from dockui.widgets.keyed_table import Column, KeyedTable


@dataclass(frozen=True)
class Obj:
    id: str
    name: str
    rank: int


def render(o: Obj) -> tuple[Text, ...]:
    return (Text(o.name), Text(str(o.rank)), Text("x" * (o.rank % 7)))


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyedTable(
            [Column("name", "Name"), Column("rank", "Rank"), Column("pad", "Pad", min_width=0)],
            render,
            key_of=lambda o: o.id,
            sort_key=lambda o: (o.rank, o.name, o.id),
            id="t",
        )


def check(table: KeyedTable[Obj], model: dict[str, Obj], pattern: str, key_fn) -> None:
    rx = re.compile(pattern, re.IGNORECASE) if pattern else None
    visible = [
        o for o in model.values() if rx is None or any(rx.search(t.plain) for t in render(o))
    ]
    expected = [o.id for o in sorted(visible, key=key_fn)]
    shown = [row.key.value for row in table.ordered_rows]
    assert shown == expected
    for key in shown[:50]:
        assert table.get_row(key)[0].plain == model[key].name
        assert table.get_row(key)[1].plain == str(model[key].rank)
    # the incremental bookkeeping equals a recount
    for i, counts in enumerate(table._width_counts):
        recount: dict[int, int] = {}
        for key in shown:
            n = len(render(model[key])[i].plain)
            recount[n] = recount.get(n, 0) + 1
        assert counts == recount
    assert table._ranks == {k: key_fn(model[k]) for k in shown}


@pytest.mark.asyncio
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_keyed_table_follows_a_random_history(seed: int) -> None:
    rng = random.Random(seed)
    model: dict[str, Obj] = {}
    serial = 0
    pattern = ""
    key_fn = lambda o: (o.rank, o.name, o.id)  # noqa: E731
    async with TableApp().run_test(size=(100, 30)) as pilot:
        table: KeyedTable[Obj] = pilot.app.query_one("#t", KeyedTable)
        for _step in range(60):
            op = rng.random()
            if op < 0.35:  # new objects and changed ones
                upserts = []
                for _ in range(rng.randint(1, 40)):
                    serial += 1
                    oid = f"o{serial}"
                    upserts.append(Obj(oid, f"name{rng.randint(0, 999):03d}", rng.randint(0, 50)))
                for oid in rng.sample(sorted(model), min(len(model), rng.randint(0, 10))):
                    upserts.append(Obj(oid, model[oid].name, rng.randint(0, 50)))
                model.update((o.id, o) for o in upserts)
                table.update_objects(upserts)
            elif op < 0.6 and model:  # a burst of removals (bulk path) or a few
                gone = rng.sample(sorted(model), min(len(model), rng.choice([1, 3, 60])))
                cursor = table.selected_key
                for oid in gone:
                    del model[oid]
                table.update_objects([], gone)
                if cursor is not None and cursor not in gone:
                    assert table.selected_key == cursor
            elif op < 0.7:  # a full re-list
                keep = {k: o for k, o in model.items() if rng.random() < 0.9}
                model = keep
                table.update_objects(list(model.values()), full=True)
            elif op < 0.8:
                pattern = rng.choice(["", "name1", "name[23]", "(", ""])
                table.set_filter(pattern)
                if pattern == "(":
                    pattern = re.escape("(")
            elif op < 0.9 and model:  # move the cursor; it must stay on its object
                table.move_cursor(row=rng.randint(0, max(0, table.row_count - 1)))
                cursor = table.selected_key
                some = rng.sample(sorted(model), min(len(model), 5))
                upserts = [Obj(k, model[k].name, rng.randint(0, 50)) for k in some]
                model.update((o.id, o) for o in upserts)
                table.update_objects(upserts)
                assert cursor is None or table.selected_key == cursor
            else:
                key_fn = (
                    (lambda o: (-o.rank, o.name, o.id))
                    if rng.random() < 0.5
                    else (lambda o: (o.name, o.rank, o.id))
                )
                table.sort_key = key_fn
                table.rerender()
            await pilot.pause()
            check(table, model, pattern, key_fn)
