/** ULIDs (https://github.com/ulid/spec): 48-bit milliseconds + 80 random bits, Crockford base32. */

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

function encodeTime(ms: number): string {
  let out = "";
  let t = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return out;
}

export class UlidFactory {
  private lastMs = -1;
  private lastRandom: number[] = [];

  constructor(private readonly random: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n))) {}

  /** Monotonic within one millisecond, so ids sort in the order records were made. */
  next(ms: number): string {
    if (ms <= this.lastMs) {
      ms = this.lastMs;
      let i = 15;
      while (i >= 0 && this.lastRandom[i] === 31) {
        this.lastRandom[i] = 0;
        i--;
      }
      if (i < 0) throw new Error("ULID random part overflowed within one millisecond");
      this.lastRandom[i] = (this.lastRandom[i] ?? 0) + 1;
    } else {
      this.lastMs = ms;
      this.lastRandom = Array.from(this.random(16), (b) => b % 32);
      this.lastRandom[0] = (this.lastRandom[0] ?? 0) % 16; // leave room to increment
    }
    return encodeTime(ms) + this.lastRandom.map((d) => ALPHABET[d]).join("");
  }
}
