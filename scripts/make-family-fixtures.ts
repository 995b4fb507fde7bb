/**
 * Writes the tiny random-weight models in the export layouts of the model families people run (the writer and
 * the FAMILIES table: worker/engine/fixtures/family-fixtures.ts, re-exported here for tests and bench scripts).
 *
 * Run: npx tsx scripts/make-family-fixtures.ts [--out /tmp/triad-family-fixtures] [--family qwen3 ...]
 */
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { DEFAULT_FIXTURES_DIR, FAMILIES, makeFamilyFixture } from "../worker/engine/fixtures/family-fixtures.js";

export * from "../worker/engine/fixtures/family-fixtures.js";

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: { out: { type: "string", default: DEFAULT_FIXTURES_DIR }, family: { type: "string", multiple: true } },
  });
  const chosen = values.family ? FAMILIES.filter((f) => values.family!.includes(f.family)) : FAMILIES;
  for (const fixture of chosen) console.log(await makeFamilyFixture(fixture, values.out));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await cli();
