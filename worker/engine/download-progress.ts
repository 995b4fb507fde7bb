import type pino from "pino";
import type { DownloadProgress, ProgressReporter } from "./hub-download.js";

/**
 * Download progress as log lines (for daemons: the worker, the bridge): one line when a file starts, one per
 * `step` of its size (10% by default), one when it is complete. The CLI draws a bar instead (worker/cli).
 */
export function progressLogLines(logger: Pick<pino.Logger, "info">, step = 0.1): ProgressReporter {
  const lastLogged = new Map<string, number>();
  return (progress: DownloadProgress) => {
    const key = `${progress.model}/${progress.file}`;
    const fraction = progress.total > 0 ? progress.received / progress.total : 0;
    const previous = lastLogged.get(key);
    const fields = { model: progress.model, file: progress.file, received: progress.received, total: progress.total };
    if (progress.done) {
      lastLogged.delete(key);
      logger.info(fields, "model file downloaded");
    } else if (previous === undefined) {
      lastLogged.set(key, fraction);
      logger.info(fields, "model file download started");
    } else if (fraction - previous >= step) {
      lastLogged.set(key, fraction);
      logger.info({ ...fields, percent: Math.floor(fraction * 100) }, "model file downloading");
    }
  };
}
