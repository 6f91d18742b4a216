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


def _chunked(payloads: list[bytes], ext: bool = False) -> bytes:
    body = b""
    for p in payloads:
        size = f"{len(p):x}".encode() + (b";name=v" if ext else b"")
        body += size + b"\r\n" + p + b"\r\n"
    return body + b"0\r\n\r\n"


def test_chunked_decoder_joins_chunks_split_anywhere():
    import random

    from dockui.engine.logs import ChunkedDecoder

    payloads = [bytes([i % 251]) * (i * 7 % 300 + 1) for i in range(200)]
    wire = _chunked(payloads, ext=True)
    rng = random.Random(4)
    for _ in range(50):
        dec = ChunkedDecoder()
        out = b""
        pos = 0
        while pos < len(wire):
            step = rng.choice([1, 2, 3, 5, 64, 1000, 65536])
            out += dec.feed(wire[pos : pos + step])
            pos += step
        assert out == b"".join(payloads)
        assert dec.done


def test_chunked_decoder_refuses_garbage():
    import pytest

    from dockui.engine.logs import ChunkedDecoder

    with pytest.raises(ValueError):
        ChunkedDecoder().feed(b"zz\r\nhello\r\n")
    with pytest.raises(ValueError):
        ChunkedDecoder().feed(b"5" * 2000)  # no size line ever ends


def test_fast_timestamps_equal_the_full_parse():
    from dockui.engine.logs import parse_timestamp

    sp = LineSplitter(STDOUT, timestamps=True)
    stamps = [
        "2026-12-03T07:23:37.123456789Z",
        "2026-12-03T07:23:37.5Z",
        "2026-12-03T07:23:38.000000001Z",
        "2026-12-31T23:59:59.999999999Z",
        "2027-01-01T00:00:00.000000000Z",
        "2026-12-03T07:23:37Z",  # no fraction: the full parse
        "2026-12-03T08:23:37.25+01:00",  # an offset: the full parse
    ]
    for text in stamps:
        assert abs(sp._stamp(text) - parse_timestamp(text)) < 1e-6, text
    lines = sp.feed(b"2026-12-03T07:23:37.250000000Z hello\n2026-12-03T07:23:38.5Z there\n")
    assert [(ln.text, ln.ts_text) for ln in lines] == [
        ("hello", "2026-12-03T07:23:37.250000000Z"),
        ("there", "2026-12-03T07:23:38.5Z"),
    ]
    assert lines[1].ts - lines[0].ts == 1.25
