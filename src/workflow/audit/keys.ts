import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWrite } from '../../model/io/atomic-file.ts';

/**
 * The Ed25519 key that signs audit checkpoints (and, with the evidence issue, certificates). The private key is a
 * PKCS#8 PEM file readable by its owner only; the public key is SPKI PEM, and its signed-note verifier key
 * (`name+keyid+base64(0x01‖key)`, as Go's golang.org/x/mod/sumdb/note writes it) is what a verifier needs.
 */
export interface SigningKey {
  name: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export class KeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyError';
  }
}

const PRIVATE = 'lethe-ed25519.key';
const PUBLIC = 'lethe-ed25519.pub';
const NAME = 'lethe-ed25519.name';

/** The raw 32-byte Ed25519 public key. */
export function rawPublicKey(k: KeyObject): Buffer {
  const der = k.export({ type: 'spki', format: 'der' });
  return der.subarray(der.length - 32);
}

/** The signed-note key id: the first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key). */
export function keyId(name: string, publicKey: KeyObject): Buffer {
  return createHash('sha256').update(`${name}\n`).update(Buffer.from([1])).update(rawPublicKey(publicKey)).digest().subarray(0, 4);
}

/** The verifier key string of signed notes. */
export function verifierKey(name: string, publicKey: KeyObject): string {
  return `${name}+${keyId(name, publicKey).toString('hex')}+${Buffer.concat([Buffer.from([1]), rawPublicKey(publicKey)]).toString('base64')}`;
}

/** Writes a new key pair into `dir`; refuses to replace one (a lost key cannot sign again what it signed). */
export function initKeys(dir: string, name: string): { privatePath: string; publicPath: string; verifier: string } {
  if (!/^[\x21-\x7e]+$/.test(name) || name.includes('+')) throw new KeyError(`key name "${name}": printable ASCII without spaces or "+"`);
  const privatePath = join(dir, PRIVATE);
  if (existsSync(privatePath)) throw new KeyError(`${privatePath} exists: a key is never replaced (move it away first if you mean to)`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicPath = join(dir, PUBLIC);
  atomicWrite(publicPath, [Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }))]);
  atomicWrite(join(dir, NAME), [Buffer.from(`${name}\n`)]);
  atomicWrite(privatePath, [Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' }))]);
  chmodSync(privatePath, 0o600);
  return { privatePath, publicPath, verifier: verifierKey(name, publicKey) };
}

export function loadSigningKey(dir: string): SigningKey {
  const privatePath = join(dir, PRIVATE);
  if (!existsSync(privatePath)) throw new KeyError(`no signing key in ${dir} (create one with lethe keys init)`);
  const privateKey = createPrivateKey(readFileSync(privatePath));
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new KeyError(`${privatePath}: not an Ed25519 key`);
  return { name: readFileSync(join(dir, NAME), 'utf8').trim(), privateKey, publicKey: createPublicKey(privateKey) };
}

/** A public key from a PEM file. */
export function loadPublicKey(path: string): KeyObject {
  let k: KeyObject;
  try {
    k = createPublicKey(readFileSync(path));
  } catch (e) {
    throw new KeyError(`${path}: not a public key (${(e as Error).message})`);
  }
  if (k.asymmetricKeyType !== 'ed25519') throw new KeyError(`${path}: not an Ed25519 public key`);
  return k;
}
