const MAX_UINT256 = (1n << 256n) - 1n;

/**
 * A task id as typed by a person or sent in a URL: a positive decimal integer without leading zeros that fits
 * in a uint256 (the task manager numbers tasks from 1). Throws a RangeError naming the rule; callers name the field.
 */
export function parseTaskId(text: string): bigint {
  if (!/^[1-9][0-9]{0,77}$/.test(text) || BigInt(text) > MAX_UINT256) {
    throw new RangeError(`must be a positive integer task id (decimal, no leading zeros, at most 2^256-1), got "${text}"`);
  }
  return BigInt(text);
}
