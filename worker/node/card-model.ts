import type { DeviceInfo } from "../engine/index.js";

/** The group a node joins: card model name and VRAM (GB), as NodeRegistry.join takes them. */
export interface CardIdentity {
  cardModel: string;
  vramGb: number;
}

export interface CardChoice {
  identity: CardIdentity;
  source: "nvidia-smi" | "config" | "cpu";
  /** Set when the configured card is overridden. */
  warning?: string;
}

/** NodeRegistry accepts card model names of 1..64 bytes. */
const MAX_CARD_MODEL_BYTES = 64;

/**
 * The group a node joins is the device its engine actually runs on (engine deviceInfo): on a GPU provider, the
 * GPU nvidia-smi reports (a differently configured card is overridden, so a node cannot land in a group whose
 * numerics it does not share); on the CPU provider, the configured card (devnets emulate GPU groups this way),
 * else the CPU itself with the host's memory.
 */
export function chooseCardIdentity(configured: CardIdentity | undefined, device: DeviceInfo): CardChoice {
  const measured = {
    cardModel: truncateUtf8(device.cardModel, MAX_CARD_MODEL_BYTES),
    vramGb: Math.max(1, Math.round(device.memoryMiB / 1024)),
  };
  if (device.device !== "cpu") {
    if (device.source !== "nvidia-smi")
      throw new Error(`device ${device.device} needs an NVIDIA GPU that nvidia-smi can name, but it reports none`);
    const differs = configured && (configured.cardModel !== measured.cardModel || configured.vramGb !== measured.vramGb);
    return {
      identity: measured,
      source: "nvidia-smi",
      ...(differs
        ? {
            warning:
              `configured card "${configured.cardModel}" / ${configured.vramGb} GB ignored: ` +
              `the engine runs on "${measured.cardModel}" / ${measured.vramGb} GB`,
          }
        : {}),
    };
  }
  if (configured) return { identity: configured, source: "config" };
  return { identity: { ...measured, vramGb: Math.max(1, Math.floor(device.memoryMiB / 1024)) }, source: "cpu" };
}

function truncateUtf8(text: string, maxBytes: number): string {
  let out = text;
  while (Buffer.byteLength(out, "utf8") > maxBytes) out = out.slice(0, -1);
  return out;
}
