import { expect } from "chai";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, afterEach, before, beforeEach, describe, it } from "mocha";
import pino from "pino";
import { makeRandomLlama } from "../../scripts/make-random-llama.js";
import {
  EngineFault,
  GptEngine,
  HubFileMissing,
  HubIntegrityError,
  ModelMismatch,
  canonicalManifest,
  computeManifest,
  downloadFromHub,
  manifestDigest,
  progressLogLines,
  pullModel,
  verifyModelDir,
  type DownloadProgress,
  type ModelManifest,
  type PinnedModel,
} from "../../worker/engine/index.js";
import { MODEL, modelDir as storiesDir, modelsDir, run, task } from "./helpers.js";
import { startHubMirror, type HubMirror } from "./hub-mirror.js";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const OTHER_COMMIT = "fedcba9876543210fedcba9876543210fedcba98";
const TINY = "mirror/tiny";

/** A random-weight Llama small enough to build in milliseconds, with external weights and two stop ids. */
const TINY_LLAMA = { hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 64, vocab: 512, context: 64 };

describe("engine: models from the hub (a local mirror with the hub's URL layout and headers)", function () {
  this.timeout(60_000);
  let fixtures: string;
  let tinyDir: string;
  let hub: HubMirror;
  let cacheDir: string;
  const previousEndpoint = process.env.HF_ENDPOINT;

  before(async function () {
    fixtures = mkdtempSync(path.join(os.tmpdir(), "triad-hub-fixtures-"));
    // External weights (onnx/model.onnx_data) and a generation_config.json with two stop ids: the files the hub
    // download used to skip.
    tinyDir = await makeRandomLlama({
      ...TINY_LLAMA,
      outDir: fixtures,
      name: "tiny",
      seed: 3,
    });
  });
  after(() => rmSync(fixtures, { recursive: true, force: true }));

  beforeEach(async function () {
    hub = await startHubMirror([
      { id: TINY, dir: tinyDir, commit: COMMIT },
      { id: `mirror/${MODEL}`, dir: storiesDir, commit: OTHER_COMMIT },
    ]);
    process.env.HF_ENDPOINT = hub.url;
    cacheDir = mkdtempSync(path.join(os.tmpdir(), "triad-hub-"));
  });
  afterEach(async function () {
    await hub.close();
    if (previousEndpoint === undefined) delete process.env.HF_ENDPOINT;
    else process.env.HF_ENDPOINT = previousEndpoint;
    rmSync(cacheDir, { recursive: true, force: true });
  });

  /** Requests for a file: to the hub's resolve URL and, for LFS files, to the CDN it redirects to. */
  const fileRequests = (file: string) => hub.requests.filter((r) => r.url.endsWith(`/${file}`));
  const resolveRequests = (file: string) => fileRequests(file).filter((r) => r.url.includes("/resolve/"));

  it("downloads a missing model once, the optional files too, and gives the same result as the local copy", async function () {
    const local = new GptEngine({ modelsDir });
    const remote = new GptEngine({ modelsDir: cacheDir, allowRemoteModels: true });
    try {
      const expected = await run(local, task());
      const downloaded = await run(remote, task({ model: `mirror/${MODEL}` }));
      expect(downloaded.kind).to.equal("response");
      expect(JSON.parse(downloaded.canonicalJson).choices).to.deep.equal(JSON.parse(expected.canonicalJson).choices);
      // stories260K's generation_config.json stops on [1, 2]; config.json alone says 2: without it the output differs.
      expect(readFileSync(path.join(cacheDir, "mirror", MODEL, "generation_config.json"))).to.deep.equal(
        readFileSync(path.join(storiesDir, "generation_config.json")),
      );
      expect(resolveRequests("onnx/model.onnx")).to.have.length(1);
      expect(fileRequests("onnx/model.onnx").map((r) => r.url)).to.include(`/cdn/mirror/${MODEL}/${OTHER_COMMIT}/onnx/model.onnx`);

      const again = new GptEngine({ modelsDir: cacheDir, allowRemoteModels: true });
      const before = hub.requests.length;
      await run(again, task({ model: `mirror/${MODEL}` }));
      await again.close();
      expect(hub.requests.length, "the second engine reads the downloaded files").to.equal(before);
    } finally {
      await local.close();
      await remote.close();
    }
  });

  it("fetches external weights (model.onnx_data) and generation_config.json, by the pinned revision", async function () {
    const manifest = await computeManifest(tinyDir);
    expect(Object.keys(manifest.files)).to.include.members(["generation_config.json", "onnx/model.onnx", "onnx/model.onnx_data"]);
    // The worker's path: the engine has a logger, so download progress goes there as lines (no progress bar).
    const lines: { msg: string; file?: string }[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const engine = new GptEngine({
      modelsDir: cacheDir,
      allowRemoteModels: true,
      logger,
      pinnedModel: () => ({ digest: manifestDigest(manifest), manifest, revision: COMMIT }),
    });
    const reference = new GptEngine({ modelsDir: fixtures });
    try {
      const outcome = await run(engine, task({ model: TINY, generation_config: { max_new_tokens: 6 } }));
      const expected = await run(reference, task({ model: "tiny", generation_config: { max_new_tokens: 6 } }));
      expect(outcome.document).to.deep.equal({ ...expected.document, model: TINY });
      for (const file of Object.keys(manifest.files)) {
        expect(readFileSync(path.join(cacheDir, TINY, file)), file).to.deep.equal(readFileSync(path.join(tinyDir, file)));
      }
      expect(hub.requests.every((r) => r.url.includes(`/resolve/${COMMIT}/`) || r.url.startsWith(`/cdn/`))).to.equal(true);
      expect(outcome.provenance).to.include({ modelDigest: manifestDigest(manifest), modelPinned: true, modelRevision: COMMIT });
      const downloadedLines = lines.filter((l) => l.msg === "model file downloaded").map((l) => l.file);
      expect(downloadedLines).to.have.members([
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "generation_config.json",
        "onnx/model.onnx",
        "onnx/model.onnx_data",
      ]);
    } finally {
      await engine.close();
      await reference.close();
    }
  });

  it("a file whose sha256 differs from the manifest is refused (HubIntegrityError naming it) and not kept", async function () {
    const manifest = await computeManifest(tinyDir);
    const bytes = readFileSync(path.join(tinyDir, "onnx/model.onnx_data"));
    const tampered = Buffer.from(bytes);
    tampered[100] ^= 1;
    hub.tampered.set("onnx/model.onnx_data", tampered);
    let error: unknown;
    await pullModel(TINY, cacheDir, { revision: COMMIT, manifest }).catch((e) => (error = e));
    expect(error).to.be.instanceOf(HubIntegrityError);
    expect((error as HubIntegrityError).file).to.equal("onnx/model.onnx_data");
    expect(String(error)).to.match(/sha256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}/);
    expect(existsSync(path.join(cacheDir, TINY, "onnx/model.onnx_data"))).to.equal(false);
    expect(existsSync(path.join(cacheDir, TINY, "onnx/model.onnx_data.incomplete"))).to.equal(false);

    // Through the engine it is a node fault, never a result.
    const engine = new GptEngine({
      modelsDir: cacheDir,
      allowRemoteModels: true,
      pinnedModel: () => ({ digest: manifestDigest(manifest), manifest }),
    });
    let fault: unknown;
    await run(engine, task({ model: TINY })).catch((e) => (fault = e));
    await engine.close();
    expect(fault).to.be.instanceOf(EngineFault);
    expect(String(fault)).to.contain("onnx/model.onnx_data");
  });

  it("an interrupted download resumes where it stopped (HTTP Range into the .incomplete file)", async function () {
    const manifest = await computeManifest(tinyDir);
    const size = statSync(path.join(tinyDir, "onnx/model.onnx_data")).size;
    const cut = Math.floor(size / 3);
    hub.cutAfter.set("onnx/model.onnx_data", cut);
    let error: unknown;
    await pullModel(TINY, cacheDir, { revision: COMMIT, manifest }).catch((e) => (error = e));
    expect(error, "the cut connection fails the first pull").to.be.instanceOf(Error);
    const partial = path.join(cacheDir, TINY, "onnx/model.onnx_data.incomplete");
    expect(statSync(partial).size).to.be.within(1, size - 1);
    const held = statSync(partial).size;

    const result = await pullModel(TINY, cacheDir, { revision: COMMIT, manifest });
    // The weights are an LFS file: the hub redirects to its CDN, where the range request lands.
    const resumed = fileRequests("onnx/model.onnx_data").at(-1)!;
    expect(resumed.url).to.equal(`/cdn/${TINY}/${COMMIT}/onnx/model.onnx_data`);
    expect(resumed.headers.range).to.equal(`bytes=${held}-`);
    expect(result.downloaded).to.include("onnx/model.onnx_data");
    expect(result.commit).to.equal(COMMIT);
    expect(sha256(path.join(cacheDir, TINY, "onnx/model.onnx_data"))).to.equal(manifest.files["onnx/model.onnx_data"]!.sha256);
    expect(existsSync(partial)).to.equal(false);
  });

  it("a partial file of another version (the ETag changed) is thrown away instead of being appended to", async function () {
    const dir = path.join(cacheDir, TINY);
    await downloadFromHub(TINY, dir, ["config.json"], [], { revision: COMMIT });
    writeFileSync(path.join(dir, "tokenizer.json.incomplete"), "stale bytes of an older tokenizer");
    writeFileSync(path.join(dir, "tokenizer.json.incomplete.etag"), '"an-older-etag"');
    await downloadFromHub(TINY, dir, ["tokenizer.json"], [], { revision: COMMIT });
    expect(readFileSync(path.join(dir, "tokenizer.json"))).to.deep.equal(readFileSync(path.join(tinyDir, "tokenizer.json")));
  });

  it("optional files the hub lacks are skipped, a missing required file or revision is HubFileMissing", async function () {
    const dir = path.join(cacheDir, TINY);
    const result = await downloadFromHub(TINY, dir, ["config.json"], ["chat_template.jinja", "generation_config.json"], {
      revision: COMMIT,
    });
    expect(result.downloaded).to.deep.equal(["config.json", "generation_config.json"]);
    await downloadFromHub(TINY, dir, ["no-such-file.json"], [], { revision: COMMIT }).then(
      () => expect.fail("resolved"),
      (error) => expect(error).to.be.instanceOf(HubFileMissing),
    );
    await downloadFromHub(TINY, dir, ["tokenizer.json"], [], { revision: "no-such-branch" }).then(
      () => expect.fail("resolved"),
      (error) => expect(String(error)).to.contain("at revision no-such-branch"),
    );
  });

  it("with a manifest, optional files it lists are required and those it does not list are not fetched", async function () {
    const dir = path.join(cacheDir, TINY);
    const manifest = await computeManifest(tinyDir);
    const withoutGeneration: ModelManifest = {
      files: Object.fromEntries(Object.entries(manifest.files).filter(([f]) => f !== "generation_config.json")),
    };
    const options = { revision: COMMIT, manifest: withoutGeneration };
    const result = await downloadFromHub(TINY, dir, ["config.json"], ["generation_config.json", "onnx/model.onnx_data"], options);
    expect(result.downloaded).to.deep.equal(["config.json", "onnx/model.onnx_data"]);
    expect(fileRequests("generation_config.json")).to.have.length(0);
  });

  it("refuses files the hub serves from another commit than the one asked for", async function () {
    let error: unknown;
    await downloadFromHub(TINY, path.join(cacheDir, TINY), ["config.json"], [], { revision: OTHER_COMMIT.replace("f", "0") }).catch(
      (e) => (error = e),
    );
    expect(error).to.be.instanceOf(HubFileMissing); // an unknown commit is a 404
    hub.server.removeAllListeners("request");
    hub.server.on("request", (_request, response) =>
      response.writeHead(200, { "x-repo-commit": OTHER_COMMIT, "content-length": 2 }).end("{}"),
    );
    error = undefined;
    await downloadFromHub(TINY, path.join(cacheDir, TINY), ["config.json"], [], { revision: COMMIT }).catch((e) => (error = e));
    expect(error).to.be.instanceOf(HubIntegrityError);
    expect(String(error)).to.contain(`asked for commit ${COMMIT}, the hub served ${OTHER_COMMIT}`);
  });

  it("reports progress: the worker's log lines (start, every 10%, done), with sizes from Content-Length", async function () {
    const reports: DownloadProgress[] = [];
    const lines: { fields: Record<string, unknown>; message: string }[] = [];
    const logLines = progressLogLines({
      info: (fields: Record<string, unknown>, message: string) => lines.push({ fields, message }),
    } as never);
    await pullModel(TINY, cacheDir, {
      revision: COMMIT,
      onProgress: (p) => {
        reports.push(p);
        logLines(p);
      },
    });
    const data = reports.filter((r) => r.file === "onnx/model.onnx_data");
    const size = statSync(path.join(tinyDir, "onnx/model.onnx_data")).size;
    expect(data.at(-1)).to.deep.include({ received: size, total: size, done: true });
    expect(data.map((r) => r.received)).to.deep.equal([...data.map((r) => r.received)].sort((a, b) => a - b));
    const dataLines = lines.filter((l) => l.fields.file === "onnx/model.onnx_data").map((l) => l.message);
    expect(dataLines[0]).to.equal("model file download started");
    expect(dataLines.at(-1)).to.equal("model file downloaded");
    expect(dataLines.length).to.be.within(2, 12);
  });

  it("a model the hub does not have is the deterministic model_not_found outcome", async function () {
    const engine = new GptEngine({ modelsDir: cacheDir, allowRemoteModels: true });
    try {
      const outcome = await run(engine, task({ model: "mirror/no-such-model" }));
      expect(outcome.kind).to.equal("error");
      expect(outcome.document).to.have.nested.property("error.code", "model_not_found");
    } finally {
      await engine.close();
    }
  });

  it("a registered model the hub does not serve is a node fault, never model_not_found", async function () {
    const manifest = await computeManifest(tinyDir);
    const pinned = { digest: manifestDigest(manifest), manifest, revision: COMMIT };
    const engine = new GptEngine({ modelsDir: cacheDir, allowRemoteModels: true, pinnedModel: () => pinned });
    try {
      let error: unknown;
      await run(engine, task({ model: "mirror/not-mirrored" })).catch((e) => (error = e));
      expect(error).to.be.instanceOf(EngineFault);
      expect(String(error)).to.contain("has no mirror/not-mirrored/config.json at revision");
    } finally {
      await engine.close();
    }
  });

  it("a failing download is a node fault (no result to commit), not a task error, and leaves no model file", async function () {
    hub.failing.add("onnx/model.onnx");
    const engine = new GptEngine({ modelsDir: cacheDir, allowRemoteModels: true });
    try {
      let error: unknown;
      await run(engine, task({ model: `mirror/${MODEL}` })).catch((e) => (error = e));
      expect(error).to.be.instanceOf(EngineFault);
      expect(String(error)).to.contain("HTTP 503");
      expect(existsSync(path.join(cacheDir, "mirror", MODEL, "onnx", "model.onnx"))).to.equal(false);
    } finally {
      await engine.close();
    }
  });
});

describe("engine: pinned models are verified before they run", function () {
  this.timeout(60_000);
  let dir: string;
  let manifest: ModelManifest;

  before(async function () {
    dir = mkdtempSync(path.join(os.tmpdir(), "triad-pinned-"));
    await makeRandomLlama({
      ...TINY_LLAMA,
      outDir: dir,
      name: "tiny",
      seed: 5,
    });
    manifest = await computeManifest(path.join(dir, "tiny"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const engineFor = (pinned: PinnedModel) => new GptEngine({ modelsDir: dir, pinnedModel: () => pinned });

  it("matching files run, and the registered digest is in provenance", async function () {
    const engine = engineFor({ digest: manifestDigest(manifest), manifest });
    const digestOnly = engineFor({ digest: manifestDigest(manifest) });
    try {
      const outcome = await run(engine, task({ model: "tiny", generation_config: { max_new_tokens: 3 } }));
      expect(outcome.kind).to.equal("response");
      expect(outcome.provenance).to.include({ modelDigest: manifestDigest(manifest), modelPinned: true });
      expect((await run(digestOnly, task({ model: "tiny", generation_config: { max_new_tokens: 3 } }))).resultHash).to.equal(
        outcome.resultHash,
      );
    } finally {
      await engine.close();
      await digestOnly.close();
    }
  });

  it("a tampered file is a node fault naming the file (no result), with or without the manifest at hand", async function () {
    const file = path.join(dir, "tiny", "generation_config.json");
    const original = readFileSync(file);
    writeFileSync(file, original.toString().replace('"max_length": 64', '"max_length": 65'));
    try {
      for (const pinned of [{ digest: manifestDigest(manifest), manifest }, { digest: manifestDigest(manifest) }]) {
        const engine = engineFor(pinned);
        let error: unknown;
        await run(engine, task({ model: "tiny" })).catch((e) => (error = e));
        await engine.close();
        expect(error).to.be.instanceOf(EngineFault);
        expect(String(error)).to.contain(`does not match its registered digest ${manifestDigest(manifest)}`);
        if (pinned.manifest) expect(String(error)).to.match(/generation_config\.json: sha256 [0-9a-f]{64}, the manifest says/);
      }
    } finally {
      writeFileSync(file, original);
    }
  });

  it("a manifest that does not hash to the registered digest, or a registered model the node lacks, is a node fault", async function () {
    const wrong = engineFor({ digest: `0x${"00".repeat(32)}`, manifest });
    const absent = engineFor({ digest: manifestDigest(manifest) });
    try {
      await run(wrong, task({ model: "tiny" })).then(
        () => expect.fail("resolved"),
        (error) => expect(String(error)).to.contain("does not hash to its registered digest"),
      );
      await run(absent, task({ model: "not-here" })).then(
        () => expect.fail("resolved"),
        (error) => expect(error).to.be.instanceOf(EngineFault),
      );
    } finally {
      await wrong.close();
      await absent.close();
    }
  });

  it("a changed registry entry is verified afresh, not served from the engine's cache", async function () {
    let entry: PinnedModel = { digest: manifestDigest(manifest), manifest };
    const engine = new GptEngine({ modelsDir: dir, pinnedModel: () => entry });
    try {
      expect((await run(engine, task({ model: "tiny", generation_config: { max_new_tokens: 2 } }))).kind).to.equal("response");
      const other: ModelManifest = { files: { ...manifest.files, "config.json": { sha256: "0".repeat(64), size: 1 } } };
      entry = { digest: manifestDigest(other), manifest: other };
      await run(engine, task({ model: "tiny" })).then(
        () => expect.fail("resolved"),
        (error) => expect(String(error)).to.match(/config\.json: \d+ bytes, the manifest says 1/),
      );
    } finally {
      await engine.close();
    }
  });

  it("a variant the registered manifest does not list is the deterministic unsupported_variant outcome", async function () {
    const onlyConfigs: ModelManifest = {
      files: Object.fromEntries(Object.entries(manifest.files).filter(([f]) => !f.startsWith("onnx/"))),
    };
    const engine = engineFor({ digest: manifestDigest(onlyConfigs), manifest: onlyConfigs });
    try {
      const outcome = await run(engine, task({ model: "tiny" }));
      expect(outcome.document).to.have.nested.property("error.code", "unsupported_variant");
    } finally {
      await engine.close();
    }
  });

  it("verifyModelDir names the differing file; the digest is keccak256 of the canonical manifest", async function () {
    await verifyModelDir(path.join(dir, "tiny"), manifest);
    const reordered: ModelManifest = { files: Object.fromEntries(Object.entries(manifest.files).reverse()) };
    expect(manifestDigest(reordered)).to.equal(manifestDigest(manifest));
    expect(canonicalManifest(manifest)).to.match(/^\{"files":\{"config.json":\{"sha256":"[0-9a-f]{64}","size":\d+\},/);
    const withExtra: ModelManifest = {
      files: { ...manifest.files, "onnx/model.onnx": { ...manifest.files["onnx/model.onnx"]!, size: 1 } },
    };
    await verifyModelDir(path.join(dir, "tiny"), withExtra).then(
      () => expect.fail("resolved"),
      (error) => {
        expect(error).to.be.instanceOf(ModelMismatch);
        expect((error as ModelMismatch).file).to.equal("onnx/model.onnx");
      },
    );
  });
});

function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}
