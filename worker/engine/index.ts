/** The engine's public API (a barrel: the engine itself is engine.ts). */
export { GptEngine, type EngineOptions, type OnChainTask, type TaskOutcome } from "./engine.js";
export { EngineFault } from "./errors.js";
export { deviceInfo, type DeviceInfo } from "./device-info.js";
export { ensureDeviceAvailable, type Device } from "./execution-provider.js";
export { encodeTask, hashBytes } from "./hashing.js";
export { validateTask } from "./validation.js";
export type { PinnedModel } from "./model-loader.js";
export {
  ModelMismatch,
  canonicalManifest,
  compareManifests,
  computeManifest,
  manifestDigest,
  parseManifest,
  verifyModelDir,
  type ManifestDigest,
  type ManifestEntry,
  type ModelManifest,
} from "./model-manifest.js";
export { pullModel, type PullOptions, type PullResult } from "./model-pull.js";
export { HubFileMissing, HubIntegrityError, downloadFromHub, type DownloadProgress, type ProgressReporter } from "./hub-download.js";
export { progressLogLines } from "./download-progress.js";
export type * from "./types.js";
