import * as ort from "onnxruntime-node";
import { EngineFault } from "./errors.js";
import { DataType, encodeModel } from "./onnx-writer.js";

export type Device = "cpu" | "webgpu" | "cuda";
export const DEVICES: readonly Device[] = ["cpu", "webgpu", "cuda"];

/**
 * Where a session leaves its KV-cache outputs. onnxruntime-node 1.30 can hand back device tensors only for
 * WebGPU ("gpu-buffer", fed straight back as the next step's inputs); its CUDA provider returns every
 * output to host memory, so on cuda (and cpu) the cache lives in host memory.
 */
export type KvCacheLocation = "cpu" | "gpu-buffer";

export function kvCacheLocation(device: Device): KvCacheLocation {
  return device === "webgpu" ? "gpu-buffer" : "cpu";
}

export interface ProviderSettings {
  device: Device;
  intraOpThreads: number;
  interOpThreads: number;
  graphOptimizationLevel: "disabled" | "basic" | "extended" | "all";
}

/**
 * Session options for a decoder with `numLayers` layers. Only the requested provider is listed: onnxruntime
 * still runs the few nodes a GPU provider declines (shape arithmetic) on its CPU kernels, but a provider that
 * cannot start fails session creation instead of quietly becoming a CPU session. `keepKvOnDevice` false gives
 * every output in host memory (needed where the host reorders cache rows, as beam search does).
 */
export function sessionOptions(settings: ProviderSettings, numLayers: number, keepKvOnDevice = true): ort.InferenceSession.SessionOptions {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [settings.device],
    intraOpNumThreads: settings.intraOpThreads,
    interOpNumThreads: settings.interOpThreads,
    graphOptimizationLevel: settings.graphOptimizationLevel,
    executionMode: "sequential",
  };
  if (keepKvOnDevice && kvCacheLocation(settings.device) === "gpu-buffer") {
    const locations: Record<string, ort.Tensor.DataLocation> = { logits: "cpu" };
    for (let layer = 0; layer < numLayers; layer++) {
      locations[`present.${layer}.key`] = "gpu-buffer";
      locations[`present.${layer}.value`] = "gpu-buffer";
    }
    options.preferredOutputLocation = locations;
  }
  return options;
}

const probes = new Map<Device, Promise<void>>();

/**
 * Resolves when `device`'s provider can create a session in this process; otherwise rejects with an
 * EngineFault naming the device and why (no adapter, provider library not installed...). Cached per process.
 */
export function ensureDeviceAvailable(device: Device): Promise<void> {
  let probe = probes.get(device);
  if (!probe) {
    probe = probeDevice(device);
    probes.set(device, probe);
  }
  return probe;
}

async function probeDevice(device: Device): Promise<void> {
  if (!DEVICES.includes(device)) {
    throw new EngineFault(`device ${String(device)} is not supported: choose one of ${DEVICES.join(", ")}`);
  }
  try {
    const session = await ort.InferenceSession.create(probeModel(), { executionProviders: [device] });
    const x = new ort.Tensor("float32", Float32Array.of(1, 2), [2]);
    const { y } = await session.run({ x });
    if ((y.data as Float32Array)[1] !== 4) throw new Error("the probe graph computed a wrong result");
    await session.release();
  } catch (error) {
    throw new EngineFault(`device ${device} is unavailable: ${unavailableReason(device, (error as Error).message)}`, { cause: error });
  }
}

/** The operator-facing reason a provider did not start, with onnxruntime's own message kept at the end. */
export function unavailableReason(device: Device, ortMessage: string): string {
  const detail = ortMessage
    .split("\n")[0]
    .replace(/^.*? was false\. /, "") // drop onnxruntime's source location and failed assertion
    .trim();
  if (device === "webgpu" && /adapter/i.test(ortMessage)) {
    return (
      "no WebGPU adapter found (on Linux Dawn needs the Vulkan loader libvulkan.so.1 and a GPU Vulkan driver, " +
      `e.g. VK_DRIVER_FILES pointing at nvidia_icd.json; see docs/gpu.md) [onnxruntime: ${detail}]`
    );
  }
  if (device === "cuda" && /shared library|providers_cuda|providers_shared/i.test(ortMessage)) {
    return (
      "onnxruntime-node was installed without its CUDA provider " +
      `(reinstall with ONNXRUNTIME_NODE_INSTALL=cuda12; needs CUDA 12 and cuDNN 9) [onnxruntime: ${detail}]`
    );
  }
  return detail;
}

let cachedProbe: Uint8Array | undefined;

/** y = x + x on a float32 vector: the smallest graph that makes a provider claim and run a kernel. */
function probeModel(): Uint8Array {
  cachedProbe ??= encodeModel({
    name: "device-probe",
    nodes: [{ op: "Add", inputs: ["x", "x"], outputs: ["y"] }],
    inputs: [{ name: "x", type: DataType.FLOAT, shape: ["n"] }],
    outputs: [{ name: "y", type: DataType.FLOAT, shape: ["n"] }],
    initializers: [],
  });
  return cachedProbe;
}
