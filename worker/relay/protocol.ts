import { getBytes, hexlify, keccak256, randomBytes, type Signer } from "ethers";

/** Wire contract shared by the relay server and its client (see docs/relay.md). */

export const MAX_ARGS_BYTES = 1024 * 1024;
export const MAX_RESULT_BYTES = 4 * 1024 * 1024;

/** A signed request is accepted while the relay's clock is within this many seconds of its timestamp. */
export const TIMESTAMP_WINDOW_SECONDS = 60;

export const AUTH_HEADERS = {
  address: "x-triad-address",
  timestamp: "x-triad-timestamp",
  nonce: "x-triad-nonce",
  signature: "x-triad-signature",
  /** keccak256 of the body, as signed: the relay checks the signature before it spends time hashing the body. */
  bodyHash: "x-triad-body-hash",
} as const;

/** Response header carrying the keccak256 of the bytes served. */
export const CONTENT_HASH_HEADER = "x-triad-content-hash";

/** What a request without a body (GET) signs in place of the body hash. */
export const NO_BODY_HASH = "0x";

export type ObjectKind = "args" | "result";

/** Where a creator uploads a task's arguments before createTask (see PendingArgs). */
export function pendingArgsPath(argsHash: string): string {
  return `/v1/args/${argsHash.toLowerCase()}`;
}

export function taskObjectPath(taskId: bigint, kind: ObjectKind): string {
  return `/v1/tasks/${taskId.toString()}/${kind}`;
}

/**
 * The deployment a signature is for: the chain and the task manager whose tasks the relay serves. It is part of the
 * signed text, so a request signed for one relay is refused by a relay of another chain or deployment.
 */
export interface RelayDomain {
  chainId: bigint;
  taskManager: string;
}

/** How the domain is written in the signed text: `<chainId>:<task manager address, lower case>`. */
export function relayDomainText(domain: RelayDomain): string {
  return `${domain.chainId.toString()}:${domain.taskManager.toLowerCase()}`;
}

export interface SignedRequestFields {
  domain: RelayDomain;
  method: string;
  path: string;
  bodyHash: string;
  timestamp: number;
  nonce: string;
}

/** The exact text an account signs (EIP-191 personal_sign) to authenticate one request. */
export function relayAuthMessage(fields: SignedRequestFields): string {
  return [
    "triad-relay/v1",
    relayDomainText(fields.domain),
    fields.method.toUpperCase(),
    fields.path,
    fields.bodyHash,
    String(fields.timestamp),
    fields.nonce,
  ].join("\n");
}

export function bodyHashOf(body: Uint8Array | undefined): string {
  return body === undefined ? NO_BODY_HASH : keccak256(body);
}

export function freshNonce(): string {
  return hexlify(randomBytes(16)).slice(2);
}

export function unixSeconds(nowMs: number = Date.now()): number {
  return Math.floor(nowMs / 1000);
}

export interface SignRequestInput {
  /** The relay's deployment (its /healthz says: chainId, taskManager). */
  domain: RelayDomain;
  method: string;
  path: string;
  body?: Uint8Array;
  /** Defaults to now; set only to build deliberately stale requests. */
  timestamp?: number;
  /** Defaults to a fresh random nonce; set only to build deliberate replays. */
  nonce?: string;
}

/** The four auth headers for one request, signed by `signer`. Each call uses a new nonce unless told. */
export async function signRelayRequest(signer: Signer, input: SignRequestInput): Promise<Record<string, string>> {
  const timestamp = input.timestamp ?? unixSeconds();
  const nonce = input.nonce ?? freshNonce();
  const bodyHash = bodyHashOf(input.body === undefined ? undefined : getBytes(input.body));
  const message = relayAuthMessage({ domain: input.domain, method: input.method, path: input.path, bodyHash, timestamp, nonce });
  return {
    [AUTH_HEADERS.address]: await signer.getAddress(),
    [AUTH_HEADERS.timestamp]: String(timestamp),
    [AUTH_HEADERS.nonce]: nonce,
    [AUTH_HEADERS.signature]: await signer.signMessage(message),
    ...(input.body === undefined ? {} : { [AUTH_HEADERS.bodyHash]: bodyHash }),
  };
}
