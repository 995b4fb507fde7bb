#!/usr/bin/env node
// Entry point of the `triad` command: loads the TypeScript CLI through tsx.
import { register } from "tsx/esm/api";

register();
await import("../worker/cli/index.ts");
