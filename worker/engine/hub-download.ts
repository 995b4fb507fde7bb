import { createWriteStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { sha256File } from "./file-hash.js";
import type { ModelManifest } from "./model-manifest.js";

/** The hub to download from: $HF_ENDPOINT (huggingface_hub's variable, for mirrors), else huggingface.co. */
export function hubUrl(): string {
  return (process.env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, "");
}

/** The hub answered 404 for a file the model needs: the model, revision or variant does not exist there. */
export class HubFileMissing extends Error {
  constructor(model: string, revision: string, file: string) {
    super(`${hubUrl()} has no ${model}/${file} at revision ${revision}`);
    this.name = "HubFileMissing";
  }
}

/** A downloaded file is not the one the manifest names (size or sha256), or the hub served another revision. */
export class HubIntegrityError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = "HubIntegrityError";
  }
}

/** One progress report of a file download; `done` once the file is complete and verified. */
export interface DownloadProgress {
  model: string;
  file: string;
  received: number;
  /** Bytes of the whole file, 0 when the hub did not say. */
  total: number;
  done: boolean;
}

export type ProgressReporter = (progress: DownloadProgress) => void;

export interface HubDownloadOptions {
  /** A branch, tag or commit (huggingface_hub's `revision`); default "main". */
  revision?: string;
  /**
   * When given, every downloaded file it lists must match its size and sha256 there, an optional file it lists is
   * required (the manifest says it exists), and an optional file it does not list is not fetched.
   */
  manifest?: ModelManifest;
  onProgress?: ProgressReporter;
}

export interface HubDownloadResult {
  /** The commit the hub resolved the revision to (its X-Repo-Commit header), when it said. */
  commit?: string;
  /** Files fetched by this call (not the ones already present). */
  downloaded: string[];
}

const COMMIT = /^[0-9a-f]{40}$/;

/**
 * Downloads the `files` (required) and `optional` files of a hub model at a pinned revision into `modelDir`,
 * like huggingface_hub's hf_hub_download: GET `<hub>/<model>/resolve/<revision>/<file>`, written to
 * `<file>.incomplete` and renamed when complete. An interrupted download resumes with an HTTP Range request
 * (restarting from scratch when the hub's ETag changed or it ignores the range). Files already present are kept.
 * An optional file the hub does not have (404) is skipped; a missing required file is HubFileMissing, a file
 * that does not match the manifest HubIntegrityError, any other failure a plain Error (a node-local problem).
 */
export async function downloadFromHub(
  model: string,
  modelDir: string,
  files: string[],
  optional: string[] = [],
  options: HubDownloadOptions = {},
): Promise<HubDownloadResult> {
  const revision = options.revision ?? "main";
  const listed = options.manifest?.files ?? {};
  const required = new Set([...files, ...optional.filter((f) => listed[f] !== undefined)]);
  // With a manifest, an optional file it does not list is not part of the model: never fetched.
  const wanted = options.manifest ? [...required] : [...required, ...optional.filter((f) => !required.has(f))];
  const result: HubDownloadResult = { downloaded: [] };
  for (const file of wanted) {
    const target = path.join(modelDir, file);
    if (await exists(target)) continue;
    const fetched = await downloadFile(model, revision, file, target, required.has(file), options);
    if (!fetched) continue;
    if (fetched.commit) {
      if (COMMIT.test(revision) && fetched.commit !== revision) {
        await rm(target, { force: true });
        throw new HubIntegrityError(file, `${model}/${file}: asked for commit ${revision}, the hub served ${fetched.commit}`);
      }
      if (result.commit && result.commit !== fetched.commit) {
        await rm(target, { force: true });
        throw new HubIntegrityError(
          file,
          `${model}: revision ${revision} moved from ${result.commit} to ${fetched.commit} during the download`,
        );
      }
      result.commit = fetched.commit;
    }
    result.downloaded.push(file);
  }
  return result;
}

/** Fetches one file; undefined for an optional file the hub does not have. */
async function downloadFile(
  model: string,
  revision: string,
  file: string,
  target: string,
  required: boolean,
  options: HubDownloadOptions,
): Promise<{ commit?: string } | undefined> {
  const partial = `${target}.incomplete`;
  const etagFile = `${partial}.etag`;
  const have = await sizeOf(partial);
  const headers: Record<string, string> = have > 0 ? { range: `bytes=${have}-` } : {};
  const url = `${hubUrl()}/${model}/resolve/${encodeURIComponent(revision)}/${file}`;
  const { response, commit, etag } = await resolveFile(url, headers);
  if (response.status === 404) {
    await response.body?.cancel();
    if (!required) return undefined;
    throw new HubFileMissing(model, revision, file);
  }
  if (response.status === 416) {
    // The range starts at or past the end: what we hold is not a prefix of this file. Start again.
    await response.body?.cancel();
    await rm(partial, { force: true });
    return downloadFile(model, revision, file, target, required, options);
  }
  if (!response.ok || !response.body) throw new Error(`download of ${model}/${file} failed: HTTP ${response.status}`);
  const previousEtag = have > 0 ? await readFile(etagFile, "utf8").catch(() => "") : "";
  const resumed = response.status === 206 && etag !== "" && etag === previousEtag;
  if (response.status === 206 && !resumed) {
    // Another file behind the same name (a moving branch): the bytes we hold are not its prefix.
    await response.body.cancel();
    await rm(partial, { force: true });
    await rm(etagFile, { force: true });
    return downloadFile(model, revision, file, target, required, options);
  }
  const start = resumed ? have : 0;
  const total = start + Number(response.headers.get("content-length") ?? 0);
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(etagFile, etag);
  let received = start;
  const report = (done: boolean) => options.onProgress?.({ model, file, received, total: total > start ? total : 0, done });
  report(false);
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      report(false);
      callback(null, chunk);
    },
  });
  const body = Readable.fromWeb(response.body as import("node:stream/web").ReadableStream);
  await pipeline(body, counter, createWriteStream(partial, { flags: resumed ? "a" : "w" }));
  if (total > start && received !== total) {
    throw new Error(`download of ${model}/${file} ended after ${received} of ${total} bytes`);
  }
  await verifyAgainstManifest(model, file, partial, options.manifest);
  await rename(partial, target);
  await rm(etagFile, { force: true });
  report(true);
  return { commit };
}

/**
 * GET of a hub file as huggingface_hub does it: the hub's own answer carries the metadata (X-Repo-Commit, and
 * X-Linked-Etag for large files it redirects to its CDN), read before following a redirect by hand.
 */
async function resolveFile(url: string, headers: Record<string, string>) {
  let response = await fetch(url, { headers, redirect: "manual" });
  const commit = response.headers.get("x-repo-commit") ?? undefined;
  const etag = response.headers.get("x-linked-etag") ?? response.headers.get("etag") ?? "";
  for (let hops = 0; response.status >= 300 && response.status < 400 && response.headers.has("location"); hops++) {
    if (hops === 5) throw new Error(`download of ${url}: too many redirects`);
    await response.body?.cancel();
    response = await fetch(new URL(response.headers.get("location")!, response.url || url), { headers, redirect: "manual" });
  }
  return { response, commit: commit ?? response.headers.get("x-repo-commit") ?? undefined, etag };
}

async function verifyAgainstManifest(model: string, file: string, partial: string, manifest: ModelManifest | undefined) {
  const expected = manifest?.files[file];
  if (!expected) return;
  const size = await sizeOf(partial);
  const sha256 = size === expected.size ? await sha256File(partial) : undefined;
  if (sha256 === expected.sha256) return;
  await rm(partial, { force: true });
  const found =
    sha256 === undefined ? `${size} bytes, the manifest says ${expected.size}` : `sha256 ${sha256}, the manifest says ${expected.sha256}`;
  throw new HubIntegrityError(file, `${model}/${file} from the hub does not match the manifest: ${found}`);
}

async function sizeOf(filePath: string): Promise<number> {
  return stat(filePath).then(
    (s) => s.size,
    () => 0,
  );
}

async function exists(filePath: string): Promise<boolean> {
  return stat(filePath).then(
    () => true,
    () => false,
  );
}
