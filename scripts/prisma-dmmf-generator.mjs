// A Prisma generator (JSON-RPC over stdio, as @prisma/generator-helper speaks it) that writes the
// schema's DMMF to a JSON file. The schema drift test compares the migrated database with it.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import readline from "node:readline";

function reply(id, result) {
  process.stderr.write(JSON.stringify({ jsonrpc: "2.0", id, result }) + "\n");
}

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const request = JSON.parse(line);
  if (request.method === "getManifest") {
    reply(request.id, { manifest: { prettyName: "DMMF snapshot", defaultOutput: "../lib/generated/dmmf.json" } });
  } else if (request.method === "generate") {
    const output = request.params.generator.output.value;
    mkdirSync(path.dirname(output), { recursive: true });
    writeFileSync(output, JSON.stringify(request.params.dmmf.datamodel, null, 1));
    reply(request.id, null);
  }
});
