"""The hot paths read a request's raw pieces exactly as Flask would."""

from __future__ import annotations

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from connect.http.hotpaths import query_string


@pytest.mark.parametrize(
    "raw",
    [
        b"team=OKR&xdm_e=https%3A%2F%2Fx.atlassian.net&jwt=a.b.c",
        "team=OKR&note=caf\u00e9&jwt=a.b.c".encode(),  # UTF-8 sent unescaped
        b"",
    ],
)
def test_the_query_string_reads_as_flasks(raw: bytes) -> None:
    environ = EnvironBuilder(path="/p").get_environ()
    environ["QUERY_STRING"] = raw.decode("latin-1")  # as a WSGI server carries it (PEP 3333)
    assert query_string(environ) == Request(environ).query_string.decode()
