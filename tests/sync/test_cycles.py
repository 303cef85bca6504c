"""`sync/cycles.py`: a close request is read strictly, each refusal naming its field."""

from __future__ import annotations

import pytest

from sync.cycles import parse_close
from sync.errors import Invalid


def test_a_close_request_is_read_with_its_texts_trimmed_and_its_keys_once() -> None:
    request = parse_close(
        {
            "scores": {"PLAT-1.1": {"score": 0.7, "reason": "  nearly  "}},
            "retro": {"learned": " focus ", "differently": "", "space": " ENG "},
            "carry_over": ["PLAT-1.2", " PLAT-1.2", "", "PLAT-1.3"],
        }
    )
    assert request.scores["PLAT-1.1"].score == 0.7
    assert request.scores["PLAT-1.1"].reason == "nearly"
    assert (request.learned, request.differently, request.space) == ("focus", "", "ENG")
    assert request.carry_over == ("PLAT-1.2", "PLAT-1.3")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"scores": ["PLAT-1.1"]}, "scores"),
        ({"scores": {"PLAT-1.1": 0.7}}, "scores.PLAT-1.1"),
        ({"scores": {"PLAT-1.1": {"score": 1.5}}}, "scores.PLAT-1.1.score"),
        ({"scores": {"PLAT-1.1": {"score": True}}}, "scores.PLAT-1.1.score"),
        ({"retro": {"mood": "good"}}, "retro"),
        ({"retro": {"learned": 3}}, "retro.learned"),
        ({"carry_over": "PLAT-1.1"}, "carry_over"),
    ],
)
def test_a_bad_close_request_is_invalid_at_its_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_close(data)
    assert refused.value.field == field
    assert (refused.value.http_status, refused.value.code) == (422, "invalid")
