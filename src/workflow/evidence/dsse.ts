import { sign, verify, type KeyObject } from 'node:crypto';
import { keyId } from '../audit/keys.ts';

/**
 * DSSE envelopes (github.com/secure-systems-lab/dsse): the signature covers the pre-authentication encoding
 *   PAE(type, body) = "DSSEv1" SP len(type) SP type SP len(body) SP body   (lengths in bytes, as ASCII decimal)
 * so no JSON canonicalisation is needed: the signed bytes are the payload exactly as carried (base64).
 */
export interface Envelope {
  payloadType: string;
  payload: string;
  signatures: { keyid: string; sig: string }[];
}

export function preAuthEncoding(payloadType: string, body: Buffer): Buffer {
  const type = Buffer.from(payloadType);
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${body.length} `), body]);
}

export function signEnvelope(payloadType: string, body: Buffer, key: { name: string; privateKey: KeyObject; publicKey: KeyObject }): Envelope {
  const sig = sign(null, preAuthEncoding(payloadType, body), key.privateKey);
  return { payloadType, payload: body.toString('base64'), signatures: [{ keyid: keyId(key.name, key.publicKey).toString('hex'), sig: sig.toString('base64') }] };
}

/** The payload when a signature by this key verifies, else the reason. */
export function openEnvelope(e: Envelope, name: string, publicKey: KeyObject): { body: Buffer } | { problem: string } {
  if (typeof e?.payload !== 'string' || typeof e.payloadType !== 'string' || !Array.isArray(e.signatures)) return { problem: 'not a DSSE envelope (payloadType, payload, signatures)' };
  const body = Buffer.from(e.payload, 'base64');
  if (body.toString('base64') !== e.payload) return { problem: 'the payload is not canonical base64' };
  const id = keyId(name, publicKey).toString('hex');
  const mine = e.signatures.filter((s) => s.keyid === id);
  if (mine.length === 0) return { problem: `no signature by key ${name} (${id})` };
  const pae = preAuthEncoding(e.payloadType, body);
  if (!mine.some((s) => typeof s.sig === 'string' && verify(null, pae, publicKey, Buffer.from(s.sig, 'base64')))) return { problem: `the signature by ${name} does not verify: the certificate was changed after it was signed, or signed by another key` };
  return { body };
}
