"""The HTTP/1.1 answer reader of the lean local-socket path (lean GETs, pings, stats
rounds): whole however the socket splits it, and an error instead of a hang when cut."""

from __future__ import annotations

import pytest

from dockui.engine.client import HTTPAnswer


def _feed_all(chunks: list[bytes]):
    response = HTTPAnswer()
    done = False
    for chunk in chunks:
        assert not done, "data after a whole answer"
        done = response.feed(chunk)
    return response, done


def _split_everywhere(data: bytes):
    for cut in range(1, len(data)):
        yield [data[:cut], data[cut:]]
    yield [bytes([b]) for b in data]


def test_an_answer_with_a_length_is_read_whole_however_it_is_split() -> None:
    body = b'{"id": "abc", "memory_stats": {"usage": 1}}'
    raw = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )
    for chunks in _split_everywhere(raw):
        response, done = _feed_all(chunks)
        assert done and response.status == 200 and response.body == body
        assert response.keep_alive


def test_a_chunked_answer_and_an_error_status_are_read_whole() -> None:
    raw = (
        b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b'5\r\n{"mes\r\n13\r\nsage": "No such c"}\r\n0\r\n\r\n'
    )
    for chunks in _split_everywhere(raw):
        response, done = _feed_all(chunks)
        assert done and response.status == 404
        assert response.body == b'{"message": "No such c"}'
        assert not response.keep_alive


def test_a_cut_off_or_garbled_answer_raises_instead_of_hanging() -> None:
    cut = HTTPAnswer()
    assert not cut.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{")
    with pytest.raises(ConnectionError):
        cut.feed(b"")  # the engine closed the socket mid-answer
    with pytest.raises(ValueError):
        HTTPAnswer().feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    with pytest.raises(ValueError):
        HTTPAnswer().feed(b"GARBAGE\r\n\r\n")
    until_close = HTTPAnswer()  # neither a length nor chunks: the body ends with the socket
    assert not until_close.feed(b"HTTP/1.0 200 OK\r\n\r\n{}")
    assert until_close.feed(b"") and until_close.body == b"{}" and not until_close.keep_alive


def test_an_answer_without_a_body_is_whole_at_its_headers() -> None:
    """204 and 304 carry no body and often no length: done at the blank line, not at a
    socket close that a keep-alive engine never sends."""
    for status in (b"204 No Content", b"304 Not Modified"):
        answer = HTTPAnswer()
        assert answer.feed(b"HTTP/1.1 " + status + b"\r\nServer: Docker\r\n\r\n")
        assert answer.body == b"" and answer.keep_alive
