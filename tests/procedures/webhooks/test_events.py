"""Webhook parameters become typed event concepts; the package's public surface is what it says."""

from __future__ import annotations

import concepts.events
import procedures
from book.output import jsonable
from concepts.events import (
    GatheredInput,
    InboundCall,
    InboundSmsMessage,
    InboundWhatsappMessage,
    MessageStatusEvent,
    call_event_from_webhook,
    inbound_message_from_webhook,
)
from procedures import BOOK

SID = "SM" + "0" * 32


def test_a_status_callback_maps_twilios_names_and_types():
    event = MessageStatusEvent.from_webhook({
        "MessageSid": SID, "MessageStatus": "undelivered", "AccountSid": "AC1", "From": "+15005550006",
        "To": "+15558675310", "ErrorCode": "30003", "ApiVersion": "2010-04-01", "ChannelPrefix": "sms",
    })
    assert (event.sid, event.status, event.error_code, event.sender_number) == (SID, "undelivered", 30003, "+15005550006")
    assert event.parameters["ChannelPrefix"] == "sms"  # what the concept does not model is kept
    assert MessageStatusEvent.resolve_field("message status") is None and MessageStatusEvent.resolve_field("status")


def test_an_inbound_message_is_sms_or_whatsapp_by_its_sender():
    form = {"MessageSid": [SID], "AccountSid": ["AC1"], "To": ["+15005550006"], "Body": ["hi"], "NumMedia": ["2"],
            "MediaUrl0": ["https://a"], "MediaContentType0": ["image/png"], "MediaUrl1": ["https://b"],
            "MediaContentType1": ["image/jpeg"], "FromCity": [""]}
    sms = inbound_message_from_webhook({**form, "From": ["+15558675310"]})
    assert isinstance(sms, InboundSmsMessage)
    assert (sms.num_media, sms.media_urls, sms.media_content_types) == (2, ["https://a", "https://b"],
                                                                        ["image/png", "image/jpeg"])
    assert sms.sender_city is None  # an empty value is no value
    whatsapp = inbound_message_from_webhook({**form, "From": ["whatsapp:+15558675310"], "ProfileName": ["Ana"],
                                             "Latitude": ["52.37"]})
    assert isinstance(whatsapp, InboundWhatsappMessage)
    assert (whatsapp.profile_name, whatsapp.latitude) == ("Ana", 52.37)


def test_an_inbound_call_and_its_json_line():
    call = InboundCall.from_webhook({"CallSid": "CA1", "AccountSid": "AC1", "From": "+1555", "To": "+1500",
                                     "CallStatus": "ringing", "Direction": "inbound"})
    data = jsonable(call)
    assert (data["sid"], data["status"], data["direction"]) == ("CA1", "ringing", "inbound")
    assert data["received_at"].endswith("Z")  # UTC


def test_a_calls_webhook_with_digits_or_speech_is_gathered_input_not_a_new_call():
    call = {"CallSid": ["CA1"], "AccountSid": ["AC1"], "From": ["+15558675310"], "To": ["+15005550006"],
            "CallStatus": ["ringing"]}
    assert type(call_event_from_webhook(call)) is InboundCall
    keys = call_event_from_webhook({**call, "CallStatus": ["in-progress"], "Digits": ["12"], "FinishedOnKey": ["#"]})
    assert isinstance(keys, GatheredInput)
    assert (keys.sid, keys.digits, keys.finished_on_key, keys.speech_result, keys.status) == (
        "CA1", "12", "#", None, "in-progress")
    speech = call_event_from_webhook({**call, "SpeechResult": ["sales"], "Confidence": ["0.87"]})
    assert isinstance(speech, GatheredInput) and (speech.speech_result, speech.confidence) == ("sales", 0.87)
    assert BOOK.concepts["twilio gathered input"] is GatheredInput  # in the vocabulary and the reference


def test_every_event_field_is_documented():
    for concept in (MessageStatusEvent, InboundSmsMessage, InboundWhatsappMessage, InboundCall, GatheredInput):
        assert concept.concept_name and concept.summary()
        assert all(concept.field_description(name) for name in concept.model_fields), concept


def test_the_public_surfaces_are_honest():
    for module in (procedures, concepts.events):
        assert sorted(module.__all__) == sorted(set(module.__all__))
        for name in module.__all__:
            assert getattr(module, name) is not None, name
