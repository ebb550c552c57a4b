// Validate an AsyncAPI document with @asyncapi/parser, the AsyncAPI project's own parser.
// Usage: node asyncapi-check.mjs FILE
// Prints each diagnostic of severity error as "code path: message", one a line, and exits 1 if there is any
// (2 if the file cannot be read); prints nothing and exits 0 for a valid document.
import { readFile } from "node:fs/promises";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const file = process.argv[2];
if (!file) {
  console.error("usage: node asyncapi-check.mjs FILE");
  process.exit(2);
}
let text;
try {
  text = await readFile(file, "utf8");
} catch (err) {
  console.error(`cannot read ${file}: ${err.message}`);
  process.exit(2);
}
const diagnostics = await new Parser().validate(text, { source: file });
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
for (const d of errors) {
  console.log(`${d.code} /${d.path.join("/")}: ${d.message}`);
}
process.exit(errors.length ? 1 : 0);
