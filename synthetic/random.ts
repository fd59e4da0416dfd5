// Seeded pseudo-random numbers for the synthetic generator. sfc32 (Chris Doty-Humphrey's Small Fast
// Counting generator) is small, fast and passes PractRand; its four 32-bit words are seeded by hashing
// the run seed with a label and an index, so every person, practice or position gets its own
// independent stream. That keeps output stable when one part of the generator changes (adding a FHIR
// field must not move the HL7 feed) and lets any entity be regenerated from its index without storing
// it. Only integer arithmetic and + - * / are used — no Math.log or Math.cos — so the same seed gives
// the same bytes on every platform.

export type SeedLabel = string | number;

const TWO_POW_32 = 4294967296;

/** MurmurHash3's finaliser: spreads every input bit over the whole word. */
function fmix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mixWord(hash: number, word: number): number {
  return fmix32((hash ^ word) + 0x9e3779b9);
}

function mixLabel(hash: number, label: SeedLabel): number {
  if (typeof label === 'number') {
    // Split so that indexes beyond 2^32 (and negative seeds) still hash distinctly.
    const low = label >>> 0;
    const high = Math.floor(label / TWO_POW_32) >>> 0;
    return mixWord(mixWord(mixWord(hash, 0x6e756d), low), high);
  }
  let h = mixWord(hash, 0x737472);
  for (let i = 0; i < label.length; i++) h = mixWord(h, label.charCodeAt(i));
  return mixWord(h, label.length);
}

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  private constructor(a: number, b: number, c: number, d: number) {
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
  }

  /** An independent stream for `(seed, ...labels)`, e.g. `Random.derive(seed, 'person', 17)`. */
  static derive(seed: number, ...labels: SeedLabel[]): Random {
    let h = mixLabel(0x243f6a88, seed);
    for (const label of labels) h = mixLabel(h, label);
    const random = new Random(mixWord(h, 1), mixWord(h, 2), mixWord(h, 3), 1);
    // sfc32 needs a few rounds before nearby seeds diverge.
    for (let i = 0; i < 12; i++) random.uint32();
    return random;
  }

  uint32(): number {
    const t0 = (this.a + this.b) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.d = (this.d + 1) | 0;
    const t = (t0 + this.d) | 0;
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / TWO_POW_32;
  }

  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new RangeError('Random.pick needs a non-empty list');
    return item;
  }

  /**
   * Picks towards the front of the list (index ~ n·u(1+u)/2): the first of 100 names comes up about
   * 2% of the time and the last about 0.7%, roughly the spread of common surnames.
   */
  pickSkewed<T>(items: readonly T[]): T {
    const u = this.next();
    const item = items[Math.floor(((u * (1 + u)) / 2) * items.length)];
    if (item === undefined) throw new RangeError('Random.pickSkewed needs a non-empty list');
    return item;
  }

  /** Picks by relative weight: `weighted([['I', 45], ['O', 35], ['E', 20]])`. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, weight] of items) total += weight;
    let target = this.next() * total;
    for (const [item, weight] of items) {
      target -= weight;
      if (target < 0) return item;
    }
    const last = items[items.length - 1];
    if (last === undefined) throw new RangeError('Random.weighted needs a non-empty list');
    return last[0];
  }

  /** Roughly normal (Irwin–Hall sum of four uniforms), using arithmetic only so results are portable. */
  normal(mean: number, sd: number): number {
    const sum = this.next() + this.next() + this.next() + this.next();
    // The sum has mean 2 and variance 1/3; rescale to unit variance.
    return mean + (sum - 2) * 1.7320508075688772 * sd;
  }

  /** A version-4-shaped UUID, for FHIR resource ids. */
  uuid(): string {
    const w0 = this.uint32();
    const w1 = this.uint32();
    const w2 = this.uint32();
    const w3 = this.uint32();
    const hex = (w: number) => w.toString(16).padStart(8, '0');
    const h1 = hex(w1);
    const h2 = hex(((w2 & 0x3fffffff) | 0x80000000) >>> 0);
    return `${hex(w0)}-${h1.slice(0, 4)}-4${h1.slice(5, 8)}-${h2.slice(0, 4)}-${h2.slice(4, 8)}${hex(w3)}`;
  }
}

/**
 * A bijection on [0, modulus): i ↦ (multiplier·i + offset) mod modulus. Used to hand out unique,
 * random-looking numbers (NHS numbers, ESR person ids) from a counter without remembering which were
 * used — memory stays flat however many are issued.
 */
export class AffinePermutation {
  readonly modulus: number;
  private readonly multiplier: number;
  private readonly offset: number;

  constructor(modulus: number, random: Random) {
    this.modulus = modulus;
    let multiplier = random.int(Math.floor(modulus / 3), modulus - 1);
    while (gcd(multiplier, modulus) !== 1) multiplier++;
    this.multiplier = multiplier;
    this.offset = random.int(0, modulus - 1);
  }

  at(index: number): number {
    // Split the index so no intermediate product passes 2^53 (moduli here are at most 10^8).
    const high = Math.floor(index / 65536);
    const low = index % 65536;
    const part = ((((high * this.multiplier) % this.modulus) * 65536) % this.modulus + low * this.multiplier) % this.modulus;
    return (part + this.offset) % this.modulus;
  }
}

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}
