import canonicalize from "canonicalize";
import { keccak256 } from "ethers";

/** RFC 8785 (JCS) canonical JSON text of a JSON value. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError("value has no JSON representation");
  return text;
}

/** keccak256 of raw bytes, as a 0x-prefixed hex string. */
export function hashBytes(bytes: Uint8Array): `0x${string}` {
  return keccak256(bytes) as `0x${string}`;
}

/** The canonical UTF-8 bytes of a task, as a client uploads them (argsHash = hashBytes(encodeTask(task))). */
export function encodeTask(task: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(task));
}

/** keccak256 of the UTF-8 bytes of a canonical JSON text. */
export function hashCanonicalJson(text: string): `0x${string}` {
  return hashBytes(new TextEncoder().encode(text));
}
