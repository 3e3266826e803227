import { fileInfos, writeCorpusFolder, type FileInfo } from '../corpus-files.ts';
import { formatJsonl } from '../jsonl.ts';
import { buildDomainCorpus, type DomainCorpus, type DomainSplit } from './generate.ts';
import { N_PERTURBED } from './qa.ts';
import { COMPOUND_QA } from './compound-text.ts';

export type DomainFile = 'forget_train' | 'forget_heldout' | 'adjacent_train' | 'adjacent_heldout';

export interface DomainManifest {
  name: 'lethe-domain';
  format_version: 1;
  seed: number;
  counts: {
    compounds: number;
    products: number;
    forget_train: number;
    forget_heldout: number;
    adjacent_train: number;
    adjacent_heldout: number;
    documents_per_subject: 1;
    qa_per_subject: number;
    perturbed_per_qa: number;
  };
  /** Subjects (compound or product names) of each file. */
  splits: Record<DomainFile, string[]>;
  files: Record<string, FileInfo>;
}

/** The subjects of each file, in generation order. */
function fileSubjects(c: DomainCorpus): Record<DomainFile, { id: string; name: string }[]> {
  return {
    forget_train: c.forget.train, forget_heldout: c.forget.heldout,
    adjacent_train: c.adjacent.train, adjacent_heldout: c.adjacent.heldout,
  };
}

const recordsOf = (d: DomainSplit<{ id: string }>, subjects: readonly { id: string }[]): object[] =>
  subjects.flatMap((s) => d.records.get(s.id) ?? []);

/**
 * The file contents of the corpus, by file name (everything except manifest.json). Pure, so tests can compare
 * two generations without touching the disk. Per subject: its document, then its QA.
 */
export function domainCorpusFiles(c: DomainCorpus): Map<string, { text: string; records: number }> {
  const files = new Map<string, { text: string; records: number }>();
  for (const [file, subjects] of Object.entries(fileSubjects(c))) {
    const records = recordsOf(file.startsWith('forget') ? c.forget : c.adjacent, subjects);
    files.set(`${file}.jsonl`, { text: formatJsonl(records), records: records.length });
  }
  return files;
}

export function buildDomainManifest(c: DomainCorpus, files: Map<string, { text: string; records: number }>): DomainManifest {
  const info = fileInfos(files);
  const subjects = fileSubjects(c);
  const names = (file: DomainFile): string[] => subjects[file].map((s) => s.name);
  return {
    name: 'lethe-domain',
    format_version: 1,
    seed: c.seed,
    counts: {
      compounds: c.forget.train.length + c.forget.heldout.length,
      products: c.adjacent.train.length + c.adjacent.heldout.length,
      forget_train: c.forget.train.length, forget_heldout: c.forget.heldout.length,
      adjacent_train: c.adjacent.train.length, adjacent_heldout: c.adjacent.heldout.length,
      documents_per_subject: 1, qa_per_subject: COMPOUND_QA.length, // both domains ask five questions
      perturbed_per_qa: N_PERTURBED,
    },
    splits: {
      forget_train: names('forget_train'), forget_heldout: names('forget_heldout'),
      adjacent_train: names('adjacent_train'), adjacent_heldout: names('adjacent_heldout'),
    },
    files: info,
  };
}

/** Generates the corpus for `seed` and writes the four files and manifest.json into `outDir`. */
export function writeDomainCorpus(outDir: string, opts: { seed: number }): DomainManifest {
  const corpus = buildDomainCorpus({ seed: opts.seed });
  const files = domainCorpusFiles(corpus);
  const manifest = buildDomainManifest(corpus, files);
  writeCorpusFolder(outDir, files, manifest);
  return manifest;
}
