import { createWriteStream } from "node:fs";
import { mkdir, rename, stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import cliProgress from "cli-progress";

/** The hub to download from: $HF_ENDPOINT (huggingface_hub's variable, for mirrors), else huggingface.co. */
export function hubUrl(): string {
  return (process.env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, "");
}

/** The hub answered 404 for a file the model needs: the model (or variant) does not exist there. */
export class HubFileMissing extends Error {
  constructor(model: string, file: string) {
    super(`${hubUrl()} has no ${model}/${file}`);
    this.name = "HubFileMissing";
  }
}

/**
 * Downloads `files` of a hub model into `modelDir` (only those missing), showing a progress bar on stderr.
 * `optional` files that the hub does not have (404) are skipped; a missing required file is HubFileMissing, any
 * other failure a plain Error (a node-local problem, not a property of the task).
 */
export async function downloadFromHub(model: string, modelDir: string, files: string[], optional: string[] = []) {
  for (const file of files) {
    const target = path.join(modelDir, file);
    if (await exists(target)) continue;
    const response = await fetch(`${hubUrl()}/${model}/resolve/main/${file}`);
    if (response.status === 404 && optional.includes(file)) continue;
    if (response.status === 404) throw new HubFileMissing(model, file);
    if (!response.ok || !response.body) throw new Error(`download of ${model}/${file} failed: HTTP ${response.status}`);
    await mkdir(path.dirname(target), { recursive: true });
    const total = Number(response.headers.get("content-length") ?? 0);
    const bar = new cliProgress.SingleBar(
      { format: `${model}/${file} [{bar}] {percentage}% {value}/{total} bytes`, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    let received = 0;
    const body = Readable.fromWeb(response.body as import("node:stream/web").ReadableStream);
    body.on("data", (chunk: Buffer) => {
      received += chunk.length;
      bar.update(received);
    });
    try {
      await pipeline(body, createWriteStream(`${target}.partial`));
    } finally {
      bar.stop();
    }
    await rename(`${target}.partial`, target);
  }
}

async function exists(filePath: string): Promise<boolean> {
  return stat(filePath).then(
    () => true,
    () => false,
  );
}
