import cliProgress from "cli-progress";
import type { DownloadProgress, ProgressReporter } from "../engine/index.js";

/** Download progress as a bar per file on stderr (the CLI's; daemons log lines instead, see progressLogLines). */
export function progressBar(stream: NodeJS.WritableStream = process.stderr): ProgressReporter {
  let current: { key: string; bar: cliProgress.SingleBar } | undefined;
  return (progress: DownloadProgress) => {
    const key = `${progress.model}/${progress.file}`;
    if (current?.key !== key) {
      current?.bar.stop();
      const bar = new cliProgress.SingleBar(
        { format: `${key} [{bar}] {percentage}% {value}/{total} bytes`, stream, noTTYOutput: false },
        cliProgress.Presets.shades_classic,
      );
      bar.start(progress.total, progress.received);
      current = { key, bar };
    }
    current.bar.update(progress.received);
    if (progress.done) {
      current.bar.stop();
      current = undefined;
    }
  };
}
