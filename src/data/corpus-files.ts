import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A generated corpus file's content, before it is written. */
export interface CorpusFile {
  text: string;
  records: number;
}

/** What a manifest says of each file, so a reader can check the files are the ones generated. */
export interface FileInfo {
  records: number;
  bytes: number;
  sha256: string;
}

export function fileInfos(files: ReadonlyMap<string, CorpusFile>): Record<string, FileInfo> {
  const info: Record<string, FileInfo> = {};
  for (const [name, f] of files) {
    const bytes = Buffer.from(f.text, 'utf8');
    info[name] = { records: f.records, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  return info;
}

/** Writes every file and then manifest.json into `outDir`. */
export function writeCorpusFolder(outDir: string, files: ReadonlyMap<string, CorpusFile>, manifest: object): void {
  mkdirSync(outDir, { recursive: true });
  for (const [name, f] of files) writeFileSync(join(outDir, name), f.text);
  writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
}
