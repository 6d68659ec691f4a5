// Lets the conformance suite's 0.2 line run on Node 20: its bundle imports fs.globSync (Node 22+) at the top
// although only the tier-check/sdk commands call it. This loader hook drops that one named import and puts a
// stub that throws in its place; nothing a server scenario runs is changed. Use: node --import ./node20-globsync.mjs
import { register } from "node:module";

if (!("globSync" in (await import("node:fs")))) {
  register(import.meta.url);
}

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (!url.includes("/conformance-sep2640/dist/") || result.source == null) return result;
  let name = null;
  let text = String(result.source).replace(/globSync as (\w+),/, (_, alias) => { name = alias; return ""; });
  if (name) {
    const stub = `const ${name}=()=>{throw new Error("fs.globSync needs Node 22 or later")};`;
    text = text.replace(/^(#!.*\n)?/, (shebang) => (shebang || "") + stub);
  }
  return { ...result, source: text };
}
