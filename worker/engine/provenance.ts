import { env as transformersEnv } from "@huggingface/transformers";
import { env as ortEnv } from "onnxruntime-node";
import type { LoadedModel, SessionSettings } from "./model-loader.js";

const ortVersion = ortEnv.versions.node ?? ortEnv.versions.common;
const transformersVersion = transformersEnv.version;

/** Everything that can change the numbers a node produces, recorded next to (never inside) the hashed result. */
export function provenance(model: LoadedModel | undefined, settings: SessionSettings): Record<string, unknown> {
  return {
    engine: "triad-gpt-engine/1",
    sampler: "xoshiro256**+splitmix64/1",
    onnxruntime: ortVersion,
    transformersJs: transformersVersion,
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform}-${process.arch}`,
    device: settings.device,
    // Set only once a session exists: the provider it was created with (onnxruntime was offered no other).
    ...(model && {
      executionProvider: model.executionProvider,
      kvCacheLocation: model.kvCacheLocation,
      deviceModel: model.deviceInfo.cardModel,
    }),
    intraOpThreads: settings.intraOpThreads,
    interOpThreads: settings.interOpThreads,
    graphOptimizationLevel: settings.graphOptimizationLevel,
    executionMode: "sequential",
    ...(model && {
      model: model.id,
      variant: model.variant,
      modelFile: model.modelFile,
      // keccak256 of the files' manifest: the registered digest they were verified against, else the local one.
      modelDigest: model.modelDigest,
      modelPinned: model.pinned,
      ...(model.revision && { modelRevision: model.revision }),
      modelSha256: model.modelSha256,
      tokenizerSha256: model.tokenizerSha256,
    }),
  };
}
