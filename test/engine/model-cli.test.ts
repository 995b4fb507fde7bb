import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "mocha";
import { computeManifest, manifestDigest, type ModelManifest } from "../../worker/engine/index.js";
import { MODEL, modelDir, modelsDir, repoRoot } from "./helpers.js";
import { startHubMirror, type HubMirror } from "./hub-mirror.js";

const COMMIT = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

function triad(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(repoRoot, "bin/triad.js"), ...args],
      { cwd: repoRoot, env: { ...process.env, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code) : 0, stdout, stderr }),
    );
  });
}

describe("triad model manifest | pull", function () {
  this.timeout(120_000);
  let hub: HubMirror;
  let cacheDir: string;
  let manifest: ModelManifest;

  before(async function () {
    hub = await startHubMirror([{ id: `mirror/${MODEL}`, dir: modelDir, commit: COMMIT }]);
    cacheDir = mkdtempSync(path.join(os.tmpdir(), "triad-pull-"));
    manifest = await computeManifest(modelDir);
  });
  after(async function () {
    await hub.close();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it("manifest prints the files the engine reads with sha256 and size, and the digest governance registers", async function () {
    const byId = await triad(["model", "manifest", MODEL, "--models-dir", modelsDir]);
    expect(byId.code, byId.stderr).to.equal(0);
    const printed = JSON.parse(byId.stdout) as ModelManifest;
    expect(printed).to.deep.equal(manifest);
    expect(Object.keys(printed.files)).to.deep.equal([
      "config.json",
      "generation_config.json",
      "onnx/model.onnx",
      "onnx/model_fp16.onnx",
      "onnx/model_q4.onnx",
      "onnx/model_quantized.onnx",
      "tokenizer.json",
      "tokenizer_config.json",
    ]);
    expect(byId.stderr).to.contain(`digest ${manifestDigest(manifest)}`);
    // What governance registers besides the digest: the variants present and the one dtype auto runs.
    expect(byId.stderr).to.contain("variants fp32,fp16,q8,q4\n");
    expect(byId.stderr).to.contain("auto fp32\n");
    expect(byId.stderr).to.contain("register with: --vram fp32=GB,fp16=GB,q8=GB,q4=GB --auto fp32");
    const q4 = await triad(["model", "manifest", MODEL, "--models-dir", modelsDir, "--variants", "q4,fp32"]);
    expect(Object.keys(JSON.parse(q4.stdout).files)).to.deep.equal([
      "config.json",
      "generation_config.json",
      "onnx/model.onnx",
      "onnx/model_q4.onnx",
      "tokenizer.json",
      "tokenizer_config.json",
    ]);
    expect(q4.stderr).to.contain("variants fp32,q4\n");
    const q4Only = await triad(["model", "manifest", MODEL, "--models-dir", modelsDir, "--variants", "q4"]);
    expect(q4Only.stderr).to.contain("auto fp32 (not in this manifest: tasks with dtype auto could not run)");
    const badVariant = await triad(["model", "manifest", MODEL, "--variants", "int3"]);
    expect(badVariant.code).not.to.equal(0);
    expect(badVariant.stderr).to.contain("unknown variant int3");
    const byDir = await triad(["model", "manifest", modelDir]);
    expect(byDir.stdout).to.equal(byId.stdout);
    const missing = await triad(["model", "manifest", "no-such-model", "--models-dir", modelsDir]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.contain("is neither a folder nor a model");
  });

  it("pull fetches every file of the manifest at the revision, verifies it, and refuses a bad manifest file", async function () {
    const manifestFile = path.join(cacheDir, "manifest.json");
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const models = path.join(cacheDir, "models");
    const pulled = await triad(
      ["model", "pull", `mirror/${MODEL}`, "--revision", COMMIT, "--manifest", manifestFile, "--models-dir", models],
      {
        HF_ENDPOINT: hub.url,
      },
    );
    expect(pulled.code, pulled.stderr).to.equal(0);
    expect(pulled.stderr).to.contain(`pulled mirror/${MODEL} at ${COMMIT}: 8 files downloaded`);
    expect(pulled.stderr).to.contain(`digest ${manifestDigest(manifest)}`);
    for (const file of Object.keys(manifest.files)) {
      expect(readFileSync(path.join(models, "mirror", MODEL, file)), file).to.deep.equal(readFileSync(path.join(modelDir, file)));
    }
    expect(hub.requests.every((r) => r.url.includes(`/resolve/${COMMIT}/`) || r.url.startsWith(`/cdn/`))).to.equal(true);

    writeFileSync(manifestFile, JSON.stringify({ files: { "config.json": { sha256: "xyz", size: 1 } } }));
    const bad = await triad(["model", "pull", `mirror/${MODEL}`, "--manifest", manifestFile, "--models-dir", models]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('$.files["config.json"].sha256: must be 64 lowercase hex digits');
  });

  it("pull of a tampered local copy fails naming the file", async function () {
    const models = path.join(cacheDir, "tampered");
    const manifestFile = path.join(cacheDir, "manifest2.json");
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const args = ["model", "pull", `mirror/${MODEL}`, "--revision", COMMIT, "--manifest", manifestFile, "--models-dir", models];
    expect((await triad(args, { HF_ENDPOINT: hub.url })).code).to.equal(0);
    const tokenizer = path.join(models, "mirror", MODEL, "tokenizer_config.json");
    writeFileSync(tokenizer, readFileSync(tokenizer, "utf8").replace("<s>", "<S>"));
    const again = await triad(args, { HF_ENDPOINT: hub.url });
    expect(again.code).to.equal(1);
    expect(again.stderr).to.match(/tokenizer_config\.json: sha256 [0-9a-f]{64}, the manifest says/);
  });
});
