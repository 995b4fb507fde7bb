import { getAddress, isAddress, verifyMessage } from "ethers";
import { RelayError } from "./errors.js";
import type { NonceStore } from "./nonce-store.js";
import { AUTH_HEADERS, NO_BODY_HASH, relayAuthMessage, TIMESTAMP_WINDOW_SECONDS, type RelayDomain } from "./protocol.js";

export interface IncomingRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /**
   * The body hash the request signed: "0x" without a body, else the x-triad-body-hash header. The caller hashes
   * the body only after authentication (and its own cheap checks) passed, and refuses it unless it matches: a
   * junk-signed 4 MiB body costs a signature check, not half a second of hashing.
   */
  hasBody: boolean;
}

const TIMESTAMP = /^[0-9]{1,12}$/;
const NONCE = /^(0x)?[0-9a-fA-F]{32}$/;
const BODY_HASH = /^0x[0-9a-f]{64}$/;

/**
 * Checks a request's auth headers and returns the (checksummed) address that signed it. Rejections are
 * 401s with distinct codes. The nonce is consumed only once the signature is valid, so nobody can burn
 * another account's nonces.
 */
export async function authenticate(
  request: IncomingRequest,
  nonces: NonceStore,
  nowSeconds: number,
  domain: RelayDomain,
): Promise<{ address: string; bodyHash: string }> {
  const claimedAddress = header(request, AUTH_HEADERS.address);
  const timestampText = header(request, AUTH_HEADERS.timestamp);
  const nonceText = header(request, AUTH_HEADERS.nonce);
  const signature = header(request, AUTH_HEADERS.signature);

  if (!isAddress(claimedAddress)) {
    throw unauthorized("bad_address", `${AUTH_HEADERS.address} must be a 20-byte hex address`);
  }
  if (!TIMESTAMP.test(timestampText)) {
    throw unauthorized("bad_timestamp", `${AUTH_HEADERS.timestamp} must be unix seconds (a decimal integer)`);
  }
  if (!NONCE.test(nonceText)) {
    throw unauthorized("bad_nonce", `${AUTH_HEADERS.nonce} must be 16 random bytes as 32 hex digits`);
  }
  const timestamp = Number(timestampText);
  const nonce = nonceText.toLowerCase().replace(/^0x/, "");
  if (Math.abs(nowSeconds - timestamp) > TIMESTAMP_WINDOW_SECONDS) {
    throw unauthorized(
      "stale_timestamp",
      `${AUTH_HEADERS.timestamp} is ${timestamp - nowSeconds} s from the relay's clock (allowed: ±${TIMESTAMP_WINDOW_SECONDS} s)`,
    );
  }

  const bodyHash = request.hasBody ? header(request, AUTH_HEADERS.bodyHash).toLowerCase() : NO_BODY_HASH;
  if (request.hasBody && !BODY_HASH.test(bodyHash)) {
    throw unauthorized("bad_body_hash", `${AUTH_HEADERS.bodyHash} must be the keccak256 of the body as 0x and 64 hex digits`);
  }
  const message = relayAuthMessage({
    domain,
    method: request.method,
    path: request.path,
    bodyHash,
    timestamp,
    nonce: nonceText,
  });
  let signer: string;
  try {
    signer = verifyMessage(message, signature);
  } catch {
    throw unauthorized("bad_signature", `${AUTH_HEADERS.signature} is not a valid 65-byte signature`);
  }
  const address = getAddress(claimedAddress);
  if (signer !== address) {
    throw unauthorized(
      "bad_signature",
      `the signature does not match ${AUTH_HEADERS.address} for this relay's chain and task manager, method, path, body, ` +
        "timestamp and nonce",
    );
  }
  if (!(await nonces.consume(address, nonce, timestamp, nowSeconds))) {
    throw unauthorized("replayed_nonce", `${AUTH_HEADERS.nonce} was already used by ${address}`);
  }
  return { address, bodyHash };
}

function header(request: IncomingRequest, name: string): string {
  const value = request.headers[name];
  if (typeof value !== "string" || value.length === 0) {
    throw unauthorized("missing_auth", `missing header ${name}`);
  }
  return value;
}

function unauthorized(code: string, message: string): RelayError {
  return new RelayError(401, code, message);
}
