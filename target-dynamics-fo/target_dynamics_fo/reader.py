"""The Singer input reader: the SDK's, with blank lines skipped and broken lines named.

Blank lines are skipped, as other Singer targets do (a shell pipeline or an editor may leave
one). A line that is not JSON stops the run with its line number and the fix, and without
echoing its content: the SDK's reader logs the whole line, which may be a payroll record.
"""

from __future__ import annotations

import json
import typing as t

from singer_sdk.io_base import SingerMessageType, SingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine

from target_dynamics_fo.ledger import loads

SHOWN_CHARACTERS = 40

Callback = t.Callable[[dict[str, t.Any]], None]


class MessageHooks(t.Protocol):
    """What the target does around the SDK's handling of a message type (see ``hooks``)."""

    def on_record(self, message: dict[str, t.Any], handle: Callback) -> None: ...

    def on_state(self, message: dict[str, t.Any], handle: Callback) -> None: ...


class PayrollInputReader(SingerReader):
    line_number = 0
    #: Set by the target. The SDK hands the reader one callback per message type (the public
    #: ``SingerReader.process_lines`` contract); the target wraps the RECORD and STATE ones
    #: here instead of overriding the SDK's private message handlers.
    hooks: MessageHooks | None = None

    def process_lines(
        self,
        file_input: t.IO[str] | None,
        callbacks: dict[str, Callback],
    ) -> t.Counter[str]:
        hooks = self.hooks
        if hooks is not None:
            callbacks = dict(callbacks)
            record = callbacks[SingerMessageType.RECORD]
            state = callbacks[SingerMessageType.STATE]
            callbacks[SingerMessageType.RECORD] = lambda message: hooks.on_record(message, record)
            callbacks[SingerMessageType.STATE] = lambda message: hooks.on_state(message, state)
        return super().process_lines(
            t.cast("t.IO[str]", self._non_blank(file_input or self.default_input)), callbacks
        )

    def _non_blank(self, lines: t.Iterable[str]) -> t.Iterator[str]:
        for line in lines:
            self.line_number += 1
            if line.strip():
                yield line

    def deserialize_json(self, line: str) -> dict[str, t.Any]:
        try:
            # What the SDK's deserialize_json gives (json.loads with parse_float=Decimal), in
            # less time (ledger.loads: msgspec first, one reused decoder otherwise).
            message: dict[str, t.Any] = loads(line)
        except json.JSONDecodeError as exc:
            start = line[:SHOWN_CHARACTERS].replace("\n", "")
            raise InvalidInputLine(
                f"Input line {self.line_number} is not a Singer message (invalid JSON: "
                f"{exc.msg.removesuffix(' at')} at column {exc.colno}; it begins {start!r}). "
                "The tap's output was cut short (a killed tap) or mixed with other text: fix "
                "the tap's output, or rerun the pipeline; the state saved by the last complete "
                "run is safe to resume from."
            ) from None
        if not isinstance(message, dict):
            raise InvalidInputLine(
                f"Input line {self.line_number} is JSON but not a Singer message object; fix "
                "the tap's output."
            )
        if message.get("type") == "STATE" and not isinstance(message.get("value", {}), dict):
            # The SDK would store any value and write it back as the next bookmark, so a tap
            # resuming from it would crash or, worse, start from scratch.
            raise InvalidInputLine(
                f"Input line {self.line_number} is a STATE message whose value is a "
                f"{type(message['value']).__name__}, not an object of bookmarks; fix the "
                "tap's output. The state saved by the last complete run is kept."
            )
        return message
