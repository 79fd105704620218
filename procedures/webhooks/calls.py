"""The listener's endpoints for calls that talk and calls that wait, beside its webhooks:

    POST /twilio/call-status   a call's status callback: recorded for the call that waits (`call_status`)
    WS   /twilio/relay         ConversationRelay: `answer each inbound call as follows`, turn by turn (`relay`)
    WS   /twilio/stream        Media Streams: each call's audio to a WAV file, its events as JSON lines (`streams`)

`CallEndpoints` makes their routes for a listener, and says (on the book's home) that this listener takes call
status callbacks, when Twilio can reach it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from book import plan as p
from book.interpreter import Interpreter, Session
from procedures.webhooks.call_status import CallBoard, board_path, call_status_route
from procedures.webhooks.relay import RelaySession, relay_route
from procedures.webhooks.signature import SignatureCheck
from procedures.webhooks.streams import json_lines, stream_route

TITLES = (
    ("/twilio/call-status", "call status callbacks (a call's StatusCallback; set for you by 'place a phone call')"),
    ("/twilio/relay", "conversations (ConversationRelay's WebSocket; answer each inbound call as follows)"),
    ("/twilio/stream", "media streams (a call's audio, recorded to the downloads folder)"),
)


def answering(plan: p.Plan | None) -> p.AnswerStep | None:
    """The plan's `answer each inbound call as follows` line, if it answers calls."""
    step = plan.answers if plan is not None else None
    return step if step is not None and step.conversing.noun == "inbound calls" else None


@dataclass
class CallEndpoints:
    """The call endpoints of one listener: its session, where events go, and the conversation it answers."""

    check: SignatureCheck
    session: Session
    home: Path
    out: TextIO = sys.stdout
    plan: p.Plan | None = None
    report: Any = None
    _facts: dict[str, Any] | None = field(default=None, repr=False)
    _board: CallBoard | None = field(default=None, repr=False)
    _advertised: str | None = field(default=None, repr=False)

    def routes(self) -> list[Any]:
        self._board = CallBoard(board_path(self.home))
        forward = json_lines(self.out)
        return [call_status_route(self.check, self._board, forward, report=self.report),
                relay_route(self.check, self.converse, report=self.report),
                stream_route(self.check, self.session.download_folder, forward, report=self.report)]

    def converse(self, relay: RelaySession) -> None:
        """Answer one call's conversation with the plan's answer line (a call comes with none: it is ended)."""
        step = answering(self.plan)
        if step is None:
            self.report(f"a conversation opened on the call {relay.call.sid}, and this listener has no 'answer each "
                        "inbound call as follows' automation to hold it: it is ended")
            return
        if self._facts is None:  # the lines before the answer line, once: the facts every conversation sees
            before = p.Plan(self.plan.steps[: self.plan.steps.index(step)], self.plan.source, self.plan.filename)
            self._facts = Interpreter(self.session).run(before).facts
        report = Interpreter(self.session).converse(step.body, relay, dict(self._facts))
        line = {"trigger": "relay", "call_sid": relay.call.sid, "turns": report.turns, "hung_up": report.hung_up,
                "transcript": [[t.speaker, t.text] for t in relay.transcript]}
        json_lines(self.out)(line)

    def advertise(self, url: str) -> None:
        """Say, on the home, that this listener takes call status callbacks at `url` (Twilio reaches it there)."""
        if self._board is not None:
            self._advertised = self._board.advertise(url)

    def close(self) -> None:
        if self._board is not None:
            if self._advertised is not None:
                self._board.withdraw(self._advertised)
            self._board.close()
            self._board = None
