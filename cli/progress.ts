// Progress on a terminal (cli-progress bars with rate and ETA); silent when output is not a terminal.
import { SingleBar, Presets } from 'cli-progress';
import type { Progress, ProgressListener } from '../core/engine/progress.ts';

export interface ProgressView {
  listener: ProgressListener;
  stop(): void;
}

export function progressView(enabled: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressView {
  if (!enabled || !stream.isTTY) return { listener: () => undefined, stop: () => undefined };
  let bar: SingleBar | null = null;
  let current = '';
  let t0 = Date.now();
  const start = (p: Progress) => {
    bar?.stop();
    bar = new SingleBar(
      {
        stream,
        format: `${p.phase} {item} [{bar}] {percentage}% | {done}/{all} MiB | {rate} MB/s | ETA {eta_formatted}`,
        hideCursor: true,
        etaBuffer: 50,
      },
      Presets.shades_classic,
    );
    bar.start(p.bytesTotal, 0, { item: p.item, done: '0', all: (p.bytesTotal / 2 ** 20).toFixed(0), rate: '0' });
    current = `${p.phase}/${p.item}`;
    t0 = Date.now();
  };
  return {
    listener: (p) => {
      if (`${p.phase}/${p.item}` !== current) start(p);
      const secs = Math.max(0.001, (Date.now() - t0) / 1000);
      bar?.update(p.bytesDone, { item: p.item, done: (p.bytesDone / 2 ** 20).toFixed(0), rate: (p.bytesDone / 1e6 / secs).toFixed(0) });
    },
    stop: () => bar?.stop(),
  };
}
