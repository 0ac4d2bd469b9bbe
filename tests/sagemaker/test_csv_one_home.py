"""CSV parsing has one home (`payloads.parse_csv`): the single-row fast path and the general
path give the same answers and the same errors, and the fast path calls that parser.

The corpus holds the Lambda's request and the edge cases where Python's float() and numpy's
CSV reader could disagree (underscores, non-ASCII digits and spaces, hex, special values,
empty fields, ragged and blank lines, CR LF, quotes, NUL, overflow)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emulator.sagemaker import payloads
from tests.sagemaker.invoke_helpers import FEATURES, exchange, request, unit_app

LAMBDA_ROW = (
    b"13.49,22.3,86.91,561.0,0.08752,0.07698,0.04751,0.03384,0.1809,0.05718,0.2338,1.353,1.735,20.2,"
    b"0.004455,0.01382,0.02095,0.01184,0.01641,0.001956,15.15,31.82,99.0,698.8,0.1162,0.1711,0.2282,"
    b"0.1282,0.2871,0.06917"
)


def _row(*cells: str) -> bytes:
    """A 30-feature row whose first cells are `cells` (so shape errors do not hide parse errors)."""
    return ",".join(list(cells) + ["1.5"] * (FEATURES - len(cells))).encode()


CORPUS = [
    LAMBDA_ROW, LAMBDA_ROW + b"\n", LAMBDA_ROW + b"\r\n", LAMBDA_ROW + b"\n\n\n", b"\n" + LAMBDA_ROW,
    LAMBDA_ROW + b"\n" + LAMBDA_ROW, LAMBDA_ROW + b"\r\n" + LAMBDA_ROW + b"\r\n",
    _row("+1.5", "-0", ".5", "5.", "1e3", "1E-3", "-2.5e+2"),
    _row(" 1.5", "2.5 ", "\t3", "4\t"), _row("\x0b1"), _row("\x0c1"), _row("1\x00"), _row("\x00"),
    _row("nan"), _row("NaN"), _row("-nan"), _row("inf"), _row("-inf"), _row("+inf"), _row("Infinity"),
    _row("-Infinity"), _row("infinity"), _row("1e400"), _row("-1e400"), _row("1e-400"), _row("1e308", "1e308"),
    _row("1_000"), _row("0x10"), _row("1.0.0"), _row("1e"), _row("e1"), _row("--1"), _row("1-"), _row("abc"),
    _row('"1"'), _row("'1'"), _row(""), _row(" "), _row("1 2"), _row("١٢"), _row("\u00a01"), _row("１"),
    _row("1;2"), b"1,2,3", b"1,2,3,", b",1,2", b"1,,2", b"", b" ", b"\n", b"\r\n", b",", b"\xff\xfe",
    LAMBDA_ROW + b",", LAMBDA_ROW + b",1", LAMBDA_ROW + b"\n1,2", b"1,2\n1,2,3", LAMBDA_ROW.replace(b",", b", "),
    LAMBDA_ROW.replace(b",", b" ,"), LAMBDA_ROW + b"\r", b"\r" + LAMBDA_ROW, LAMBDA_ROW.replace(b"\n", b"\r"),
    LAMBDA_ROW + b"\n\r\n", LAMBDA_ROW + b"#comment", b"#" + LAMBDA_ROW, _row("1" * 400),
]


def _outcome(parse, body: bytes):
    try:
        return ("rows", parse(body))
    except payloads.PayloadError as exc:
        return ("error", exc.status, exc.message)


@pytest.mark.parametrize("body", CORPUS, ids=range(len(CORPUS)))
def test_parse_csv_equals_numpys_reader_on_every_input(body):
    quick, reference = _outcome(payloads.parse_csv, body), _outcome(payloads._parse_csv_numpy, body)
    if reference[0] == "rows":
        assert quick[0] == "rows", quick
        assert quick[1].dtype == reference[1].dtype and quick[1].shape == reference[1].shape
        np.testing.assert_array_equal(quick[1], reference[1])  # exact, NaN == NaN
    else:
        assert quick == reference


def test_the_fast_path_calls_the_one_csv_parser(tmp_path, monkeypatch):
    calls = []
    original = payloads.parse_csv

    def spy(body: bytes):
        calls.append(body)
        return original(body)

    monkeypatch.setattr(payloads, "parse_csv", spy)
    app = unit_app(tmp_path)
    try:
        [(status, _, _, inline)] = exchange(app, [request(LAMBDA_ROW)])
    finally:
        app.store.close()
    assert inline and status == 200  # answered in the parser callbacks, not as an ASGI task
    assert calls == [LAMBDA_ROW]


def test_fast_path_and_general_path_give_identical_answers_and_errors(tmp_path, monkeypatch):
    """Each corpus body three ways: the fast path (Content-Length, answered inline), uvicorn's
    ASGI path (chunked), and the fast path with numpy forced for every body."""
    app = unit_app(tmp_path)
    try:
        fast = exchange(app, [request(body) for body in CORPUS])
        general = exchange(app, [request(body, chunked=True) for body in CORPUS])
        monkeypatch.setattr(payloads, "_plain_row", lambda body: None)
        numpy_only = exchange(app, [request(body) for body in CORPUS])
    finally:
        app.store.close()
    statuses = set()
    for body, a, b, c in zip(CORPUS, fast, general, numpy_only):
        assert a[3] and not b[3], body  # the transports really differed
        for other in (b, c):
            assert (a[0], a[1]["content-type"], a[1].get("x-amzn-errortype")) == (other[0], other[1]["content-type"], other[1].get("x-amzn-errortype")), body
            assert a[2] == other[2], body
        statuses.add(a[0])
    assert statuses == {200, 424}  # the corpus exercises answers and the container's rejections
    ok = json.loads(fast[0][2])
    assert 0.0 <= ok["predictions"][0]["score"] <= 1.0 and ok["predictions"][0]["predicted_label"] in (0, 1)
