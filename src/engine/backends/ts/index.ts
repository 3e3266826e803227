import type { HostBackend } from '../../backend.ts';
import { hostStorage } from '../host.ts';
import { attention, attentionBackward } from './attention.ts';
import { binary, unary, unaryBackward } from './elementwise.ts';
import { gemm } from './gemm.ts';
import { adamw, axpy, copyStrided, hasNonFinite, sumSquares } from './memory.ts';
import {
  crossEntropy, crossEntropyBackward, embedding, embeddingBackward, gather, gatherBackward, layerNorm,
  layerNormBackward, rmsNorm, rmsNormBackward, rope, softmax, softmaxBackward,
} from './nn.ts';
import { reduce } from './reduce.ts';

/** The reference backend: plain TypeScript, runs anywhere (Node or a browser), and is the oracle in tests. */
export const tsBackend: HostBackend = {
  name: 'ts',
  threads: 1,
  ...hostStorage,
  gemm, unary, unaryBackward, binary, reduce, copyStrided, softmax, softmaxBackward, layerNorm, layerNormBackward,
  rmsNorm, rmsNormBackward, crossEntropy, crossEntropyBackward, embedding, embeddingBackward, gather,
  gatherBackward, rope, attention, attentionBackward, adamw, axpy, sumSquares, hasNonFinite,
};
