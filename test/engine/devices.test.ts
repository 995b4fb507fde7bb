import { expect } from "chai";
import { describe, it } from "mocha";
import { execFile } from "node:child_process";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { greedyOrSample } from "../../worker/engine/decode-loop.js";
import { cpuCardModel, deviceInfo, parseNvidiaSmiGpu } from "../../worker/engine/device-info.js";
import { ensureDeviceAvailable, sessionOptions, unavailableReason, type Device } from "../../worker/engine/execution-provider.js";
import { ForwardPass, type KvCache } from "../../worker/engine/forward.js";
import { EngineFault, GptEngine } from "../../worker/engine/index.js";
import type { ResolvedGenerationConfig } from "../../worker/engine/types.js";
import { modelsDir, repoRoot, responseOf, run, task } from "./helpers.js";

const settings = (device: Device) => ({ device, intraOpThreads: 1, interOpThreads: 1, graphOptimizationLevel: "all" as const });

describe("engine devices: nvidia-smi and CPU card model", function () {
  it("parses the first GPU of `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader`", function () {
    const output = "NVIDIA H100 80GB HBM3, 81559 MiB\nNVIDIA H100 80GB HBM3, 81559 MiB\n";
    expect(parseNvidiaSmiGpu(output)).to.deep.equal({ cardModel: "NVIDIA H100 80GB HBM3", memoryMiB: 81559 });
    expect(parseNvidiaSmiGpu("NVIDIA GeForce RTX 4090, 24564\n")).to.deep.equal({ cardModel: "NVIDIA GeForce RTX 4090", memoryMiB: 24564 });
  });

  it("rejects nvidia-smi output without a well-formed GPU line", function () {
    expect(parseNvidiaSmiGpu("")).to.equal(undefined);
    expect(parseNvidiaSmiGpu("No devices were found\n")).to.equal(undefined);
    expect(parseNvidiaSmiGpu("NVIDIA H100, [N/A]\n")).to.equal(undefined);
    expect(parseNvidiaSmiGpu(", 81559 MiB\n")).to.equal(undefined);
  });

  it("a GPU device reports nvidia-smi's card, or 'unknown GPU' when nvidia-smi fails", async function () {
    const calls: string[][] = [];
    const info = await deviceInfo("webgpu", async (command, args) => {
      calls.push([command, ...args]);
      return "NVIDIA H200, 143771 MiB\n";
    });
    expect(calls).to.deep.equal([["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"]]);
    expect(info).to.deep.equal({ device: "webgpu", cardModel: "NVIDIA H200", memoryMiB: 143771, source: "nvidia-smi" });
    const missing = await deviceInfo("cuda", () => Promise.reject(new Error("spawn nvidia-smi ENOENT")));
    expect(missing).to.deep.equal({ device: "cuda", cardModel: "unknown GPU", memoryMiB: 0, source: "unknown" });
  });

  it("the CPU card model is 'CPU <os.cpus()[0].model>' with whitespace collapsed, the same on every call", async function () {
    expect(cpuCardModel("  Intel(R) Xeon(R)   Processor @ 2.50GHz ")).to.equal("CPU Intel(R) Xeon(R) Processor @ 2.50GHz");
    expect(cpuCardModel("")).to.equal("CPU unknown");
    const [a, b] = await Promise.all([deviceInfo("cpu"), deviceInfo("cpu")]);
    expect(a.cardModel).to.equal(cpuCardModel()).and.to.equal(b.cardModel);
    expect(a.source).to.equal("os.cpus");
  });
});

describe("engine devices: execution providers", function () {
  this.timeout(60_000);

  it("webgpu keeps present.* on the device and brings only logits to the host; cpu and cuda set no locations", function () {
    const webgpu = sessionOptions(settings("webgpu"), 2);
    expect(webgpu.executionProviders).to.deep.equal(["webgpu"]);
    expect(webgpu.preferredOutputLocation).to.deep.equal({
      logits: "cpu",
      "present.0.key": "gpu-buffer",
      "present.0.value": "gpu-buffer",
      "present.1.key": "gpu-buffer",
      "present.1.value": "gpu-buffer",
    });
    expect(sessionOptions(settings("webgpu"), 2, false).preferredOutputLocation).to.equal(undefined);
    expect(sessionOptions(settings("cpu"), 2)).not.to.have.property("preferredOutputLocation");
    const cuda = sessionOptions(settings("cuda"), 2);
    expect(cuda).not.to.have.property("preferredOutputLocation");
    expect(cuda.executionProviders).to.deep.equal(["cuda"]);
  });

  it("explains an unavailable provider in the operator's terms and keeps onnxruntime's reason", function () {
    const webgpu = unavailableReason(
      "webgpu",
      "/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 ... adapter_result.status == " +
        "wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters",
    );
    expect(webgpu).to.match(
      /^no WebGPU adapter found \(.*libvulkan\.so\.1.*\) \[onnxruntime: Failed to get a WebGPU adapter: No supported adapters\]$/,
    );
    const cuda = unavailableReason("cuda", "OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library");
    expect(cuda).to.include("installed without its CUDA provider").and.to.include("ONNXRUNTIME_NODE_INSTALL=cuda12");
    expect(unavailableReason("cuda", "out of memory")).to.equal("out of memory");
  });

  it("an unknown device is an EngineFault naming it", async function () {
    let failure: unknown;
    await ensureDeviceAvailable("tpu" as Device).catch((error) => (failure = error));
    expect(failure).to.be.instanceOf(EngineFault);
    expect((failure as Error).message).to.equal("device tpu is not supported: choose one of cpu, webgpu, cuda");
  });

  it("the CPU provider is recorded in the provenance", async function () {
    const engine = new GptEngine({ modelsDir });
    try {
      const outcome = await run(engine, task({ generation_config: { max_new_tokens: 4 } }));
      expect(outcome.provenance).to.include({
        device: "cpu",
        executionProvider: "cpu",
        kvCacheLocation: "cpu",
        deviceModel: cpuCardModel(),
      });
    } finally {
      await engine.close();
    }
  });

  for (const device of ["webgpu", "cuda"] as const) {
    const title = `--device ${device}: a clear EngineFault where it is unavailable, never a CPU result; where available, CPU's tokens`;
    it(title, async function () {
      const available = await ensureDeviceAvailable(device).then(
        () => true,
        () => false,
      );
      const engine = new GptEngine({ modelsDir, device });
      const t = task({ generation_config: { max_new_tokens: 20 } });
      let outcome: Awaited<ReturnType<typeof run>> | undefined;
      let failure: unknown;
      try {
        outcome = await run(engine, t).catch((error) => {
          failure = error;
          return undefined;
        });
      } finally {
        await engine.close();
      }
      if (!available) {
        expect(outcome).to.equal(undefined);
        expect(failure).to.be.instanceOf(EngineFault);
        expect((failure as Error).message).to.match(new RegExp(`^device ${device} is unavailable: \\S`));
        const cli = await runCli(["--device", device]);
        expect(cli.code).to.equal(1);
        expect(cli.stdout).to.equal("");
        expect(cli.stderr).to.include(`engine fault: device ${device} is unavailable: `);
      } else {
        expect(failure).to.equal(undefined);
        expect(outcome!.provenance).to.include({ executionProvider: device });
        const cpu = new GptEngine({ modelsDir });
        try {
          expect(responseOf(outcome!).choices).to.deep.equal(responseOf(await run(cpu, t)).choices);
        } finally {
          await cpu.close();
        }
      }
    });
  }
});

describe("engine devices: KV cache held in device buffers", function () {
  /** A cache of fake device tensors that count their disposals. */
  function deviceCache(label: string, disposed: Map<string, number>, length: number): KvCache {
    const tensors: Record<string, ort.Tensor> = {};
    for (const name of ["past_key_values.0.key", "past_key_values.0.value"]) {
      const id = `${label}:${name}`;
      tensors[name] = ort.Tensor.fromGpuBuffer({} as ort.Tensor.GpuBufferType, {
        dataType: "float32",
        dims: [1, 1, length, 1],
        dispose: () => disposed.set(id, (disposed.get(id) ?? 0) + 1),
      });
      disposed.set(id, 0);
    }
    return { tensors, length, batch: 1 };
  }

  it("the decode loop frees every step's cache exactly once, the shared prompt cache last, and never feeds a freed one", async function () {
    const disposed = new Map<string, number>();
    let step = 0;
    const fedFreed: string[] = [];
    const forward = {
      vocabSize: 4,
      emptyCache: () => ({ tensors: {}, length: 0, batch: 1 }),
      release: ForwardPass.prototype.release,
      async run(_tokens: number[][], cache: KvCache) {
        for (const tensor of Object.values(cache.tensors)) {
          if (tensor.location !== "gpu-buffer") fedFreed.push(`step ${step} got a freed cache`);
        }
        const label = `step${step++}`;
        return { logits: [Float32Array.of(0, 0, 1, 0)], cache: deviceCache(label, disposed, step) };
      },
    } as unknown as ForwardPass;
    const config = {
      max_new_tokens: 3,
      num_return_sequences: 2,
      do_sample: false,
      eos_token_ids: [],
    } as unknown as ResolvedGenerationConfig;
    const sequences = await greedyOrSample(forward, [1, 2], config, [], 0);
    expect(sequences.map((s) => s.tokenIds)).to.deep.equal([
      [2, 2, 2],
      [2, 2, 2],
    ]);
    expect(fedFreed).to.deep.equal([]);
    // 1 prefill + 2 sequences x 2 steps = 5 caches of 2 tensors, each disposed once.
    expect(disposed.size).to.equal(10);
    expect([...disposed.values()]).to.deep.equal(new Array(10).fill(1));
  });

  it("reordering rows of a device cache is refused with an EngineFault (beam search uses a host-cache session)", function () {
    const cache = deviceCache("x", new Map(), 1);
    const forward = Object.create(ForwardPass.prototype) as ForwardPass;
    expect(() => forward.selectRows(cache, [0, 0])).to.throw(EngineFault, /only be reordered in host memory/);
  });
});

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const cli = path.join(repoRoot, "bin/triad.js");
    execFile(
      process.execPath,
      [cli, "run-task", path.join(repoRoot, "examples/greedy.json"), "--models-dir", modelsDir, ...args],
      { cwd: repoRoot },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number((error as { code?: number }).code) : 0, stdout, stderr });
      },
    );
  });
}
