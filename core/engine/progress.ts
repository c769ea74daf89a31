// Progress events of long work: bytes done and total; rates and ETA are derived by whoever shows them.

export interface Progress {
  phase: 'backup' | 'restore' | 'verify' | 'prune';
  /** What is being worked on, e.g. a disk name or a restore point id. */
  item: string;
  bytesDone: number;
  bytesTotal: number;
}

export type ProgressListener = (progress: Progress) => void;
