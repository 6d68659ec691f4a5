// Drives clientary-mcp with an official TypeScript SDK client, the one hosts embed.
//
//   node interop.mjs <plan.json>
//
// The plan names the SDK package (`@modelcontextprotocol/sdk` or `mcp-sdk-1-12`), the transport
// (`{"stdio": {"command", "args", "env"}}` or `{"http": "<url>"}`) and the calls to make, in order. An
// argument `{"$token": "<label>"}` is replaced by the confirm_token of the earlier call with that label.
// Prints one JSON object: the negotiated protocol version, the listed tools, and per call whether the
// client resolved it (and with what) or threw (and what) — a throw is what a host shows instead of our text.

import { readFileSync } from "node:fs";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const sdk = plan.sdk;
const { Client } = await import(`${sdk}/client/index.js`);

let transport;
if (plan.transport.stdio) {
  const { StdioClientTransport } = await import(`${sdk}/client/stdio.js`);
  const { command, args, env } = plan.transport.stdio;
  transport = new StdioClientTransport({ command, args, env, stderr: "pipe" });
} else {
  const { StreamableHTTPClientTransport } = await import(`${sdk}/client/streamableHttp.js`);
  transport = new StreamableHTTPClientTransport(new URL(plan.transport.http));
}

// The initialize result passes through here; the client keeps no public copy of its protocolVersion.
let negotiated = null;
const start = transport.start.bind(transport);
transport.start = async () => {
  const deliver = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if (message?.result?.protocolVersion && negotiated === null) negotiated = message.result.protocolVersion;
    deliver?.(message, extra);
  };
  return start();
};

const client = new Client({ name: "clientary-interop", version: "1.0.0" }, { capabilities: {} });
const report = { sdk, negotiated: null, server: null, tools: [], calls: [] };
try {
  await client.connect(transport);
  report.negotiated = negotiated;
  report.server = client.getServerVersion();
  const listed = await client.listTools();
  report.tools = listed.tools.map((t) => ({ name: t.name, hasOutputSchema: Boolean(t.outputSchema) }));

  const byLabel = {};
  for (const call of plan.calls) {
    const args = substitute(call.arguments, byLabel);
    const entry = { label: call.label, name: call.name };
    try {
      const result = await client.callTool({ name: call.name, arguments: args });
      entry.resolved = true;
      entry.isError = Boolean(result.isError);
      entry.text = (result.content || []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
      entry.structuredContent = result.structuredContent ?? null;
      entry.meta = result._meta ?? null;
    } catch (error) {
      entry.resolved = false;
      entry.threw = `${error?.constructor?.name}: ${error?.message}`;
    }
    byLabel[call.label] = entry;
    report.calls.push(entry);
  }
} catch (error) {
  report.fatal = `${error?.constructor?.name}: ${error?.message}`;
} finally {
  await client.close().catch(() => {});
}
process.stdout.write(JSON.stringify(report) + "\n");

function substitute(value, byLabel) {
  if (Array.isArray(value)) return value.map((v) => substitute(v, byLabel));
  if (value && typeof value === "object") {
    if ("$token" in value) return byLabel[value.$token]?.structuredContent?.confirm_token ?? "missing-token";
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, byLabel)]));
  }
  return value;
}
