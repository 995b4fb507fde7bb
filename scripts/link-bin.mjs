#!/usr/bin/env node
// npm links the `bin` of dependencies into node_modules/.bin, never the package's own. Link `triad` there so
// `npx triad ...` works in a fresh clone after `npm install` (run by the `prepare` script).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const binDir = path.join(root, "node_modules", ".bin");
const link = path.join(binDir, "triad");
fs.mkdirSync(binDir, { recursive: true });
fs.rmSync(link, { force: true });
fs.symlinkSync(path.relative(binDir, path.join(root, "bin", "triad.js")), link);
fs.chmodSync(path.join(root, "bin", "triad.js"), 0o755);
