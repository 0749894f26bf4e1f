#!/usr/bin/env node
// storage-torture: hammers a LevelStorage the way a Ready loop does (appends, suffix
// overwrites, snapshot compactions) until it is killed, printing each acknowledged state.
// The crash test SIGKILLs it at random moments, reopens the store and checks that everything
// acknowledged is there and intact.
//
//   node dist/bin/storage-torture.js <dir>
// stdout: one line per durable save, "ack <lastIndex> <term> <snapshotIndex>".
// Entry data is a pure function of (index, term), so a reader can verify every byte.
import { EntryType, type Entry } from "../core/types.js";
import { LevelStorage } from "../storage/level_storage.js";

export function tortureData(index: number, term: number): Uint8Array {
  const size = 1 + ((index * 7919) % 300);
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (index + term * 31 + i) & 0xff;
  return data;
}

async function main(): Promise<void> {
  const dir = process.argv[2]!;
  const s = await LevelStorage.open(dir, { voters: [1] });
  let term = Math.max(1, s.hardState().term);
  let step = 0;
  for (;;) {
    step++;
    let first = s.lastIndex() + 1;
    if (step % 7 === 0 && s.lastIndex() - 5 > s.firstIndex()) {
      // A new leader's term overwrites a short suffix.
      term++;
      first = s.lastIndex() - 3;
    }
    const count = 1 + (step % 50);
    const entries: Entry[] = [];
    for (let i = 0; i < count; i++) entries.push({ index: first + i, term, type: EntryType.Normal, data: tortureData(first + i, term) });
    await s.save({ term, vote: 1, commit: Math.max(s.snapshot().meta.index, first - 1) }, entries);
    if (step % 11 === 0 && s.lastIndex() - 20 > s.snapshot().meta.index) {
      const index = s.lastIndex() - 20;
      await s.compact({ meta: { index, term: s.term(index), voters: [1], observers: [] }, data: Uint8Array.of(index & 0xff) });
    }
    process.stdout.write(`ack ${s.lastIndex()} ${term} ${s.snapshot().meta.index}\n`);
  }
}

if (process.argv[1]?.endsWith("storage-torture.js")) {
  main().catch((err: unknown) => {
    process.stderr.write(`storage-torture failed: ${String(err)}\n`);
    process.exit(1);
  });
}
