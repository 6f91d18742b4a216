import struct

from dockui.engine.logs import STDERR, STDOUT, FrameDemuxer, LineSplitter


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def test_demuxer_reassembles_frames_split_anywhere():
    data = frame(STDOUT, b"out 1\n") + frame(STDERR, b"err 1\n") + frame(STDOUT, b"out 2\n")
    for cut in range(1, len(data)):
        demux = FrameDemuxer()
        got = demux.feed(data[:cut]) + demux.feed(data[cut:])
        assert got == [(STDOUT, b"out 1\n"), (STDERR, b"err 1\n"), (STDOUT, b"out 2\n")]


def test_splitter_handles_crlf_bare_cr_and_split_utf8():
    s = LineSplitter()
    out = s.feed(b"a\r\nb\rc\n\xe2\x82") + s.feed(b"\xac end\r") + s.feed(b"\nlast")
    out += s.feed(b"", final=True)
    assert [line.text for line in out] == ["a", "b", "c", "€ end", "last"]


def test_splitter_caps_a_huge_line_and_counts_the_rest():
    s = LineSplitter(max_line=100)
    out = []
    for _ in range(1024):  # 1 MiB without a newline, in 1 KiB chunks
        out += s.feed(b"x" * 1024)
    assert out == []
    out += s.feed(b"\n")
    assert len(out) == 1
    assert len(out[0].text) == 100 and out[0].cut == 1024 * 1024 - 100


def test_splitter_cleans_escape_sequences():
    s = LineSplitter(stream=STDERR)
    (line,) = s.feed(b"\x1b]52;c;AAAA\x07ok\x1b[2J\n")
    assert line.text == "ok" and line.stderr
