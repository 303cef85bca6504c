"""Incoming Connect JWT verification throughput on one core: ``python bench/auth.py``.

Measures verify_connect_jwt (HS256 signature + claims + qsh) on a realistic iframe request
(iss, sub, qsh, iat, exp, context; a path and 3 query parameters), once with the same request
repeated (canonical-request caches warm) and once with a different query value on every
request (query cache cold), next to PyJWT's ``jwt.decode`` alone and PyJWT + the
``atlassian-jwt`` canonicaliser as references.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import jwt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connect.doors.atlassian_connect.connect_jwt import verify_connect_jwt
from integrations.atlassian.qsh import query_string_hash

SECRET = "5c1f0e9d-8b7a-4c6d-9e2f-1a0b3c4d5e6f-shared"
CLIENT_KEY = "e4b8f2a0-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
ACCOUNT_ID = "557058:0b9f4a3c-2d1e-4f5a-8b7c-6d5e4f3a2b1c"
PATH = "/jira/issue-panel"
SECRETS = {CLIENT_KEY: SECRET}
REQUESTS = 20_000
ROUNDS = 5


def _query(issue: int) -> str:
    return f"issueKey=OKR-{issue}&projectKey=OKR&xdm_e=https%3A%2F%2Fexample.atlassian.net"


def _token(query: str, now: int) -> str:
    claims = {
        "iss": CLIENT_KEY,
        "sub": ACCOUNT_ID,
        "qsh": query_string_hash("GET", PATH, query),
        "iat": now,
        "exp": now + 180,
        "context": {},
    }
    return jwt.encode(claims, SECRET, algorithm="HS256")


def _best_rate(run: Callable[[], None], count: int) -> float:
    """Best of ROUNDS runs, in operations per CPU second of this (single-threaded) process.

    CPU time rather than wall time, so other processes sharing the machine do not count.
    """
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return count / best


def _report(name: str, rate: float) -> None:
    print(f"{name:<58} {rate:>10,.0f}/s {1e6 / rate:>8.1f} µs")


def main() -> None:
    now = int(time.time())
    one_query = _query(7)
    one_token = _token(one_query, now)
    queries = [_query(issue) for issue in range(REQUESTS)]
    tokens = [_token(query, now) for query in queries]
    pairs: Sequence[tuple[str, str]] = list(zip(tokens, queries, strict=True))

    def warm() -> None:
        for _ in range(REQUESTS):
            verify_connect_jwt(
                one_token, method="GET", path=PATH, query=one_query, secret_for=SECRETS.get
            )

    def cold() -> None:
        # Each request is new to the whole-query cache: a realistic worst case.
        for token, query in pairs:
            verify_connect_jwt(token, method="GET", path=PATH, query=query, secret_for=SECRETS.get)

    def pyjwt_decode() -> None:
        for _ in range(REQUESTS):
            jwt.decode(one_token, SECRET, algorithms=["HS256"])

    references: list[tuple[str, Callable[[], None]]] = []
    try:
        from atlassian_jwt.url_utils import canonicalize_request
    except ImportError:
        pass
    else:

        def pyjwt_and_atlassian_jwt() -> None:
            for token, query in pairs:
                claims = jwt.decode(token, SECRET, algorithms=["HS256"])
                canonical = canonicalize_request("GET", f"{PATH}?{query}")
                expected = hashlib.sha256(canonical.encode()).hexdigest()
                assert claims["qsh"] == expected

        references.append(
            ("PyJWT jwt.decode + atlassian-jwt qsh (reference)", pyjwt_and_atlassian_jwt)
        )

    python = sys.version.split()[0]
    print(f"Python {python}, PyJWT {jwt.__version__}, one core, CPU time, best of {ROUNDS}")
    _report("verify_connect_jwt, same request repeated", _best_rate(warm, REQUESTS))
    _report("verify_connect_jwt, new query value every request", _best_rate(cold, REQUESTS))
    _report("PyJWT jwt.decode alone (reference)", _best_rate(pyjwt_decode, REQUESTS))
    for name, run in references:
        _report(name, _best_rate(run, REQUESTS))


if __name__ == "__main__":
    main()
