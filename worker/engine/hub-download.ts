import { createWriteStream } from "node:fs";
import { mkdir, rename, stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import cliProgress from "cli-progress";

const HUB = "https://huggingface.co";

/**
 * Downloads `files` of a hub model into `modelDir` (only those missing), showing a progress bar on stderr.
 * `optional` files that the hub does not have (404) are skipped.
 */
export async function downloadFromHub(model: string, modelDir: string, files: string[], optional: string[] = []) {
  for (const file of files) {
    const target = path.join(modelDir, file);
    if (await exists(target)) continue;
    const response = await fetch(`${HUB}/${model}/resolve/main/${file}`);
    if (response.status === 404 && optional.includes(file)) continue;
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
    body.on("data", (chunk: Buffer) => bar.update((received += chunk.length)));
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
