import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { once } from "node:events";
import os from "node:os";
import path from "node:path";

export interface SupervisedProcessOptions {
  /** Shown in errors and in the devnet's output. */
  name: string;
  command: string;
  args: string[];
  /** stdout and stderr are appended here. */
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Every supervised process still running, so none outlives this process even if it dies without cleaning up. */
const live = new Set<SupervisedProcess>();
process.once("exit", () => {
  for (const child of live) child.signal("SIGKILL");
});

/**
 * A signal ends Node without running "exit" handlers. Where the program has not taken charge of a signal itself
 * (the devnet CLI does, to stop gracefully), exit on it so the handler above still cleans up.
 */
let backstopInstalled = false;
function installSignalBackstop(): void {
  if (backstopInstalled) return;
  backstopInstalled = true;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    if (process.listenerCount(signal) === 0) process.once(signal, () => process.exit(128 + os.constants.signals[signal]));
  }
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A child process in its own process group (detached), with its output in a log file. Stopping it signals the
 * whole group, so grandchildren (e.g. a runtime a CLI spawns) never outlive it.
 */
export class SupervisedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  #exit: ExitInfo | undefined;

  private constructor(options: SupervisedProcessOptions, child: ChildProcess, log: WriteStream) {
    this.name = options.name;
    this.logFile = options.logFile;
    if (child.pid === undefined) throw new Error(`${options.name}: the process did not start`);
    this.pid = child.pid;
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.#exit = { code, signal };
        live.delete(this);
        resolve(this.#exit);
      });
    });
    live.add(this);
    child.once("close", () => log.end());
  }

  static async start(options: SupervisedProcessOptions): Promise<SupervisedProcess> {
    installSignalBackstop();
    mkdirSync(path.dirname(options.logFile), { recursive: true });
    const log = createWriteStream(options.logFile, { flags: "a" });
    await once(log, "open");
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.once("spawn", resolve);
        child.once("error", reject);
      });
    } catch (error) {
      log.end();
      throw new Error(`${options.name}: could not start ${options.command}: ${(error as Error).message}`);
    }
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    return new SupervisedProcess(options, child, log);
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  get exitInfo(): ExitInfo | undefined {
    return this.#exit;
  }

  /** Sends `signal` to the process group (not just the leader). */
  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(-this.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  }

  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves once the leader has exited. */
  async stop(graceMs = 10_000): Promise<ExitInfo> {
    if (!this.running) return this.#exit!;
    this.signal("SIGTERM");
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
      // Members of the group that ignored SIGTERM must not outlive their leader.
      this.#killGroupRemainder();
    }
  }

  /** SIGKILL to the group, for crash tests. */
  async kill(): Promise<ExitInfo> {
    this.signal("SIGKILL");
    return this.exited;
  }

  #killGroupRemainder(): void {
    try {
      process.kill(-this.pid, "SIGKILL");
    } catch {
      // the group is already gone
    }
  }
}

/** Polls `probe` until it resolves true; fails early if `process` exits, and after `timeoutMs`. */
export async function waitUntilReady(
  what: string,
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; intervalMs?: number; process?: SupervisedProcess },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = "";
  for (;;) {
    if (options.process && !options.process.running) {
      const exit = options.process.exitInfo!;
      throw new Error(
        `${what}: the process exited (code ${exit.code}, signal ${exit.signal}) before it was ready; see ${options.process.logFile}`,
      );
    }
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = (error as Error).message;
    }
    if (Date.now() > deadline) {
      const where = options.process ? `; see ${options.process.logFile}` : "";
      throw new Error(`${what}: not ready after ${options.timeoutMs} ms${lastError ? ` (last error: ${lastError})` : ""}${where}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
  }
}
