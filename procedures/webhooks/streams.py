"""Media Streams: a call's raw audio over a WebSocket, recorded to a WAV file, its events forwarded as JSON lines.

Twilio (`<Connect><Stream url=...>`) sends `connected`, then `start` (the stream's and the call's SIDs, the tracks,
the media format: `audio/x-mulaw` at 8000 Hz, one channel), a `media` message per 20 ms of audio (`payload`:
base64 mu-law bytes), `dtmf` for a key pressed and `stop` when the stream ends
(https://www.twilio.com/docs/voice/media-streams/websocket-messages). The listener decodes the audio to 16-bit
PCM and writes it to `calls/<CallSid>-<StreamSid>.wav` under the session's downloads folder (the only place the
book writes files); each event but `media` is forwarded as a JSON line (`{"trigger": "stream", "event": ...}`),
and `stop` says where the file is and how long it is.
"""

from __future__ import annotations

import base64
import binascii
import json
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from procedures.webhooks.relay import POLICY_VIOLATION, STREAM_PATH, signed
from procedures.webhooks.signature import SIGNATURE_HEADER, SignatureCheck

SAMPLE_RATE = 8000
Report = Callable[[str], None]


def _mulaw_table() -> list[int]:
    """The 16-bit sample of each mu-law byte (ITU-T G.711)."""
    table = []
    for byte in range(256):
        u = ~byte & 0xFF
        sign, exponent, mantissa = u & 0x80, (u >> 4) & 0x07, u & 0x0F
        sample = (((mantissa << 3) + 0x84) << exponent) - 0x84
        table.append(-sample if sign else sample)
    return table


_MULAW = _mulaw_table()


def mulaw_to_pcm(data: bytes) -> bytes:
    """Mu-law bytes as 16-bit little-endian PCM samples."""
    out = bytearray(2 * len(data))
    for index, byte in enumerate(data):
        out[2 * index: 2 * index + 2] = _MULAW[byte].to_bytes(2, "little", signed=True)
    return bytes(out)


class StreamRecording:
    """One stream's WAV file, written as its media come."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._wav = wave.open(str(path), "wb")  # noqa: SIM115 (open while the stream lasts; `close` closes it)
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(SAMPLE_RATE)
        self.frames = 0

    def write(self, mulaw: bytes) -> None:
        self._wav.writeframes(mulaw_to_pcm(mulaw))
        self.frames += len(mulaw)

    def close(self) -> float:
        """Close the file; its length in seconds."""
        self._wav.close()
        return self.frames / SAMPLE_RATE


def stream_route(check: SignatureCheck, downloads: Callable[[], Any], forward: Callable[[dict[str, Any]], None], *,
                 report: Report) -> WebSocketRoute:
    """The Media Streams endpoint: signed upgrades only; the audio to a WAV file under `downloads()` (a
    `book.files.DownloadFolder`), every event but the audio to `forward` (a JSON line)."""

    async def stream(websocket: WebSocket) -> None:
        if not signed(websocket, check):
            report(f"refused a WebSocket to {STREAM_PATH}: the {SIGNATURE_HEADER} is missing or wrong (403)")
            await websocket.close(code=POLICY_VIOLATION)
            return
        await websocket.accept()
        recording: StreamRecording | None = None
        ids: dict[str, str] = {}
        try:
            while True:
                try:
                    message = json.loads(await websocket.receive_text())
                except WebSocketDisconnect:
                    return
                except ValueError:
                    report("a media stream sent a message that is not JSON; ignored")
                    continue
                event = message.get("event")
                if event == "media" and recording is not None:
                    try:
                        recording.write(base64.b64decode(message.get("media", {}).get("payload", ""), validate=True))
                    except (binascii.Error, ValueError):
                        report(f"the media stream {ids.get('stream_sid')} sent audio that is not base64; skipped")
                    continue
                line: dict[str, Any] = {"trigger": "stream", "event": event}
                if event == "start":
                    start = message.get("start", {})
                    ids = {"call_sid": str(start.get("callSid", "")), "stream_sid": str(message.get("streamSid", ""))}
                    name = f"calls/{ids['call_sid'] or 'call'}-{ids['stream_sid'] or 'stream'}.wav"
                    recording = StreamRecording(downloads().path(name))
                    line.update(ids, tracks=start.get("tracks", []), format=start.get("mediaFormat", {}),
                                parameters=start.get("customParameters", {}), file=str(recording.path))
                elif event == "stop":
                    line.update(ids)
                    if recording is not None:
                        line.update(file=str(recording.path), seconds=round(recording.close(), 3))
                        recording = None
                elif event == "dtmf":
                    line.update(ids, digit=message.get("dtmf", {}).get("digit"))
                elif event == "mark":
                    line.update(ids, name=message.get("mark", {}).get("name"))
                else:
                    line.update({k: v for k, v in message.items() if k != "event"})
                forward(line)
                if event == "stop":
                    await websocket.close()
                    return
        finally:
            if recording is not None:  # the socket closed without a stop: keep what came
                seconds = recording.close()
                forward({"trigger": "stream", "event": "closed", **ids, "file": str(recording.path),
                         "seconds": round(seconds, 3)})

    return WebSocketRoute(STREAM_PATH, stream)


def json_lines(out: Any) -> Callable[[dict[str, Any]], None]:
    """Forward stream events as JSON lines on `out`."""

    def write(line: dict[str, Any]) -> None:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
        out.flush()

    return write
