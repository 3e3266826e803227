import { sign, verify, type KeyObject } from 'node:crypto';
import { keyId, type SigningKey } from './keys.ts';

/**
 * Checkpoints in the C2SP tlog-checkpoint format, as a signed note (C2SP signed-note):
 *
 *   <origin>\n<tree size>\n<base64 root hash>\n\n— <key name> <base64(key id ‖ Ed25519 signature of the body)>\n
 *
 * The body is the three lines with their newlines; the signature covers exactly those bytes.
 */
export interface Checkpoint {
  origin: string;
  size: number;
  root: Buffer;
}

export function checkpointBody(c: Checkpoint): string {
  return `${c.origin}\n${c.size}\n${c.root.toString('base64')}\n`;
}

export function signCheckpoint(c: Checkpoint, key: SigningKey): string {
  const body = checkpointBody(c);
  const sig = sign(null, Buffer.from(body), key.privateKey);
  return `${body}\n— ${key.name} ${Buffer.concat([keyId(key.name, key.publicKey), sig]).toString('base64')}\n`;
}

/** Parses and checks a signed checkpoint note against `publicKey` (named `name`); null with a reason if it fails. */
export function openCheckpoint(note: string, name: string, publicKey: KeyObject): { checkpoint: Checkpoint } | { problem: string } {
  const sep = note.indexOf('\n\n');
  if (sep < 0) return { problem: 'not a signed note (no blank line before the signatures)' };
  const body = note.slice(0, sep + 1);
  const lines = body.split('\n');
  if (lines.length !== 4 || lines[3] !== '') return { problem: 'the checkpoint body must be origin, size and root hash on three lines' };
  const [origin, sizeText, rootText] = lines as [string, string, string];
  if (!/^(0|[1-9]\d*)$/.test(sizeText)) return { problem: `tree size "${sizeText}" is not a number` };
  const root = Buffer.from(rootText, 'base64');
  if (root.length !== 32 || root.toString('base64') !== rootText) return { problem: 'the root hash is not 32 bytes of base64' };
  const id = keyId(name, publicKey);
  const sigs = note.slice(sep + 2).split('\n').filter((l) => l.length > 0);
  for (const line of sigs) {
    const m = /^— (\S+) (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const raw = Buffer.from(m[2]!, 'base64');
    if (raw.length !== 68 || !raw.subarray(0, 4).equals(id)) continue;
    if (verify(null, Buffer.from(body), publicKey, raw.subarray(4))) return { checkpoint: { origin, size: Number(sizeText), root } };
    return { problem: `the signature by ${name} does not verify` };
  }
  return { problem: `no signature by key ${name} (${id.toString('hex')})` };
}
