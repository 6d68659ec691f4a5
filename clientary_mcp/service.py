"""The one path every tool call takes: validate → policy → confirm if gated → call → shape → audit.

Transports (stdio, SSE, Streamable HTTP) and the `call` command all end up in `ToolService.call`, so a
rule enforced here holds everywhere. For a call that can change something, the record of the intent is
written (and fsynced) before the request goes out, and the outcome follows as a second record linked to
it; a call whose record cannot be written sends nothing (or, for a read, withholds the answer). A
confirmation token or input-required state is claimed in the state store before anything is sent, so
each acts once, whichever process or replica receives it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from .safety import confirm as confirm_mod
from .safety.audit import AuditError, AuditLog, now_iso, redact
from .executor import Incomplete, execute
from .safety.policy import Policy
from .safety.previews import PREVIEWS, Preview
from .state import StateStore, StoreUnavailable, open_store
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
    intent: int | None = None  # seq of the intent record, once one was written


class _Refused(Exception):
    """A call refused before anything was sent: `kind` for the record, `message` for the agent."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


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
        store: StateStore | None = None,
    ):
        self.api = api
        self.policy = policy or Policy()
        self.sealer = sealer
        self.audit = audit or AuditLog(None)
        self.confirm_mode = confirm_mode
        self.unconfirmed = unconfirmed
        self.store = store if store is not None else open_store()
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
                # Cancelled (the client gave up, or the server is stopping): still a record, written before
                # the cancellation goes on. A change may or may not have happened; the exchanges say how far.
                note.outcome, note.error_kind = "interrupted", "cancelled"
                note.exchanges = list(exchanges)
                with contextlib.suppress(AuditError):
                    self.audit.write(self._record(name, arguments, caller, note, started))
                raise
            note.exchanges = list(exchanges)
        try:
            await self.audit.awrite(self._record(name, arguments, caller, note, started))
        except AuditError as exc:
            return self._unrecorded(result, note, str(exc))
        return result

    def _unrecorded(self, result: ToolResult, note: _Audit, why: str) -> ToolResult:
        """The call's (last) record could not be written: say so, and never hand out unaudited data."""
        if note.intent is not None and note.outcome in ("ok", "confirmed"):
            warning = (f"WARNING: the change WAS made, but its outcome could not be added to the audit log: {why}. "
                       f"The record of the intent (seq {note.intent}) is there. Do not repeat this call.")
            return replace(result, text=warning + "\n" + result.text)
        if note.intent is not None:
            return replace(result, text=result.text + f"\n(Its outcome could not be added to the audit log: {why}.)")
        self.audit.refused()
        if result.is_error:  # nothing to withhold; the error stands, and says the record is missing
            if note.error_kind == "audit_unavailable":
                return result
            return replace(result, text=result.text + f"\n(This call's record could not be written: {why}.)")
        message = (f"Refused: {why}, and every call must leave its record. The answer is withheld and nothing was "
                   "changed. Call again once the operator has made room for the audit log.")
        return replace(ToolResult.failure(message, "audit_unavailable"), unknown_tool=result.unknown_tool)

    def record_refusal(self, name: str, arguments: Any, caller: Caller, kind: str, started: float) -> None:
        """Audit a call that a layer in front of this service refused (rate limit, shutdown)."""
        with contextlib.suppress(AuditError):  # the refusal stands either way; nothing was sent
            self.audit.write(self._record(name, arguments, caller, _Audit(outcome="refused", error_kind=kind),
                                          started))

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
            if spec.kind != "read":
                await self._intent(spec, args, caller, note)
            outcome = await execute(self.api(), spec, args)
            return _success(outcome.summary, outcome.data)
        except _Refused as exc:
            note.outcome, note.error_kind = "refused", exc.kind
            return self._error(exc.message, exc.kind)
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
        return preview, confirm_mod.digest({"effects": preview.effects, "record": preview.record, "ids": preview.ids})

    async def _gated(self, spec: ToolSpec, args: dict[str, Any], caller: Caller, note: _Audit,
                     answer: Answer | None, state: str | None) -> ToolResult:
        if "confirm" in args:
            payload = self.sealer.open(args["confirm"], spec.name, args, caller.principal)
            note.confirm = {"preview_digest": payload["d"], "via": "token"}
            await self._claim(spec, payload)
            return await self._act(spec, args, caller, note, payload["d"], {"via": "token"})
        if state is not None:
            if self.confirm_mode != "elicit":
                # Token mode never asks through input requests, so no state of ours can be pending here.
                raise confirm_mod.ConfirmationError(
                    f"This server confirms {spec.name} with a preview token, not an input-required question, so "
                    f"it does not accept a requestState. Call {spec.name} without it to get a preview.")
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
                return await self._act(spec, args, caller, note, digest, {"via": caller.confirm_via})
        if self.confirm_mode == "elicit" and caller.can_elicit_inline:
            note.outcome = "input_required"
            sealed = self.sealer.seal_state(spec.name, args, caller.principal, digest)
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
        opened = self.sealer.open_state(state, spec.name, args, caller.principal)
        note.confirm = {"preview_digest": opened["d"], "via": "elicit"}
        await self._claim(spec, opened)  # an answered question is spent, whatever the answer
        if answer != "accept":
            return self._declined(note, opened["d"], answer or "cancel")
        return await self._act(spec, args, caller, note, opened["d"], {"via": "elicit"})

    async def _claim(self, spec: ToolSpec, payload: dict[str, Any]) -> None:
        """Spend a token or state before anything is sent: exactly one of any number of callers gets on."""
        what = "confirmation token" if payload.get("u") == confirm_mod.TOKEN else "confirmation question"
        try:
            first = await self.store.claim(f"confirm:{payload.get('u')}:{payload['n']}",
                                           self.sealer.claim_ttl(payload))
        except StoreUnavailable as exc:
            raise _Refused("store_unavailable", f"Refused: {exc}, so this {what} cannot be checked for single "
                           "use. Nothing was sent to Clientary; try again shortly.") from None
        if not first:
            raise confirm_mod.ConfirmationError(f"This {what} was already used (each acts once). "
                                                f"Call {spec.name} without `confirm` for a fresh preview.")

    async def _intent(self, spec: ToolSpec, args: dict[str, Any], caller: Caller, note: _Audit) -> None:
        """Write (and fsync) the record of what is about to be sent; refuse the call if it cannot be written."""
        if not self.audit.enabled:
            return
        record = {"ts": now_iso(), "phase": "intent", "principal": caller.principal, "transport": caller.transport,
                  "request_id": caller.request_id, "tool": spec.name, "kind": spec.kind, "args": redact(args)}
        if note.confirm:
            record["confirm"] = note.confirm
        try:
            written = await self.audit.awrite(record, sync=True)  # on disk before the request goes out
        except AuditError as exc:
            raise _Refused("audit_unavailable", f"Refused: {exc}, and a change is only made once its record is "
                           "written. Nothing was sent to Clientary and nothing changed; call again once the "
                           "operator has made room for the audit log.") from None
        note.intent = written.get("seq")

    def _declined(self, note: _Audit, digest: str, reply: str, via: str = "elicit") -> ToolResult:
        note.outcome = "declined"
        note.confirm = {"preview_digest": digest, "via": via, "answer": reply}
        text = f"The user {reply}d the request (nothing was done)." if reply == "decline" else \
            "The confirmation was cancelled (nothing was done)."
        return ToolResult(text, {"status": "declined", "summary": text})

    async def _act(self, spec: ToolSpec, args: dict[str, Any], caller: Caller, note: _Audit, digest: str,
                   how: dict[str, Any]) -> ToolResult:
        # Re-read what would happen: a token confirms the state that was previewed, not whatever is there now.
        _, current = await self._preview(spec, args)
        note.confirm = {"preview_digest": digest, **how}
        if current != digest:
            raise confirm_mod.ConfirmationError("The account changed since the preview (the record or what "
                                                "cascades with it is different).")
        await self._intent(spec, args, caller, note)
        outcome = await execute(self.api(), spec, {k: v for k, v in args.items() if k != "confirm"})
        note.outcome = "confirmed"
        return _success(outcome.summary, outcome.data)

    # -- audit ----------------------------------------------------------------------------------

    def _record(self, name: str, arguments: Any, caller: Caller, note: _Audit, started: float) -> dict[str, Any]:
        spec = BY_NAME.get(name)
        record: dict[str, Any] = {
            "ts": now_iso(),
            "principal": caller.principal,
            "transport": caller.transport,
            "request_id": caller.request_id,
            "tool": name[:100] if isinstance(name, str) else repr(name)[:100],
            "kind": spec.kind if spec else None,
        }
        if note.intent is not None:  # the arguments are in the intent record
            record = {"ts": record["ts"], "phase": "outcome", "intent": note.intent, **record}
        else:
            record["args"] = redact(arguments) if isinstance(arguments, dict) else redact({"value": arguments})["value"]
        record.update({
            "outcome": note.outcome,
            "error_kind": note.error_kind,
            "http": [{k: e.get(k) for k in ("method", "path", "status", "ms")} for e in note.exchanges],
            "ms": round((time.perf_counter() - started) * 1000, 2),
        })
        if note.confirm:
            record["confirm"] = note.confirm
        if log.isEnabledFor(logging.DEBUG):
            calls = ", ".join(f"{h['method']} {h['path']} {h['status']}" for h in record["http"]) or "no API request"
            log.debug("%s by %s/%s: %s in %s ms (%s)", record["tool"], caller.principal, caller.transport,
                      note.outcome, record["ms"], calls)
        return record
