"""Real, playable audio for the sandbox's recordings: a short tone as WAV (stdlib `wave`) or MP3 (LAME).

Twilio serves a recording's media as `audio/x-wav` (16-bit PCM) or `audio/mpeg` (32 kbps MP3). The
sandbox has no real calls to record, so every recording sounds the same: a 440 Hz tone with a short
fade in and out, mono, 8 kHz (the telephone rate), as long as the recording but at most
`MAX_SECONDS` so downloads stay small. The bytes are deterministic and cached per length.
"""

from __future__ import annotations

import array
import io
import math
import wave
from functools import lru_cache

SAMPLE_RATE = 8000
"""Samples per second: Twilio records calls at 8 kHz."""
MAX_SECONDS = 3
"""The longest audio the sandbox serves, whatever the recording's duration."""
MP3_KBPS = 32
"""Twilio's MP3 recordings have a bitrate of 32 kbps."""
TONE_HZ = 440
_AMPLITUDE = 0.3 * 32767
_FADE_SECONDS = 0.05

CONTENT_TYPES = {"wav": "audio/x-wav", "mp3": "audio/mpeg"}
"""The media type Twilio sends for each format."""


def audio_seconds(duration: int | None) -> int:
    """How many seconds of audio a recording of `duration` seconds gets: 1 to MAX_SECONDS."""
    return min(max(duration or 0, 1), MAX_SECONDS)


@lru_cache(maxsize=MAX_SECONDS)
def _pcm(seconds: int) -> bytes:
    """Signed 16-bit mono samples of the tone, in native byte order (`wave` and LAME both expect that)."""
    count = seconds * SAMPLE_RATE
    fade = int(_FADE_SECONDS * SAMPLE_RATE)
    step = 2 * math.pi * TONE_HZ / SAMPLE_RATE
    samples = array.array("h", bytes(2 * count))
    for i in range(count):
        envelope = min(1.0, i / fade, (count - 1 - i) / fade)
        samples[i] = int(_AMPLITUDE * envelope * math.sin(step * i))
    return samples.tobytes()


@lru_cache(maxsize=MAX_SECONDS)
def wav_bytes(seconds: int) -> bytes:
    """A WAV file (RIFF, PCM 16-bit, mono, 8 kHz) of the tone, `seconds` long."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(_pcm(seconds))
    return buffer.getvalue()


@lru_cache(maxsize=MAX_SECONDS)
def mp3_bytes(seconds: int) -> bytes:
    """An MP3 file (MPEG-2.5 Layer III, 32 kbps, mono, 8 kHz) of the tone, `seconds` long."""
    import lameenc  # loaded only when an MP3 is asked for

    encoder = lameenc.Encoder()
    encoder.set_bit_rate(MP3_KBPS)
    encoder.set_in_sample_rate(SAMPLE_RATE)
    encoder.set_channels(1)
    encoder.set_quality(7)  # 2 is best, 7 fastest; a tone needs no more
    return bytes(encoder.encode(_pcm(seconds)) + encoder.flush())


def audio_bytes(audio_format: str, duration: int | None) -> bytes:
    """The media of a recording of `duration` seconds in `audio_format` (`wav` or `mp3`)."""
    seconds = audio_seconds(duration)
    return wav_bytes(seconds) if audio_format == "wav" else mp3_bytes(seconds)
