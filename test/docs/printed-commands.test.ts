import { expect } from "chai";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import hre from "hardhat";
import { describe, it } from "mocha";
import { buildProgram } from "../../worker/cli/program.js";
import { defaultModelsDir, repoRoot } from "../../worker/paths.js";

/**
 * Every command line the README and docs/ print must work as printed: each `npx triad ...` and
 * `npx hardhat triad ...` names a command that exists and only options that command takes, and the printed
 * `npx triad` entry point itself runs (npm does not link a package's own bin; `npm install` does, in `prepare`).
 */
const documents = ["README.md", ...readdirSync(path.join(repoRoot, "docs")).map((f) => path.join("docs", f))].filter((f) =>
  f.endsWith(".md"),
);

interface PrintedCommand {
  source: string;
  words: string[];
}

/** Command lines from code blocks and inline code, with `[optional]` brackets opened and `a|b` alternatives split. */
function printedCommands(prefix: "npx triad" | "npx hardhat triad"): PrintedCommand[] {
  const found: PrintedCommand[] = [];
  for (const document of documents) {
    const text = readFileSync(path.join(repoRoot, document), "utf8");
    const pattern = new RegExp(`${prefix.replace(/ /g, "\\s+")}\\s[^\`\\n#]*`, "g");
    for (const match of text.matchAll(pattern)) {
      const line = match[0].replace(/[[\]]/g, " ").trim();
      found.push({ source: `${document}: ${line}`, words: shellWords(line).slice(prefix.split(" ").length) });
    }
  }
  return found;
}

function shellWords(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** Leading words that are not options or placeholders: the command path (`task submit`, `node pause|resume`). */
function commandPath(words: string[]): string[][] {
  const pathWords: string[] = [];
  for (const word of words) {
    if (word.startsWith("-") || /[A-Z.…<>]/.test(word) || word === "connection:") break;
    pathWords.push(word);
  }
  // `node pause|resume|quit` is three commands.
  const last = pathWords.at(-1);
  if (!last?.includes("|")) return [pathWords];
  return last.split("|").map((alternative) => [...pathWords.slice(0, -1), alternative]);
}

function flags(words: string[]): string[] {
  return words.filter((w) => /^--[a-z]/.test(w)).map((w) => w.split("=")[0]!.split("|")[0]!);
}

function findCommand(program: Command, names: string[]): Command | undefined {
  let command: Command | undefined = program;
  for (const name of names) command = command?.commands.find((c) => c.name() === name);
  return command;
}

describe("docs: every printed command works as printed", function () {
  this.timeout(120_000);

  it("finds the printed commands (the extraction itself works)", function () {
    expect(printedCommands("npx triad").length).to.be.greaterThan(10);
    expect(printedCommands("npx hardhat triad").length).to.be.greaterThan(10);
  });

  it("each `npx triad` line names an existing command and only its options", function () {
    const program = buildProgram();
    const problems: string[] = [];
    for (const { source, words } of printedCommands("npx triad")) {
      for (const names of commandPath(words)) {
        if (names.length === 0) continue; // `npx triad <command>`
        const command = findCommand(program, names);
        if (!command || command === program) {
          problems.push(`${source}: no command "${names.join(" ")}"`);
          continue;
        }
        const known = new Set(command.options.flatMap((o) => [o.long, o.negate ? o.long : undefined]).filter(Boolean));
        for (const flag of flags(words))
          if (!known.has(flag) && flag !== "--help") problems.push(`${source}: "${names.join(" ")}" has no ${flag}`);
      }
    }
    expect(problems).to.deep.equal([]);
  });

  it("each `npx hardhat triad` line names an existing Hardhat task and only its options", function () {
    const problems: string[] = [];
    for (const { source, words } of printedCommands("npx hardhat triad")) {
      for (const names of commandPath(words)) {
        let options: Map<string, unknown>;
        try {
          options = hre.tasks.getTask(["triad", ...names]).options;
        } catch {
          problems.push(`${source}: no Hardhat task "triad ${names.join(" ")}"`);
          continue;
        }
        for (const flag of flags(words)) {
          const name = flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
          if (!options.has(name) && flag !== "--network") problems.push(`${source}: "triad ${names.join(" ")}" has no ${flag}`);
        }
      }
    }
    expect(problems).to.deep.equal([]);
  });

  it("`npx triad` runs from the project folder: run-task prints the example's canonical response", async function () {
    const { stdout, stderr } = await npx(["triad", "run-task", "examples/beam-search.json", "--models-dir", defaultModelsDir()]);
    expect(JSON.parse(stdout).choices).to.have.length.greaterThan(0);
    expect(stderr).to.match(/resultHash 0x[0-9a-f]{64}/);
  });
});

function npx(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // The tests already run on Node >= 22, so plain npx resolves node_modules/.bin/triad as a user's shell would.
    // Drop the npm_* variables of the npm that started the tests (`npx -p node@22` would be asked for again).
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith("npm_")));
    env.PATH = `${path.dirname(process.execPath)}:${process.env.PATH}`;
    execFile("npx", ["--no-install", ...args], { cwd: repoRoot, env }, (error, stdout, stderr) =>
      error ? reject(new Error(`npx ${args.join(" ")} failed: ${stderr}`)) : resolve({ stdout, stderr }),
    );
  });
}
