/**
 * xxHash64 for the hashing load balancers (ring hash, maglev), and the 64-bit arithmetic
 * they need without allocating a bigint per pick.
 *
 * xxHash64 comes from `xxhash-wasm`, whose WebAssembly instance is made asynchronously:
 * every thread that builds a RING_HASH or MAGLEV balancer awaits `initHashing()` once at
 * start-up; `xxhash64()` is synchronous afterwards. A 64-bit hash travels as two uint32
 * halves (`hi`, `lo`). Envoy counterpart: `HashUtil::xxHash64` (source/common/common/hash.h).
 */
import xxhash from 'xxhash-wasm';

type XxHashApi = Awaited<ReturnType<typeof xxhash>>;

let api: XxHashApi | undefined;

/** Instantiates xxHash64 on this thread; idempotent. */
export async function initHashing(): Promise<void> {
  api ??= await xxhash();
}

/** True once `initHashing()` has completed on this thread. */
export function hashingReady(): boolean {
  return api !== undefined;
}

/** xxHash64 of the UTF-8 bytes of `input` (Envoy's `HashUtil::xxHash64(key, seed)`). */
export function xxhash64(input: string, seed = 0n): bigint {
  if (api === undefined) throw new Error('xxhash64() used before `await initHashing()` on this thread');
  return api.h64(input, seed);
}

// One 64-bit cell seen as two 32-bit halves, to split a bigint without allocating.
const cell64 = new BigUint64Array(1);
const cell32 = new Uint32Array(cell64.buffer);
cell64[0] = 1n;
const LO = cell32[0] === 1 ? 0 : 1;
const HI = 1 - LO;

/** Splits `h` (taken mod 2^64) into halves; read them with `splitHi()` / `splitLo()`. */
export function split64(h: bigint): void {
  cell64[0] = h;
}

export function splitHi(): number {
  return cell32[HI]!;
}

export function splitLo(): number {
  return cell32[LO]!;
}

/** (hi * 2^32 + lo) mod m, exactly, for integer 0 < m <= 2^32. */
export function mod64(hi: number, lo: number, m: number): number {
  if (m <= 2097152) {
    // Two float divisions (no fmod): every intermediate stays below 2^53, and the one
    // possible off-by-one of a rounded quotient is corrected.
    let r = hi - Math.floor(hi / m) * m;
    const x = r * 4294967296 + lo;
    r = x - Math.floor(x / m) * m;
    if (r < 0) r += m;
    else if (r >= m) r -= m;
    return r;
  }
  // 16 bits at a time keeps every product below 2^53.
  let r = hi % m;
  r = (r * 65536 + (lo >>> 16)) % m;
  return (r * 65536 + (lo & 0xffff)) % m;
}

/** `h mod m` for a bigint hash (build time only). */
export function bigMod(h: bigint, m: number): number {
  return Number(BigInt.asUintN(64, h) % BigInt(m));
}
