// Log-like text that compresses about 3x with zstd, produced fast by splicing a prebuilt pool.
import { SeededRandom } from './seeded-random.ts';

// The pool must be much larger than a compression chunk, or splices would repeat inside one
// chunk and compress far better than real text. 8 MiB takes ~0.1 s to build, once per process.
const POOL_SIZE = 8 * 1024 * 1024;
const VOCABULARY_SIZE = 4000;
// Splices of about a line or two: long enough to be cheap, short enough that zstd sees text
// statistics (~3x), not long repeats.
const MIN_SPLICE = 256;
const MAX_SPLICE = 2048;

let pool: Buffer | undefined;

/** The shared text pool; built from a fixed seed so every image's text is reproducible. */
export function textPool(): Buffer {
  pool ??= buildPool(new SeededRandom('cloudkeep-text-pool-v1'));
  return pool;
}

/** Fills target with text spliced from the pool at offsets drawn from rng. */
export function fillText(rng: SeededRandom, target: Buffer): void {
  const source = textPool();
  let at = 0;
  while (at < target.length) {
    const n = Math.min(rng.int(MIN_SPLICE, MAX_SPLICE), target.length - at);
    const from = rng.int(0, source.length - n);
    source.copy(target, at, from, from + n);
    at += n;
  }
}

function buildPool(rng: SeededRandom): Buffer {
  const vocabulary = buildVocabulary(rng);
  // Zipf-like word frequencies (rank^-1), as in natural text; a 64 Ki-entry table makes a draw O(1).
  const table = new Uint16Array(65536);
  const weights = vocabulary.map((_, rank) => 1 / (rank + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  let cumulative = 0;
  let slot = 0;
  for (let i = 0; i < vocabulary.length; i++) {
    cumulative += weights[i] / total;
    const end = Math.min(65536, Math.round(cumulative * 65536));
    while (slot < end) table[slot++] = i;
  }
  while (slot < 65536) table[slot++] = vocabulary.length - 1;

  const word = (): string => vocabulary[table[rng.nextUint32() >>> 16]];
  const words = (min: number, max: number): string => {
    const n = rng.int(min, max);
    let s = word();
    for (let i = 1; i < n; i++) s += ' ' + word();
    return s;
  };
  const hex = (digits: number): string => rng.nextUint32().toString(16).padStart(8, '0').slice(0, digits);
  const levels = ['INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'];
  const methods = ['GET', 'GET', 'POST', 'PUT', 'DELETE'];

  // Slack for the last line, which may run past POOL_SIZE before the final cut.
  const out = Buffer.alloc(POOL_SIZE + 64 * 1024);
  let length = 0;
  let time = Date.UTC(2026, 0, 1);
  while (length < POOL_SIZE) {
    time += rng.int(0, 2000);
    const stamp = new Date(time).toISOString();
    const level = levels[rng.int(0, levels.length)];
    const kind = rng.next();
    let line: string;
    if (kind < 0.4) {
      const status = rng.next() < 0.9 ? 200 : [404, 500, 503][rng.int(0, 3)];
      line = `${stamp} ${level} [${word()}-${rng.int(1, 32)}] ${methods[rng.int(0, methods.length)]} /api/v${rng.int(1, 4)}/${word()}/${rng.int(1, 100000)} status=${status} latency_ms=${rng.int(1, 3000)} bytes=${rng.int(0, 1000000)} user=${word()} msg="${words(3, 12)}"\n`;
    } else if (kind < 0.65) {
      line = `${stamp} ${level} ${word()}: ${words(5, 20)} (id=${hex(8)})\n`;
    } else if (kind < 0.9) {
      const sentence = words(8, 24);
      line = `${sentence[0].toUpperCase()}${sentence.slice(1)}${rng.next() < 0.5 ? ', ' : '. '}${words(3, 10)}.\n`;
    } else {
      line = `${stamp.slice(0, 10)},${word()},${rng.int(0, 100000)},${(rng.next() * 1000).toFixed(2)},${word()}\n`;
    }
    length += out.write(line, length, 'latin1');
  }
  return out.subarray(0, POOL_SIZE);
}

/** Pronounceable pseudo-words of one to four syllables, distinct. */
function buildVocabulary(rng: SeededRandom): string[] {
  const consonants = 'bcdfghjklmnprstvwzy';
  const vowels = 'aeiou';
  const seen = new Set<string>();
  const out: string[] = [];
  while (out.length < VOCABULARY_SIZE) {
    const syllables = 1 + (rng.nextUint32() % 3) + (rng.next() < 0.3 ? 1 : 0);
    let w = '';
    for (let i = 0; i < syllables; i++) {
      w += consonants[rng.int(0, consonants.length)] + vowels[rng.int(0, vowels.length)];
      if (rng.next() < 0.25) w += consonants[rng.int(0, consonants.length)];
    }
    if (!seen.has(w)) {
      seen.add(w);
      out.push(w);
    }
  }
  return out;
}
