"""The one path every tool call takes: validate → policy → confirm if gated → call → shape → audit.

Transports (stdio, SSE, Streamable HTTP) and the `call` command all end up in `ToolService.call`, so a
rule enforced here holds everywhere.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .safety import confirm as confirm_mod
from .safety.audit import AuditLog, now_iso, redact
from .executor import Incomplete, execute
from .safety.policy import Policy
from .safety.previews import PREVIEWS, Preview
from .tools import BY_NAME, ArgumentError, ToolSpec, validate_arguments
from .tools.text import KEPT, prune, result_text

if TYPE_CHECKING:
    from .api import ClientaryClient

log = logging.getLogger("clientary_mcp")

ConfirmMode = Literal["token", "elicit"]
Answer = Literal["accept", "decline", "cancel"]
# Asks the human (through the MCP client) to approve a preview; None when the client cannot be asked.
Elicitor = Callable[[str], Awaitable[Answer]]


@dataclass
class Caller:
    principal: str = "local"
    transport: str = "stdio"
    request_id: str | int | None = None
    elicitor: Elicitor | None = None
    can_elicit_inline: bool = False  # 2026-07-28: ask by returning an input-required result
    confirm_via: str = "elicit"  # how `elicitor` reaches the human, as the audit log records it


@dataclass
class ToolResult:
    """What a call answers: `data` matches the tool's output schema and is only set on success; a failure
    carries its text and, in `error`, its kind (and details) for programs."""

    text: str
    data: dict[str, Any] | None = None
    is_error: bool = False
    unknown_tool: bool = False
    # For 2026-07-28 clients: ask `message`, then expect the call again with the answer and `state`.
    ask: dict[str, str] | None = None
    error: dict[str, Any] | None = None

    @classmethod
    def failure(cls, message: str, kind: str, **details: Any) -> ToolResult:
        return cls(message, is_error=True, error={"kind": kind, "message": message,
                                                  **{k: v for k, v in details.items() if v}})


@dataclass
class _Audit:
    outcome: str = "ok"
    error_kind: str | None = None
    confirm: dict[str, Any] | None = None
    exchanges: list[dict[str, Any]] = field(default_factory=list)


def _success(summary: str, data: dict[str, Any]) -> ToolResult:
    """A successful result, without empty values, and a text block that does not repeat the JSON."""
    data = prune(data, KEPT)
    return ToolResult(result_text(summary, data), data)


class ToolService:
    def __init__(
        self,
        api: Callable[[], ClientaryClient],
        *,
        policy: Policy | None = None,
        sealer: confirm_mod.Sealer,
        audit: AuditLog | None = None,
        confirm_mode: ConfirmMode = "token",
        unconfirmed: frozenset[str] = frozenset(),
    ):
        self.api = api
        self.policy = policy or Policy()
        self.sealer = sealer
        self.audit = audit or AuditLog(None)
        self.confirm_mode = confirm_mode
        self.unconfirmed = unconfirmed
        self.tools: list[ToolSpec] = self.policy.allowed()

    async def call(
        self,
        name: str,
        arguments: Any,
        caller: Caller,
        *,
        answer: Answer | None = None,
        state: str | None = None,
    ) -> ToolResult:
        from .api import trace

        started = time.perf_counter()
        note = _Audit()
        result: ToolResult
        with trace.record() as exchanges:
            try:
                result = await self._call(name, arguments, caller, note, answer, state)
            except Exception as exc:  # a bug must not take the server down or leak a traceback to the agent
                log.exception("tool %s failed unexpectedly", name)
                note.outcome, note.error_kind = "internal_error", type(exc).__name__
                result = ToolResult.failure(f"Internal error in {name} ({type(exc).__name__}). Nothing further "
                                            "was attempted; if this was a change, check the record before "
                                            "retrying.", "internal")
            except BaseException:
                # Cancelled (the client gave up, or the server is stopping): still one record, written before
                # the cancellation goes on. A change may or may not have happened; the exchanges say how far.
                note.outcome, note.error_kind = "interrupted", "cancelled"
                note.exchanges = list(exchanges)
                self._write_audit(name, arguments, caller, note, started)
                raise
            note.exchanges = list(exchanges)
        self._write_audit(name, arguments, caller, note, started)
        return result

    def record_refusal(self, name: str, arguments: Any, caller: Caller, kind: str, started: float) -> None:
        """Audit a call that a layer in front of this service refused (rate limit, shutdown)."""
        self._write_audit(name, arguments, caller, _Audit(outcome="refused", error_kind=kind), started)

    async def _call(self, name: str, arguments: Any, caller: Caller, note: _Audit,
                    answer: Answer | None, state: str | None) -> ToolResult:
        from .api import ClientaryError

        spec = BY_NAME.get(name)
        if spec is None:
            note.outcome = "unknown_tool"
            shown = name if not isinstance(name, str) or len(name) <= 80 else name[:77] + "..."  # never echo megabytes
            result = ToolResult.failure(f"Unknown tool {shown!r}. Call tools/list for the available tools.",
                                        "unknown_tool")
            result.unknown_tool = True
            return result
        disabled = self.policy.why_disabled(spec)
        if disabled:
            note.outcome = "refused"
            return ToolResult.failure(disabled, "disabled")
        try:
            args = validate_arguments(spec, arguments)
        except ArgumentError as exc:
            note.outcome = "validation_error"
            return self._error(str(exc) + ". Fix the arguments and call again; nothing was sent to Clientary.",
                               "invalid_arguments")
        try:
            if spec.kind == "gated" and spec.name not in self.unconfirmed:
                return await self._gated(spec, args, caller, note, answer, state)
            if spec.kind == "gated":
                note.confirm = {"via": "not_required"}
            outcome = await execute(self.api(), spec, args)
            return _success(outcome.summary, outcome.data)
        except ArgumentError as exc:  # a composite tool's check across arguments
            note.outcome = "validation_error"
            return self._error(str(exc) + ". Fix the arguments and call again; nothing was changed.",
                               "invalid_arguments")
        except Incomplete as exc:
            note.outcome, note.error_kind = "partial", "incomplete"
            return ToolResult.failure(result_text(exc.summary, prune(exc.data, KEPT)), "incomplete", **exc.data)
        except ClientaryError as exc:
            note.outcome, note.error_kind = "api_error", exc.kind
            return self._error(exc.message, exc.kind, getattr(exc, "fields", None))
        except confirm_mod.ConfirmationError as exc:
            note.outcome, note.error_kind = "refused", "confirmation"
            return self._error(str(exc) + " Nothing was changed.", "confirmation")

    @staticmethod
    def _error(message: str, kind: str, fields: dict[str, Any] | None = None) -> ToolResult:
        return ToolResult.failure(message, kind, fields=fields)

    # -- confirmation ---------------------------------------------------------------------------

    async def _preview(self, spec: ToolSpec, args: dict[str, Any]) -> tuple[Preview, str]:
        preview = await PREVIEWS[spec.name](self.api(), args)
        return preview, confirm_mod.digest({"effects": preview.effects, "record": preview.record})

    async def _gated(self, spec: ToolSpec, args: dict[str, Any], caller: Caller, note: _Audit,
                     answer: Answer | None, state: str | None) -> ToolResult:
        if "confirm" in args:
            payload = self.sealer.open(args["confirm"], spec.name, args, caller.principal)
            return await self._act(spec, args, note, payload["d"], {"via": "token"}, payload)
        if state is not None:
            return await self._answered(spec, args, caller, note, answer, state)
        preview, digest = await self._preview(spec, args)
        note.confirm = {"preview_digest": digest}
        if self.confirm_mode == "elicit" and caller.elicitor is not None:
            try:
                reply: Answer | None = await caller.elicitor(preview.summary)
            except Exception:  # the client could not ask after all: fall back to the token round trip
                log.warning("elicitation failed for %s; answering with a preview token", spec.name, exc_info=True)
                reply = None
            if reply is not None and reply != "accept":
                return self._declined(note, digest, reply, caller.confirm_via)
            if reply == "accept":
                return await self._act(spec, args, note, digest, {"via": caller.confirm_via})
        if self.confirm_mode == "elicit" and caller.can_elicit_inline:
            note.outcome = "input_required"
            sealed = self.sealer.seal_state({"t": spec.name, "a": confirm_mod.args_digest(args),
                                             "p": caller.principal, "d": digest,
                                             "e": self.sealer.clock() + self.sealer.ttl})
            return ToolResult(preview.summary, ask={"message": preview.summary, "state": sealed})
        token, expires = self.sealer.mint(spec.name, args, caller.principal, digest)
        note.outcome = "preview"
        data = {"status": "preview", "summary": preview.summary, "effects": preview.effects,
                "record": preview.record, "confirm_token": token,
                "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))}
        text = (f"PREVIEW — nothing was done. {preview.summary}\nTo go ahead, call {spec.name} again with the same "
                f"arguments plus confirm: \"{token}\" (valid {int(self.sealer.ttl // 60)} min, once). "
                "Ask the user first.")
        return ToolResult(text, data)

    async def _answered(self, spec: ToolSpec, args: dict[str, Any], caller: Caller, note: _Audit,
                        answer: Answer | None, state: str) -> ToolResult:
        opened = self.sealer.open_state(state)
        valid = (opened is not None and opened.get("t") == spec.name and opened.get("p") == caller.principal
                 and opened.get("a") == confirm_mod.args_digest(args) and self.sealer.clock() <= opened.get("e", 0))
        if not valid:
            raise confirm_mod.ConfirmationError("The confirmation state is invalid or expired. "
                                                f"Call {spec.name} again to be asked afresh.")
        assert opened is not None
        if answer != "accept":
            return self._declined(note, opened["d"], answer or "cancel")
        return await self._act(spec, args, note, opened["d"], {"via": "elicit"})

    def _declined(self, note: _Audit, digest: str, reply: str, via: str = "elicit") -> ToolResult:
        note.outcome = "declined"
        note.confirm = {"preview_digest": digest, "via": via, "answer": reply}
        text = f"The user {reply}d the request (nothing was done)." if reply == "decline" else \
            "The confirmation was cancelled (nothing was done)."
        return ToolResult(text, {"status": "declined", "summary": text})

    async def _act(self, spec: ToolSpec, args: dict[str, Any], note: _Audit, digest: str,
                   how: dict[str, Any], payload: dict[str, Any] | None = None) -> ToolResult:
        # Re-read what would happen: a token confirms the state that was previewed, not whatever is there now.
        _, current = await self._preview(spec, args)
        note.confirm = {"preview_digest": digest, **how}
        if current != digest:
            raise confirm_mod.ConfirmationError("The account changed since the preview (the record or what "
                                                "cascades with it is different).")
        if payload is not None:
            self.sealer.spend(payload)
        outcome = await execute(self.api(), spec, {k: v for k, v in args.items() if k != "confirm"})
        note.outcome = "confirmed"
        return _success(outcome.summary, outcome.data)

    # -- audit ----------------------------------------------------------------------------------

    def _write_audit(self, name: str, arguments: Any, caller: Caller, note: _Audit, started: float) -> None:
        spec = BY_NAME.get(name)
        record: dict[str, Any] = {
            "ts": now_iso(),
            "principal": caller.principal,
            "transport": caller.transport,
            "request_id": caller.request_id,
            "tool": name[:100] if isinstance(name, str) else repr(name)[:100],
            "kind": spec.kind if spec else None,
            "args": redact(arguments) if isinstance(arguments, dict) else redact({"value": arguments})["value"],
            "outcome": note.outcome,
            "error_kind": note.error_kind,
            "http": [{k: e.get(k) for k in ("method", "path", "status", "ms")} for e in note.exchanges],
            "ms": round((time.perf_counter() - started) * 1000, 2),
        }
        if note.confirm:
            record["confirm"] = note.confirm
        if log.isEnabledFor(logging.DEBUG):
            calls = ", ".join(f"{h['method']} {h['path']} {h['status']}" for h in record["http"]) or "no API request"
            log.debug("%s by %s/%s: %s in %s ms (%s)", record["tool"], caller.principal, caller.transport,
                      note.outcome, record["ms"], calls)
        self.audit.write(record)
