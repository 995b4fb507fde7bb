import { expect } from "chai";
import { describe, it } from "mocha";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { EngineFault, GptEngine } from "../../worker/engine/index.js";
import { MODEL, modelDir, modelsDir, repoRoot, run, task } from "./helpers.js";

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(repoRoot, "bin/triad.js"), "run-task", ...args], { cwd: repoRoot }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code) : 0, stdout, stderr });
    });
  });
}

describe("engine: run-task command line", function () {
  this.timeout(60_000);

  it("an invalid task exits 2 with the validation message and no stack trace", async function () {
    const { code, stdout, stderr } = await runCli([path.join(repoRoot, "examples/invalid.json"), "--models-dir", modelsDir]);
    expect(code).to.equal(2);
    expect(stderr).to.include('invalid task: $.messages[0].role: must be one of "system", "user", "assistant"');
    expect(stderr).to.include("$.generation_config.num_return_sequences: must be <= num_beams (2)");
    expect(stderr).not.to.match(/\n\s+at /);
    expect(JSON.parse(stdout).error.code).to.equal("invalid_task");
  });

  it("a valid task prints canonical JSON on stdout, hash and provenance on stderr", async function () {
    const { code, stdout, stderr } = await runCli([
      path.join(repoRoot, "examples/greedy.json"),
      "--models-dir",
      modelsDir,
      "--threads",
      "1",
    ]);
    expect(code).to.equal(0);
    expect(stdout).to.match(/^\{"choices":\[\{"finish_reason":"length","index":0,"message":\{"content":", there was a little girl/);
    expect(stderr).to.match(/resultHash 0x[0-9a-f]{64}/);
    expect(stderr).to.match(/provenance \{.*"intraOpThreads":1/);
  });

  it("a bad --threads value is refused", async function () {
    const { code, stderr } = await runCli([path.join(repoRoot, "examples/greedy.json"), "--threads", "0"]);
    expect(code).not.to.equal(0);
    expect(stderr).to.include("must be a positive integer");
  });
});

describe("engine: local faults", function () {
  it("a corrupt ONNX file rejects with EngineFault (the node must not commit)", async function () {
    const dir = await mkdtemp(path.join(os.tmpdir(), "triad-corrupt-"));
    try {
      const target = path.join(dir, MODEL);
      await mkdir(path.join(target, "onnx"), { recursive: true });
      for (const entry of await readdir(modelDir)) {
        if (entry !== "onnx") await symlink(path.join(modelDir, entry), path.join(target, entry));
      }
      await writeFile(path.join(target, "onnx", "model.onnx"), "not an onnx model");
      const engine = new GptEngine({ modelsDir: dir });
      let failure: unknown;
      await run(engine, task()).catch((error) => (failure = error));
      expect(failure).to.be.instanceOf(EngineFault);
      await engine.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
