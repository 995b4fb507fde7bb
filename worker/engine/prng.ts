/**
 * The task's random numbers: xoshiro256** (Blackman & Vigna) with its state filled by SplitMix64.
 * Stream i (the i-th returned sequence) takes SplitMix64(seed) outputs 4i .. 4i+3 as its state,
 * so streams are independent of how many there are. See docs/sampling.md.
 */
const MASK64 = (1n << 64n) - 1n;

export class SplitMix64 {
  private state: bigint;

  constructor(seed: bigint) {
    this.state = seed & MASK64;
  }

  next(): bigint {
    this.state = (this.state + 0x9e3779b97f4a7c15n) & MASK64;
    let z = this.state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    return z ^ (z >> 31n);
  }
}

export class Xoshiro256StarStar {
  private readonly s: [bigint, bigint, bigint, bigint];

  constructor(state: [bigint, bigint, bigint, bigint]) {
    if (state.every((word) => word === 0n)) throw new RangeError("xoshiro256** state must not be all zero");
    this.s = [...state];
  }

  /** Generator for returned sequence `stream` of a task with this seed. */
  static forStream(seed: number | bigint, stream: number): Xoshiro256StarStar {
    const splitMix = new SplitMix64(BigInt(seed));
    for (let skipped = 0; skipped < 4 * stream; skipped++) splitMix.next();
    return new Xoshiro256StarStar([splitMix.next(), splitMix.next(), splitMix.next(), splitMix.next()]);
  }

  nextUint64(): bigint {
    const s = this.s;
    const result = (rotl((s[1] * 5n) & MASK64, 7n) * 9n) & MASK64;
    const t = (s[1] << 17n) & MASK64;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45n);
    return result;
  }

  /** Uniform double in [0, 1): the top 53 bits of the next output times 2^-53. */
  nextUniform(): number {
    return Number(this.nextUint64() >> 11n) * 2 ** -53;
  }
}

function rotl(x: bigint, k: bigint): bigint {
  return ((x << k) | (x >> (64n - k))) & MASK64;
}
