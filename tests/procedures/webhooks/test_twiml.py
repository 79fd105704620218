"""Answers as TwiML, built with the SDK's TwiML classes, configured per number."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree

import pytest

from book.errors import BookError
from procedures.webhooks.twiml import Answers, CallAnswer, answers_from, load_answers


def tags(xml: str) -> list[tuple[str, str | None, dict[str, str]]]:
    root = ElementTree.fromstring(xml)
    assert root.tag == "Response"
    return [(child.tag, child.text, dict(child.attrib)) for child in root]


def test_nothing_configured_answers_an_empty_response():
    answers = Answers()
    assert tags(answers.call("+15005550006").twiml()) == []
    assert tags(answers.message("+15005550006").twiml()) == []


def test_a_call_answer_keeps_its_verbs_in_order():
    answer = CallAnswer(say="Hi", play="https://example.com/a.mp3", redirect="https://example.com/next",
                        stream="wss://example.com/s", language="en-GB")
    assert [t[0] for t in tags(answer.twiml())] == ["Say", "Play", "Connect", "Redirect"]
    assert tags(answer.twiml())[0] == ("Say", "Hi", {"language": "en-GB"})
    assert tags(answer.twiml())[-1] == ("Redirect", "https://example.com/next", {})


def test_a_number_uses_its_own_section_else_the_defaults():
    answers = answers_from({
        "default": {"call": {"say": "default"}, "message": {"reply": "default reply"}},
        "numbers": {"+15005550006": {"call": {"say": "own"}}},
    })
    assert tags(answers.call("+15005550006").twiml())[0][1] == "own"
    assert tags(answers.message("+15005550006").twiml()) == [("Message", "default reply", {})]
    assert tags(answers.call("whatsapp:+15005550006").twiml())[0][1] == "own"
    assert tags(answers.call("+15005550009").twiml())[0][1] == "default"


def test_mistakes_in_the_answers_are_named_with_their_place():
    with pytest.raises(BookError) as caught:
        answers_from({"default": {"call": {"sya": "hi", "stream": "https://example.com"}}}, "answers.toml")
    message = str(caught.value)
    assert message.startswith("answers.toml: ")
    assert "default.call.sya: Extra inputs are not permitted" in message
    assert "default.call.stream: 'https://example.com' is not a URL starting with ws:// or wss://" in message


def test_answers_load_from_toml_and_json(tmp_path):
    toml = tmp_path / "answers.toml"
    toml.write_text('[numbers."+15005550006".call]\nplay = "https://example.com/a.mp3"\n', encoding="utf-8")
    assert tags(load_answers(toml).call("+15005550006").twiml()) == [("Play", "https://example.com/a.mp3", {})]
    data = tmp_path / "answers.json"
    data.write_text(json.dumps({"default": {"call": {"redirect": "https://example.com/r"}}}), encoding="utf-8")
    assert tags(load_answers(data).call("+1").twiml()) == [("Redirect", "https://example.com/r", {})]
    bad = tmp_path / "bad.toml"
    bad.write_text("[default\n", encoding="utf-8")
    with pytest.raises(BookError, match="not valid TOML"):
        load_answers(bad)
    with pytest.raises(BookError, match="can't read the answers file"):
        load_answers(tmp_path / "missing.toml")


def test_a_gather_without_an_action_posts_to_the_gather_action_given():
    answer = CallAnswer.model_validate({"gather": {"prompt": "Press 1.", "num_digits": 1}})
    (gather,) = tags(answer.twiml(gather_action="https://hooks.example.com/twilio/gather"))
    assert gather[0] == "Gather" and gather[2]["action"] == "https://hooks.example.com/twilio/gather"
    own = CallAnswer.model_validate({"gather": {"action": "https://example.com/menu"}})
    assert tags(own.twiml(gather_action="https://hooks.example.com/twilio/gather"))[0][2]["action"] == \
        "https://example.com/menu"


def test_what_follows_gathered_input_is_configured_per_number_like_a_call():
    answers = answers_from({
        "default": {"gathered": {"say": "Goodbye."}},
        "numbers": {"whatsapp:+15005550006": {"gathered": {"redirect": "https://example.com/next"}}},
    })
    assert tags(answers.gathered("+15005550009").twiml()) == [("Say", "Goodbye.", {})]
    assert tags(answers.gathered("whatsapp:+15005550006").twiml()) == [("Redirect", "https://example.com/next", {})]
    assert tags(Answers().gathered("+15005550006").twiml()) == []  # nothing configured: the call ends


@pytest.mark.parametrize("number, problem", [
    ("5005550006", "'5005550006' is not a phone number in E.164 format"),
    ("+1 500 555 0006", "did you mean '+15005550006'?"),
    ("messenger:someone", "'messenger:someone' is not a phone number or a WhatsApp address"),
    ("whatsapp:15005550006", "'whatsapp:15005550006' is not a WhatsApp address"),
])
def test_a_number_that_would_never_match_is_refused_by_name(number, problem):
    with pytest.raises(BookError) as caught:
        answers_from({"numbers": {number: {"call": {"say": "hi"}}}}, "answers.toml")
    assert str(caught.value).startswith("answers.toml: numbers: ") and problem in str(caught.value)
