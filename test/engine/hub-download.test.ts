import { expect } from "chai";
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import os from "node:os";
import path from "node:path";
import { GptEngine, EngineFault } from "../../worker/engine/index.js";
import { MODEL, modelDir, modelsDir, run, task } from "./helpers.js";

/** A local stand-in for the hub: GET /<org>/<name>/resolve/main/<file> serves stories260K's files; counts requests. */
function startHubMirror(): Promise<{ server: Server; url: string; requests: string[]; failing: Set<string> }> {
  const requests: string[] = [];
  const failing = new Set<string>();
  const server = createServer((request, response) => {
    requests.push(request.url!);
    const match = /^\/mirror\/stories260K\/resolve\/main\/(.+)$/.exec(request.url!);
    const file = match && path.join(modelDir, match[1]!);
    if (match && failing.has(match[1]!)) {
      response.writeHead(503).end();
    } else if (file && existsSync(file) && statSync(file).isFile()) {
      response.writeHead(200, { "content-length": statSync(file).size });
      createReadStream(file).pipe(response);
    } else {
      response.writeHead(404).end();
    }
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as { port: number };
      resolve({ server, url: `http://127.0.0.1:${address.port}`, requests, failing });
    }),
  );
}

describe("engine: models from the hub (a local mirror through HF_ENDPOINT)", function () {
  this.timeout(60_000);
  let hub: Awaited<ReturnType<typeof startHubMirror>>;
  let cacheDir: string;
  const previousEndpoint = process.env.HF_ENDPOINT;

  beforeEach(async function () {
    hub = await startHubMirror();
    process.env.HF_ENDPOINT = hub.url;
    cacheDir = mkdtempSync(path.join(os.tmpdir(), "triad-hub-"));
  });
  afterEach(function () {
    hub.server.close();
    if (previousEndpoint === undefined) delete process.env.HF_ENDPOINT;
    else process.env.HF_ENDPOINT = previousEndpoint;
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it("downloads a missing model once and gives the same result as the local copy", async function () {
    const local = new GptEngine({ modelsDir });
    const remote = new GptEngine({ modelsDir: cacheDir, allowRemoteModels: true });
    try {
      const expected = await run(local, task());
      const downloaded = await run(remote, task({ model: "mirror/stories260K" }));
      expect(downloaded.kind).to.equal("response");
      expect(JSON.parse(downloaded.canonicalJson).choices).to.deep.equal(JSON.parse(expected.canonicalJson).choices);
      expect(existsSync(path.join(cacheDir, "mirror", MODEL, "onnx", "model.onnx"))).to.equal(true);
      expect(hub.requests.filter((r) => r.endsWith("/onnx/model.onnx"))).to.have.length(1);

      const again = new GptEngine({ modelsDir: cacheDir, allowRemoteModels: true });
      const before = hub.requests.length;
      await run(again, task({ model: "mirror/stories260K" }));
      await again.close();
      expect(hub.requests.length, "the second engine reads the downloaded files").to.equal(before);
    } finally {
      await local.close();
      await remote.close();
    }
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

  it("a failing download is a node fault (no result to commit), not a task error, and leaves no partial file", async function () {
    hub.failing.add("onnx/model.onnx");
    const engine = new GptEngine({ modelsDir: cacheDir, allowRemoteModels: true });
    try {
      let error: unknown;
      await run(engine, task({ model: "mirror/stories260K" })).catch((e) => (error = e));
      expect(error).to.be.instanceOf(EngineFault);
      expect(String(error)).to.contain("HTTP 503");
      expect(existsSync(path.join(cacheDir, "mirror", MODEL, "onnx", "model.onnx"))).to.equal(false);
    } finally {
      await engine.close();
    }
  });
});
