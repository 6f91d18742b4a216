"""The layer screen: what each layer added, changed and removed, and the space it wastes.

Left: the layers (size, instruction) and the wasted-space list (the worst offenders and
the layers that caused them). Right: the selected layer's file tree — only its changes,
or the whole filesystem after it — with sizes and change marks, sortable and filterable.
The analysis itself runs in the app (it reads the image export from the engine); this
screen shows its progress, can cancel it, and renders the result.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Input, ProgressBar, Static, Tree
from textual.widgets.tree import TreeNode
from textual.worker import get_current_worker

from dockui import format as fmt
from dockui.engine.filetree import FileNode, build_tree
from dockui.engine.layers import ADDED, MODIFIED, REMOVED, ImageAnalysis, TreeItem
from dockui.widgets.keybar import KeyBar
from dockui.widgets.keyed_table import NavTable

MARKS = {ADDED: ("+", "green"), MODIFIED: ("~", "yellow"), REMOVED: ("-", "red")}
MAX_CHILDREN = 2000  # per directory; the rest is summarised in one row
MAX_WASTE_ROWS = 200


class LayerScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back", id="layers.back"),
        Binding("a", "toggle_aggregate", "All files / changes", id="layers.aggregate"),
        Binding("s", "toggle_sort", "Sort", id="layers.sort"),
        Binding("slash", "filter", "Filter paths", id="layers.filter"),
        Binding("e", "expand_all", "Expand", id="layers.expand", show=False),
    ]

    class Cancelled(Message):
        """The user left while the analysis was still running."""

        def __init__(self, image_id: str) -> None:
            super().__init__()
            self.image_id = image_id

    def __init__(self, image_id: str, title: str, size: int) -> None:
        super().__init__(id="layer-screen")
        self.image_id = image_id
        self.title_text = title
        self.image_size = size
        self.analysis: ImageAnalysis | None = None
        self.aggregate = False
        self.sort_by = "name"
        self.pattern = ""
        self.layer_index = 0
        self._fs_cache: dict[int, dict[str, TreeItem]] = {}
        self.header_line = Static(id="layer-header")
        self.progress_bar = ProgressBar(total=max(1, size), show_eta=True, id="layer-progress")
        self.layer_table = NavTable(cursor_type="row", id="layer-list")
        self.waste_table = NavTable(cursor_type="row", id="layer-waste")
        self.layer_detail = Static(id="layer-detail")
        self.file_tree: Tree[FileNode] = Tree("/", id="layer-tree")
        self.filter_input = Input(placeholder="filter paths (regex) — Enter keeps, Esc clears")
        self.filter_input.display = False

    def compose(self) -> ComposeResult:
        yield self.header_line
        yield self.progress_bar
        with Horizontal(id="layer-body"):
            with Vertical(id="layer-left"):
                with Vertical(classes="pane", id="layer-list-pane"):
                    yield self.layer_table
                    yield self.layer_detail
                with Vertical(classes="pane", id="layer-waste-pane"):
                    yield self.waste_table
            with Vertical(classes="pane", id="layer-tree-pane"):
                yield self.filter_input
                yield self.file_tree
        yield KeyBar()

    def on_mount(self) -> None:
        self.header_line.update(Text(f" Analysing {self.title_text} …  Esc cancels", style="bold"))
        self.query_one("#layer-list-pane").border_title = "Layers"
        self.query_one("#layer-waste-pane").border_title = "Wasted space"
        self.query_one("#layer-tree-pane").border_title = "Files"
        self.layer_table.add_column("#", key="n")
        self.layer_table.add_column("Size", key="size")
        self.layer_table.add_column("Changes", key="changes")
        self.layer_table.add_column("Instruction", key="instruction")
        self.waste_table.add_column("Wasted", key="size")
        self.waste_table.add_column("Times", key="count")
        self.waste_table.add_column("Layers", key="layers")
        self.waste_table.add_column("Path", key="path")
        self.file_tree.show_root = False
        self.file_tree.guide_depth = 2
        self.layer_table.focus()

    # -- from the app ----------------------------------------------------------------------
    def set_progress(self, done: int) -> None:
        if self.analysis is None:
            self.progress_bar.update(progress=min(done, self.image_size))

    def show_error(self, message: str) -> None:
        self.progress_bar.display = False
        self.header_line.update(Text(f" {self.title_text}: {message}", style="bold red"))

    def show_analysis(self, analysis: ImageAnalysis) -> None:
        self.analysis = analysis
        self.progress_bar.display = False
        ours, dive = analysis.efficiency, analysis.dive
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append(f" {self.title_text}", style="bold")
        head.append(f"  {len(analysis.layers)} layers · {fmt.size(analysis.size)}")
        head.append("  efficiency ")
        head.append(
            f"{ours.score * 100:.1f} %", style="bold green" if ours.score >= 0.9 else "bold yellow"
        )
        head.append("  wasted ")
        head.append(fmt.size(ours.wasted_bytes), style="bold")
        head.append(f" ({ours.user_wasted_percent * 100:.1f} % of user layers)")
        if ours.wasted_bytes != dive.wasted_bytes:
            missed = ours.wasted_bytes - dive.wasted_bytes
            head.append(f"  dive misses {fmt.size(missed)}", style="dim")
        self.header_line.update(head)
        for layer in analysis.layers:
            counts = {ADDED: 0, MODIFIED: 0, REMOVED: 0}
            for item in layer.changes.values():
                if item.mark in counts and not item.entry.is_dir:
                    counts[item.mark] += 1
            changes = Text()
            for mark, (glyph, style) in MARKS.items():
                if counts[mark]:
                    changes.append(f"{glyph}{counts[mark]} ", style=style)
            self.layer_table.add_row(
                Text(str(layer.index), style="dim"),
                Text(fmt.size(layer.size), style="bold" if layer.size else "dim"),
                changes,
                Text(layer.instruction or "(no history)", no_wrap=True, overflow="ellipsis"),
                key=str(layer.index),
            )
        for wasted in ours.files[:MAX_WASTE_ROWS]:
            self.waste_table.add_row(
                Text(fmt.size(wasted.size), style="bold"),
                Text(str(wasted.count)),
                Text(",".join(str(i) for i in wasted.layers), style="cyan"),
                Text(wasted.path, no_wrap=True, overflow="ellipsis"),
                key=wasted.path,
            )
        extra = len(ours.files) - MAX_WASTE_ROWS
        subtitle = f"{len(ours.files):,} files" + (f" (top {MAX_WASTE_ROWS})" if extra > 0 else "")
        self.query_one("#layer-waste-pane").border_subtitle = subtitle
        self.layer_table.move_cursor(row=0)
        self._show_layer(0)

    # -- the tree ----------------------------------------------------------------------------
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.analysis is None or event.row_key is None:
            return
        if event.data_table is self.layer_table:
            index = int(str(event.row_key.value))
            layer = self.analysis.layers[index]
            detail = Text(layer.created_by or layer.instruction or "(no history)", style="dim")
            detail.append(f"\n{layer.digest or layer.diff_id}", style="dim italic")
            self.layer_detail.update(detail)
            self._show_layer(index)
        elif event.data_table is self.waste_table:
            wasted = next(
                (w for w in self.analysis.efficiency.files if w.path == event.row_key.value), None
            )
            if wasted is not None:
                self.query_one(
                    "#layer-waste-pane"
                ).border_subtitle = (
                    f"{wasted.path}: touched by layers {', '.join(map(str, wasted.layers))}"
                )

    def _show_layer(self, index: int) -> None:
        self.layer_index = index
        analysis = self.analysis
        if analysis is None:
            return
        if self.aggregate:
            items = self._fs_cache.get(index)
            if items is None:
                self._describe_tree("computing the filesystem …")
                self._load_filesystem(index)
                return
        else:
            items = analysis.layers[index].changes
        self._fill_tree(items)

    @work(thread=True, exclusive=True, group="layer-fs")
    def _load_filesystem(self, index: int) -> None:
        assert self.analysis is not None
        items = self.analysis.filesystem(index)
        if get_current_worker().is_cancelled:
            return
        self.app.call_from_thread(self._filesystem_ready, index, items)

    def _filesystem_ready(self, index: int, items: dict[str, TreeItem]) -> None:
        self._fs_cache[index] = items
        if self.aggregate and index == self.layer_index:
            self._fill_tree(items)

    def _fill_tree(self, items: dict[str, TreeItem]) -> None:
        root, matches = build_tree(items, self.pattern)
        self.file_tree.clear()
        self.file_tree.root.data = root
        self._add_children(self.file_tree.root, root)
        if self.pattern or root.count() < 300:
            self._expand_to_depth(self.file_tree.root, 6)
        what = "whole filesystem" if self.aggregate else "changes only"
        order = "largest first" if self.sort_by == "size" else "by name"
        found = f" · {matches:,} match /{self.pattern}" if self.pattern else ""
        self._describe_tree(f"layer {self.layer_index}: {what} · {order}{found}")

    def _describe_tree(self, text: str) -> None:
        self.query_one("#layer-tree-pane").border_title = f"Files — {text}"

    def _add_children(self, parent: TreeNode[FileNode], node: FileNode) -> None:
        children = node.sorted_children(self.sort_by)
        for child in children[:MAX_CHILDREN]:
            parent.add(self._label(child), data=child, allow_expand=bool(child.children))
        if len(children) > MAX_CHILDREN:
            rest = children[MAX_CHILDREN:]
            parent.add_leaf(
                Text(
                    f"… {len(rest):,} more ({fmt.size(sum(c.size for c in rest))}); filter with /",
                    style="dim italic",
                )
            )

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[FileNode]) -> None:
        node = event.node
        if node.data is not None and not node.children and node.data.children:
            self._add_children(node, node.data)

    def _expand_to_depth(self, node: TreeNode[FileNode], depth: int) -> None:
        if depth <= 0:
            return
        for child in node.children:
            if child.allow_expand:
                if not child.children and child.data is not None:
                    self._add_children(child, child.data)
                child.expand()
                self._expand_to_depth(child, depth - 1)

    def _label(self, node: FileNode) -> Text:
        glyph, style = MARKS.get(node.mark, (" ", ""))
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{glyph} ", style=style)
        name_style = "bold blue" if node.is_dir else ""
        if node.mark == REMOVED:
            name_style += " strike red"
        text.append(node.name + ("/" if node.is_dir else ""), style=name_style.strip())
        if node.link:
            text.append(f" → {node.link}", style="dim")
        text.append(f"  {fmt.size(node.size)}", style="dim")
        if node.is_dir and node.changed_below:
            text.append(f"  {node.changed_below:,} changed", style="yellow dim")
        return text

    # -- keys ----------------------------------------------------------------------------------
    def action_back(self) -> None:
        if self.filter_input.display:
            self.filter_input.value = ""
            self.filter_input.display = False
            self.pattern = ""
            self._show_layer(self.layer_index)
            self.file_tree.focus()
            return
        if self.analysis is None:
            self.post_message(self.Cancelled(self.image_id))
        self.dismiss()

    def action_toggle_aggregate(self) -> None:
        self.aggregate = not self.aggregate
        self._show_layer(self.layer_index)

    def action_toggle_sort(self) -> None:
        self.sort_by = "size" if self.sort_by == "name" else "name"
        self._show_layer(self.layer_index)

    def action_filter(self) -> None:
        self.filter_input.display = True
        self.filter_input.focus()

    def action_expand_all(self) -> None:
        self._expand_to_depth(self.file_tree.root, 4)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.pattern = event.value.strip()
        if not self.pattern:
            self.filter_input.display = False
        self._show_layer(self.layer_index)
        self.file_tree.focus()
