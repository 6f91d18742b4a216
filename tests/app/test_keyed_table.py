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
from tests.app.test_frame_cost import count_calls


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


def _strips(table) -> list[list[tuple[str, object, object]]]:
    out = []
    for y in range(table.size.height):
        strip = table.render_line(y)
        out.append([(seg.text, seg.style, seg.style.meta if seg.style else None) for seg in strip])
    return out


async def test_cached_cells_render_exactly_like_datatable() -> None:
    """KeyedTable keeps each cell's rendering while the cell is unchanged, and assembles
    lines its own way: what it draws (text, colours, the row/column metadata clicks use)
    equals DataTable's own rendering after updates, removals, a moved cursor and a
    resize; and one changed cell is the only one rendered again."""
    from textual.coordinate import Coordinate
    from textual.widgets import DataTable

    app = TableApp()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(KeyedTable)
        rng = random.Random(7)
        model = {f"o{i}": Obj(f"o{i}", f"name-{i}", rng.randrange(50)) for i in range(40)}
        table.update_objects(list(model.values()), full=True)
        await pilot.pause()

        def reference() -> list[list[tuple[str, object, object]]]:
            # the same rows through DataTable's own _render_line and _render_cell
            originals = KeyedTable._render_cell, KeyedTable._render_line
            KeyedTable._render_cell = DataTable._render_cell
            KeyedTable._render_line = DataTable._render_line
            try:
                table._clear_caches()
                return _strips(table)
            finally:
                KeyedTable._render_cell, KeyedTable._render_line = originals
                table._clear_caches()

        for step in range(6):
            ours = _strips(table)
            assert ours == reference(), f"step {step}"
            changed = rng.sample(sorted(model), 3)
            for key in changed:
                model[key] = Obj(key, model[key].name + "!", model[key].rank)
            gone = rng.sample(sorted(set(model) - set(changed)), 2)
            for key in gone:
                del model[key]
            table.update_objects([model[k] for k in changed], removed=gone)
            table.action_cursor_down()
            await pilot.pause()
        await pilot.resize_terminal(50, 15)
        await pilot.pause()
        assert _strips(table) == reference()
        table._set_hover_cursor(True)  # the mouse over another row
        table.hover_coordinate = Coordinate(table.cursor_row + 2, 0)
        await pilot.pause()
        assert _strips(table) == reference()

        # one cell changes: only that cell goes through Rich again
        _strips(table)
        renders = 0
        console = app.console
        original_render_lines = console.render_lines

        def counting(renderable, *args, **kwargs):
            nonlocal renders
            renders += type(renderable).__name__ == "Styled"  # a cell, not Rich's inner calls
            return original_render_lines(renderable, *args, **kwargs)

        console.render_lines = counting
        from dockui.widgets import keyed_table

        fast = keyed_table.one_line_cell

        def counting_fast(*args, **kwargs):
            nonlocal renders
            renders += 1
            return fast(*args, **kwargs)

        keyed_table.one_line_cell = counting_fast
        try:
            key = table.selected_key
            model[key] = Obj(key, model[key].name, model[key].rank)  # same text: no update
            ranks = [o.rank for o in model.values()]
            first = next(  # a row alone at its rank: a new name does not move it
                k
                for k in (r.key.value for r in table.ordered_rows)
                if k != key and ranks.count(model[k].rank) == 1
            )
            name = model[first].name
            model[first] = Obj(first, name[:-1] + "Z", model[first].rank)  # same width
            table.update_objects([model[first]])
            await pilot.pause()
            table._line_cache.clear()
            table._row_render_cache.clear()
            _strips(table)
        finally:
            console.render_lines = original_render_lines
            keyed_table.one_line_cell = fast
        # the changed cell alone: not the header either (DataTable renders it again after
        # any update), and through the one-line path, not Rich's (one count, not two)
        assert renders == 1


async def test_stale_finds_only_rows_whose_text_moved_on() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(KeyedTable)
        model = {f"o{i}": Obj(f"o{i}", f"name-{i}", i) for i in range(30)}
        table.update_objects(list(model.values()), full=True)
        await pilot.pause()
        assert table.stale("rank", lambda o: str(o.rank)) == []
        # "time passes" for every third row; one row is skipped (None)
        moved = {k for k, o in model.items() if o.rank % 3 == 0}

        def text_now(o: Obj) -> str | None:
            if o.id == "o3":
                return None
            return f"{o.rank}+" if o.id in moved else str(o.rank)

        assert set(table.stale("rank", text_now)) == moved - {"o3"}
        table.set_filter("name-1")  # hidden rows are not reported
        await pilot.pause()
        shown = {k for k in moved - {"o3"} if model[k].name.startswith("name-1")}
        assert shown and set(table.stale("rank", text_now)) == shown


async def test_stale_among_the_rows_on_screen() -> None:
    """The per-second age tick looks only at the rows in the viewport: after 500
    containers start at once, re-rendering every young row each second cost the UI
    thread ~19 ms a tick, for rows nobody sees."""
    app = TableApp()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(KeyedTable)
        model = {f"o{i:03d}": Obj(f"o{i:03d}", f"name-{i}", i) for i in range(200)}
        table.update_objects(list(model.values()), full=True)
        await pilot.pause()

        def moved_on(o: Obj) -> str:
            return f"{o.rank}+"  # every row's text is stale

        on_screen = table.visible_keys()
        assert on_screen == [f"o{i:03d}" for i in range(len(on_screen))]
        assert 10 <= len(on_screen) <= 20
        assert table.stale("rank", moved_on, on_screen) == on_screen
        table.scroll_to(y=100, animate=False)
        await pilot.pause()
        on_screen = table.visible_keys()
        assert on_screen[0] == "o100"
        assert table.stale("rank", moved_on, on_screen) == on_screen
        table.set_filter("name-1")  # filtered-out keys are skipped, not failed on
        await pilot.pause()
        assert table.stale("rank", moved_on, ["o002", "o010"]) == ["o010"]


async def test_a_first_list_goes_in_sorted_and_no_cell_is_measured(monkeypatch) -> None:
    """The first 1,000 rows go in as one block already in order (no table sort), and
    neither they nor later narrower texts are measured through Rich: the columns have set
    widths (fit_columns), so DataTable's per-cell measuring was wasted start-up time."""
    import textual.widgets._data_table as data_table

    measured = [0]
    real_measure = data_table.measure

    def counting(*args, **kwargs):
        measured[0] += 1
        return real_measure(*args, **kwargs)

    monkeypatch.setattr(data_table, "measure", counting)
    objs = [Obj(f"o{i}", f"name{(i * 7919) % 1000:03d}", (i * 31) % 50) for i in range(1000)]
    model = {o.id: o for o in objs}
    key_fn = lambda o: (o.rank, o.name, o.id)  # noqa: E731
    async with TableApp().run_test(size=(100, 30)) as pilot:
        table: KeyedTable[Obj] = pilot.app.query_one("#t", KeyedTable)
        await pilot.pause()
        measured[0] = 0
        sorts = count_calls(table, "sort")
        table.update_objects(objs, full=True)
        await pilot.pause()
        check(table, model, "", key_fn)
        assert sorts[0] == 0
        first = min(objs, key=key_fn)
        assert table.cursor_row == 0 and table.selected_key == first.id
        assert table.virtual_size.height == 1000 + table.header_height
        # narrower texts for some rows (as CPU figures do every stats tick)
        narrower = [Obj(o.id, o.name[:5], o.rank) for o in objs[:100]]
        model.update((o.id, o) for o in narrower)
        table.update_objects(narrower)
        await pilot.pause()
        check(table, model, "", key_fn)
        assert measured[0] == 0
        # later rows still go where they belong (one sort, as before)
        sorts[0] = 0
        late = [Obj("late", "aaa", -1)]
        model["late"] = late[0]
        table.update_objects(late)
        await pilot.pause()
        check(table, model, "", key_fn)
        assert table.ordered_rows[0].key.value == "late" and sorts[0] == 1


async def test_lines_are_assembled_again_only_where_their_row_changed() -> None:
    """A key moving the cursor re-assembles at most the rows it left and reached (DataTable
    re-assembled every visible line); a cell update, the row it is in; a theme change,
    everything (and the result equals a fresh rendering)."""

    app = TableApp()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(KeyedTable)
        model = {f"o{i}": Obj(f"o{i}", f"name-{i:02d}", i) for i in range(40)}
        table.update_objects(list(model.values()), full=True)
        table.focus()
        await pilot.pause()
        _strips(table)
        assembled: list[object] = []
        original = KeyedTable._assemble_line

        def counting(self, row_index, *args, **kwargs):
            assembled.append(self._row_locations.get_key(row_index).value)
            return original(self, row_index, *args, **kwargs)

        KeyedTable._assemble_line = counting  # type: ignore[method-assign]
        try:
            await pilot.press("j")
            await pilot.pause()
            assembled.clear()
            fresh_before = _strips(table)
            assert [k for k in assembled if k is not None] == []  # (None: the header)
            await pilot.press("j")  # the frame after it re-assembles what changed
            await pilot.pause()
            _strips(table)
            # o2 with the cursor is new; o1 without it may still be cached from before
            assert "o2" in assembled and set(assembled) - {None} <= {"o1", "o2"}
            assembled.clear()
            model["o5"] = Obj("o5", "name-5x", 5)  # same width: the columns stay
            table.update_objects([model["o5"]])
            await pilot.pause()
            _strips(table)
            assert [k for k in assembled if k is not None] == ["o5"]
            app.theme = "textual-light" if app.theme != "textual-light" else "nord"
            await pilot.pause()
            themed = _strips(table)
            assert themed != fresh_before
            table._clear_caches()
            assert themed == _strips(table)
        finally:
            KeyedTable._assemble_line = original  # type: ignore[method-assign]


async def test_a_steady_column_keeps_its_width_while_its_figures_change() -> None:
    """CPU and memory change every few seconds; their columns take their full width once
    any row shows a figure, so the table does not jitter (nor re-lay every line)."""

    def render_fig(o: Obj) -> tuple[Text, ...]:
        return (Text(o.name), Text("" if o.rank < 0 else f"{o.rank}%"))

    class FigApp(App[None]):
        def compose(self) -> ComposeResult:
            yield KeyedTable(
                [Column("name", "Name"), Column("cpu", "CPU", 0, 6, steady=True)],
                render_fig,
                key_of=lambda o: o.id,
                sort_key=lambda o: o.id,
                id="t",
            )

    async with FigApp().run_test(size=(60, 12)) as pilot:
        table: KeyedTable[Obj] = pilot.app.query_one("#t", KeyedTable)
        table.update_objects([Obj("a", "alpha", -1), Obj("b", "beta", -1)], full=True)
        await pilot.pause()
        cpu = table.columns[next(k for k in table.columns if k.value == "cpu")]
        assert cpu.width == len("CPU")  # nothing to show yet: the label's width
        widths = set()
        for figure in (1, 25, 100, 3, 0):
            table.update_objects([Obj("a", "alpha", figure)])
            await pilot.pause()
            widths.add(cpu.width)
        assert widths == {6}


async def test_columns_dropped_and_back_rebuild_the_rows_in_one_pass() -> None:
    """A pane too narrow for an optional column drops it (and takes it back when wide
    enough): the rows are re-created in one block, in order, cursor kept, with no
    row-by-row add_row (1,000 of them stalled a burst when CPU/Mem columns emptied) and
    from the cells already rendered (no object is rendered again)."""
    model = {f"o{i}": Obj(f"o{i}", f"name-{i:03d}", i % 13) for i in range(300)}
    key_fn = lambda o: (o.rank, o.name, o.id)  # noqa: E731
    app = TableApp()
    async with app.run_test(size=(100, 20)) as pilot:
        table: KeyedTable[Obj] = app.query_one("#t", KeyedTable)
        table.update_objects(list(model.values()), full=True)
        table.move_cursor(row=7)
        await pilot.pause()
        cursor = table.selected_key
        shown = table._shown
        add_row_calls = count_calls(table, "add_row")
        render_calls = count_calls(table, "render_row")
        await pilot.resize_terminal(16, 20)
        await pilot.pause()
        assert table._shown != shown  # the optional column went
        check(table, model, "", key_fn)
        assert table.selected_key == cursor
        await pilot.resize_terminal(100, 20)
        await pilot.pause()
        assert table._shown == shown
        check(table, model, "", key_fn)
        assert table.selected_key == cursor and add_row_calls[0] == 0
        assert render_calls[0] == 0


async def test_row_geometry_equals_datatable_s() -> None:
    """The one-line-rows shortcuts (row of a line, row and cell regions, fixed offset,
    height) give what DataTable's walks over `ordered_rows` give, scrolled or not."""
    from textual.coordinate import Coordinate
    from textual.widgets import DataTable

    app = TableApp()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(KeyedTable)
        table.update_objects([Obj(f"o{i}", f"name-{i:02d}", i % 9) for i in range(120)], full=True)
        await pilot.pause()
        for scroll in (0, 37):
            table.scroll_to(y=scroll, animate=False)
            await pilot.pause()
            assert table._total_row_height == DataTable._total_row_height.fget(table) == 120
            assert table._get_fixed_offset() == DataTable._get_fixed_offset(table)
            for y in range(0, 125):
                try:
                    expected = DataTable._get_offsets(table, y)
                except LookupError:
                    with pytest.raises(LookupError):
                        table._get_offsets(y)
                    continue
                assert table._get_offsets(y) == expected
            for i in range(120):
                assert table._get_row_region(i) == DataTable._get_row_region(table, i)
                for c in range(len(table.columns)):
                    coord = Coordinate(i, c)
                    assert table._get_cell_region(coord) == DataTable._get_cell_region(table, coord)


async def test_a_cell_update_repaints_its_row_only() -> None:
    """One changed figure goes through the styles cache and the compositor for its own
    line: DataTable repainted every visible line of the table for it."""
    app = TableApp()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(KeyedTable)
        model = {f"o{i}": Obj(f"o{i}", f"name-{i:02d}", i) for i in range(40)}
        table.update_objects(list(model.values()), full=True)
        await pilot.pause()
        lines = count_calls(table, "render_line")
        model["o5"] = Obj("o5", "name-5x", 5)  # same width: the columns stay
        table.update_objects([model["o5"]])
        await pilot.pause()
        assert lines[0] == 1
        assert table.get_row("o5")[0].plain == "name-5x"
        line = app.screen._compositor.render_strips()[table.region.y + 1 + 5]
        assert "name-5x" in line.text
        lines[0] = 0
        model["o39"] = Obj("o39", "name-Z9", 39)  # below the visible rows: no repaint
        table.update_objects([model["o39"]])
        await pilot.pause()
        assert lines[0] == 0


async def test_a_row_that_keeps_its_place_holds_the_cursor_and_the_view() -> None:
    """A row whose sort key changes while `keep_place` says so stays where it was; when it
    then goes, the cursor takes its neighbour there. Without it, the row (and a cursor on
    it, and the view) went to the far end of the list first."""
    app = TableApp()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(KeyedTable)
        model = {f"o{i:03d}": Obj(f"o{i:03d}", f"name-{i}", i) for i in range(200)}
        table.update_objects(list(model.values()), full=True)
        table.keep_place = lambda o: o.rank >= 1000
        await pilot.pause()
        assert table.selected_key == "o000"
        leaving = Obj("o000", "name-0", 1000)
        table.update_objects([leaving])
        await pilot.pause()
        assert [r.key.value for r in table.ordered_rows][:2] == ["o000", "o001"]
        assert table.selected_key == "o000" and table.scroll_y == 0
        assert table.get_row("o000")[1].plain == "1000"  # its cells do change
        table.update_objects([], ["o000"])
        await pilot.pause()
        assert table.selected_key == "o001" and table.cursor_row == 0 and table.scroll_y == 0
        # A row that was not in the list yet takes its sort key's place, and a change
        # that keep_place does not cover re-sorts as before.
        table.update_objects([Obj("new", "name-new", 1001), Obj("o005", "name-5", 500)])
        await pilot.pause()
        order = [r.key.value for r in table.ordered_rows]
        assert order[-1] == "new" and order[-2] == "o005"


async def test_a_container_being_removed_keeps_its_row() -> None:
    """`docker rm -f` lists a running container as "removing" until it is gone. Sorted by
    state, it went below the created and exited ones first, and a cursor on it (and the
    view) was carried to the end of a long list, where it stayed when the row left."""
    import time

    from dockui.engine.models import ContainerSummary
    from dockui.widgets.panes import ContainersPane

    def container(k: int, state: str) -> ContainerSummary:
        return ContainerSummary(
            id=f"{k:064x}", name=f"c{k:04d}", image="img", image_id="sha256:" + "a" * 64,
            command="sleep", created=time.time() - k, state=state, status=state,
        )  # fmt: skip

    class PaneApp(App[None]):
        def compose(self) -> ComposeResult:
            yield ContainersPane(id="containers")

    app = PaneApp()
    async with app.run_test(size=(120, 30)) as pilot:
        pane = app.query_one(ContainersPane)
        table = pane.table
        fleet = [container(k, "running" if k < 20 else "created") for k in range(300)]
        pane.update_objects(fleet, full=True)
        await pilot.pause()
        first = fleet[0].id
        assert table.selected_key == first
        pane.update_objects([container(0, "removing")])
        await pilot.pause()
        assert table.selected_key == first and table.cursor_row == 0 and table.scroll_y == 0
        pane.update_objects([], [first])
        await pilot.pause()
        assert table.selected_key == fleet[1].id and table.scroll_y == 0
        # A container first seen while being removed sorts after the others.
        pane.update_objects([container(999, "removing")])
        await pilot.pause()
        assert table.ordered_rows[-1].key.value == f"{999:064x}"
