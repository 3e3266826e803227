/**
 * zlib-compressed size, as CPython's zlib.compress(data) (level 6) produces it with standard zlib: the zlib
 * membership attack divides by it, and open-unlearning computes it that way.
 *
 * Why not a library: Node's own zlib is Chromium's fork, which hashes differently and so finds other matches (its
 * size differs from standard zlib's on about three quarters of TOFU answers), and pako 3 differs on half of the
 * golden cases too. So we replay standard zlib 1.2.13's deflate (deflate.c: fill_window, longest_match,
 * deflate_slow; trees.c: build_tree, gen_bitlen, build_bl_tree, _tr_flush_block) and count the bits it would emit
 * instead of emitting them. test/fixtures/eval/zlib.json holds CPython's sizes for 216 inputs.
 */

const W_SIZE = 32768;
const W_MASK = W_SIZE - 1;
const WINDOW_SIZE = 2 * W_SIZE;
const HASH_SHIFT = 5; // (hash_bits + MIN_MATCH − 1) / MIN_MATCH with hash_bits = memLevel + 7 = 15
const HASH_MASK = 32767;
const MIN_MATCH = 3;
const MAX_MATCH = 258;
const MIN_LOOKAHEAD = MAX_MATCH + MIN_MATCH + 1;
const MAX_DIST = W_SIZE - MIN_LOOKAHEAD;
const WIN_INIT = MAX_MATCH;
const TOO_FAR = 4096;
// configuration_table[6]: good_length, max_lazy, nice_length, max_chain (deflate_slow)
const GOOD_MATCH = 8;
const MAX_LAZY = 16;
const NICE_MATCH = 128;
const MAX_CHAIN = 128;
const SYMBOLS_PER_BLOCK = (1 << (8 + 6)) - 1; // lit_bufsize − 1 with memLevel 8

const L_CODES = 286;
const D_CODES = 30;
const BL_CODES = 19;
const END_BLOCK = 256;
const EXTRA_LBITS = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const EXTRA_DBITS = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const EXTRA_BLBITS = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 7];
const BL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

const LENGTH_CODE = new Uint8Array(256);
const DIST_CODE = new Uint8Array(512);
const STATIC_LTREE_LEN = new Uint8Array(L_CODES + 2);
(() => {
  let length = 0;
  let code = 0;
  for (; code < 28; code++) for (let n = 0; n < 1 << EXTRA_LBITS[code]!; n++) LENGTH_CODE[length++] = code;
  LENGTH_CODE[length - 1] = code; // match length 258 gets its own code
  let dist = 0;
  for (code = 0; code < 16; code++) for (let n = 0; n < 1 << EXTRA_DBITS[code]!; n++) DIST_CODE[dist++] = code;
  dist >>= 7;
  for (; code < D_CODES; code++) for (let n = 0; n < 1 << (EXTRA_DBITS[code]! - 7); n++) DIST_CODE[256 + dist++] = code;
  for (let n = 0; n < L_CODES + 2; n++) STATIC_LTREE_LEN[n] = n <= 143 ? 8 : n <= 255 ? 9 : n <= 279 ? 7 : 8;
})();

const dCode = (dist: number): number => (dist < 256 ? DIST_CODE[dist]! : DIST_CODE[256 + (dist >> 7)]!);

/** One Huffman tree under construction (zlib's ct_data arrays plus its tree_desc). */
interface HuffTree {
  freq: Uint32Array;
  len: Uint16Array;
  dad: Uint16Array;
  elems: number;
  extra: readonly number[];
  extraBase: number;
  maxLength: number;
  staticLen: ((n: number) => number) | null;
  maxCode: number;
}

function newTree(elems: number, extra: readonly number[], extraBase: number, maxLength: number, staticLen: ((n: number) => number) | null): HuffTree {
  const size = 2 * elems + 1;
  return { freq: new Uint32Array(size), len: new Uint16Array(size), dad: new Uint16Array(size), elems, extra, extraBase, maxLength, staticLen, maxCode: 0 };
}

class DeflateSizer {
  private readonly window = new Uint8Array(WINDOW_SIZE);
  private readonly prev = new Uint16Array(W_SIZE);
  private readonly head = new Uint16Array(W_SIZE);
  private strstart = 0;
  private blockStart = 0;
  private lookahead = 0;
  private insert = 0;
  private insH = 0;
  private matchLength = MIN_MATCH - 1;
  private prevLength = MIN_MATCH - 1;
  private matchAvailable = false;
  private matchStart = 0;
  private prevMatch = 0;
  private highWater = 0;
  private nextIn = 0;
  private symbols = 0;
  /** Bits emitted so far (header and trailer excluded). */
  bits = 0;
  private readonly ltree = newTree(L_CODES, EXTRA_LBITS, 257, 15, (n) => STATIC_LTREE_LEN[n]!);
  private readonly dtree = newTree(D_CODES, EXTRA_DBITS, 0, 15, () => 5);
  private readonly bltree = newTree(BL_CODES, EXTRA_BLBITS, 0, 7, null);
  private optLen = 0;
  private staticLen = 0;
  private readonly heap = new Int32Array(2 * L_CODES + 1);
  private readonly depth = new Uint8Array(2 * L_CODES + 1);
  private heapLen = 0;
  private heapMax = 0;
  private readonly blCount = new Uint16Array(16);

  constructor(private readonly input: Uint8Array) {
    this.initBlock();
  }

  private initBlock(): void {
    this.ltree.freq.fill(0);
    this.dtree.freq.fill(0);
    this.bltree.freq.fill(0);
    this.ltree.freq[END_BLOCK] = 1;
    this.optLen = 0;
    this.staticLen = 0;
    this.symbols = 0;
  }

  private updateHash(h: number, c: number): number {
    return ((h << HASH_SHIFT) ^ c) & HASH_MASK;
  }

  /** INSERT_STRING: links position str into its hash chain and returns the previous chain head. */
  private insertString(str: number): number {
    this.insH = this.updateHash(this.insH, this.window[str + MIN_MATCH - 1]!);
    const h = this.head[this.insH]!;
    this.prev[str & W_MASK] = h;
    this.head[this.insH] = str;
    return h;
  }

  private fillWindow(): void {
    do {
      let more = WINDOW_SIZE - this.lookahead - this.strstart;
      if (this.strstart >= W_SIZE + MAX_DIST) {
        this.window.copyWithin(0, W_SIZE, W_SIZE + W_SIZE - more);
        this.matchStart -= W_SIZE;
        this.strstart -= W_SIZE;
        this.blockStart -= W_SIZE;
        if (this.insert > this.strstart) this.insert = this.strstart;
        for (let i = 0; i < W_SIZE; i++) {
          const h = this.head[i]!;
          this.head[i] = h >= W_SIZE ? h - W_SIZE : 0;
          const p = this.prev[i]!;
          this.prev[i] = p >= W_SIZE ? p - W_SIZE : 0;
        }
        more += W_SIZE;
      }
      const avail = this.input.length - this.nextIn;
      if (avail === 0) break;
      const n = Math.min(avail, more);
      this.window.set(this.input.subarray(this.nextIn, this.nextIn + n), this.strstart + this.lookahead);
      this.nextIn += n;
      this.lookahead += n;
      if (this.lookahead + this.insert >= MIN_MATCH) {
        let str = this.strstart - this.insert;
        this.insH = this.window[str]!;
        this.insH = this.updateHash(this.insH, this.window[str + 1]!);
        while (this.insert) {
          this.insH = this.updateHash(this.insH, this.window[str + MIN_MATCH - 1]!);
          this.prev[str & W_MASK] = this.head[this.insH]!;
          this.head[this.insH] = str;
          str++;
          this.insert--;
          if (this.lookahead + this.insert < MIN_MATCH) break;
        }
      }
    } while (this.lookahead < MIN_LOOKAHEAD && this.nextIn < this.input.length);
    // Zero WIN_INIT bytes past the data so longest_match never reads bytes C would leave uninitialised.
    if (this.highWater < WINDOW_SIZE) {
      const curr = this.strstart + this.lookahead;
      if (this.highWater < curr) {
        const init = Math.min(WINDOW_SIZE - curr, WIN_INIT);
        this.window.fill(0, curr, curr + init);
        this.highWater = curr + init;
      } else if (this.highWater < curr + WIN_INIT) {
        const init = Math.min(curr + WIN_INIT - this.highWater, WINDOW_SIZE - this.highWater);
        this.window.fill(0, this.highWater, this.highWater + init);
        this.highWater += init;
      }
    }
  }

  private longestMatch(curMatch: number): number {
    const win = this.window;
    let chainLength = MAX_CHAIN;
    const scan = this.strstart;
    let bestLen = this.prevLength;
    let niceMatch = NICE_MATCH;
    const limit = this.strstart > MAX_DIST ? this.strstart - MAX_DIST : 0;
    let scanEnd1 = win[scan + bestLen - 1]!;
    let scanEnd = win[scan + bestLen]!;
    if (this.prevLength >= GOOD_MATCH) chainLength >>= 2;
    if (niceMatch > this.lookahead) niceMatch = this.lookahead;
    do {
      const match = curMatch;
      if (win[match + bestLen] !== scanEnd || win[match + bestLen - 1] !== scanEnd1 || win[match] !== win[scan] || win[match + 1] !== win[scan + 1]) continue;
      // zlib skips offset 2 (equal whenever the hashes are) and compares from offset 3 up to MAX_MATCH.
      let len = 3;
      while (len < MAX_MATCH && win[scan + len] === win[match + len]) len++;
      if (len > bestLen) {
        this.matchStart = curMatch;
        bestLen = len;
        if (len >= niceMatch) break;
        scanEnd1 = win[scan + bestLen - 1]!;
        scanEnd = win[scan + bestLen]!;
      }
    } while ((curMatch = this.prev[curMatch & W_MASK]!) > limit && --chainLength !== 0);
    return bestLen <= this.lookahead ? bestLen : this.lookahead;
  }

  private tallyLit(c: number): boolean {
    this.ltree.freq[c]!++;
    return ++this.symbols === SYMBOLS_PER_BLOCK;
  }

  private tallyDist(dist: number, lc: number): boolean {
    this.ltree.freq[LENGTH_CODE[lc]! + 256 + 1]!++;
    this.dtree.freq[dCode(dist - 1)]!++;
    return ++this.symbols === SYMBOLS_PER_BLOCK;
  }

  private flushBlock(last: boolean): void {
    const stored = this.blockStart >= 0;
    const storedLen = this.strstart - this.blockStart;
    this.buildTree(this.ltree);
    this.buildTree(this.dtree);
    this.buildBlTree();
    let optLenb = (this.optLen + 3 + 7) >>> 3;
    const staticLenb = (this.staticLen + 3 + 7) >>> 3;
    if (staticLenb <= optLenb) optLenb = staticLenb;
    if (storedLen + 4 <= optLenb && stored) {
      this.bits += 3;
      this.bits = Math.ceil(this.bits / 8) * 8 + 32 + 8 * storedLen;
    } else if (staticLenb === optLenb) {
      this.bits += 3 + this.staticLen;
    } else {
      this.bits += 3 + this.optLen;
    }
    this.initBlock();
    if (last) this.bits = Math.ceil(this.bits / 8) * 8;
    this.blockStart = this.strstart;
  }

  private smaller(t: HuffTree, n: number, m: number): boolean {
    return t.freq[n]! < t.freq[m]! || (t.freq[n] === t.freq[m] && this.depth[n]! <= this.depth[m]!);
  }

  private pqdownheap(t: HuffTree, k: number): void {
    const heap = this.heap;
    const v = heap[k]!;
    let j = k << 1;
    while (j <= this.heapLen) {
      if (j < this.heapLen && this.smaller(t, heap[j + 1]!, heap[j]!)) j++;
      if (this.smaller(t, v, heap[j]!)) break;
      heap[k] = heap[j]!;
      k = j;
      j <<= 1;
    }
    heap[k] = v;
  }

  /** build_tree: Huffman code lengths for t's frequencies; adds the block's cost to optLen/staticLen. */
  private buildTree(t: HuffTree): void {
    const heap = this.heap;
    const HEAP_SIZE = 2 * L_CODES + 1;
    let maxCode = -1;
    this.heapLen = 0;
    this.heapMax = HEAP_SIZE;
    for (let n = 0; n < t.elems; n++) {
      if (t.freq[n] !== 0) {
        heap[++this.heapLen] = maxCode = n;
        this.depth[n] = 0;
      } else {
        t.len[n] = 0;
      }
    }
    // Deflate needs at least two codes: force some of frequency 1 (costing nothing in the accounting).
    while (this.heapLen < 2) {
      const node = (heap[++this.heapLen] = maxCode < 2 ? ++maxCode : 0);
      t.freq[node] = 1;
      this.depth[node] = 0;
      this.optLen--;
      if (t.staticLen) this.staticLen -= t.staticLen(node);
    }
    t.maxCode = maxCode;
    for (let n = this.heapLen >> 1; n >= 1; n--) this.pqdownheap(t, n);
    let node = t.elems;
    do {
      const n = heap[1]!;
      heap[1] = heap[this.heapLen--]!;
      this.pqdownheap(t, 1);
      const m = heap[1]!;
      heap[--this.heapMax] = n;
      heap[--this.heapMax] = m;
      t.freq[node] = t.freq[n]! + t.freq[m]!;
      this.depth[node] = (this.depth[n]! >= this.depth[m]! ? this.depth[n]! : this.depth[m]!) + 1;
      t.dad[n] = t.dad[m] = node;
      heap[1] = node++;
      this.pqdownheap(t, 1);
    } while (this.heapLen >= 2);
    heap[--this.heapMax] = heap[1]!;
    this.genBitlen(t);
  }

  /** gen_bitlen: lengths from the tree, capped at maxLength with zlib's overflow repair; accumulates the cost. */
  private genBitlen(t: HuffTree): void {
    const heap = this.heap;
    const HEAP_SIZE = 2 * L_CODES + 1;
    const blCount = this.blCount;
    blCount.fill(0);
    let overflow = 0;
    t.len[heap[this.heapMax]!] = 0;
    let h: number;
    for (h = this.heapMax + 1; h < HEAP_SIZE; h++) {
      const n = heap[h]!;
      let bits = t.len[t.dad[n]!]! + 1;
      if (bits > t.maxLength) {
        bits = t.maxLength;
        overflow++;
      }
      t.len[n] = bits;
      if (n > t.maxCode) continue;
      blCount[bits]!++;
      const xbits = n >= t.extraBase ? t.extra[n - t.extraBase]! : 0;
      const f = t.freq[n]!;
      this.optLen += f * (bits + xbits);
      if (t.staticLen) this.staticLen += f * (t.staticLen(n) + xbits);
    }
    if (overflow === 0) return;
    do {
      let bits = t.maxLength - 1;
      while (blCount[bits] === 0) bits--;
      blCount[bits]!--;
      blCount[bits + 1]! += 2;
      blCount[t.maxLength]!--;
      overflow -= 2;
    } while (overflow > 0);
    for (let bits = t.maxLength; bits !== 0; bits--) {
      let n = blCount[bits]!;
      while (n !== 0) {
        const m = heap[--h]!;
        if (m > t.maxCode) continue;
        if (t.len[m] !== bits) {
          this.optLen += (bits - t.len[m]!) * t.freq[m]!;
          t.len[m] = bits;
        }
        n--;
      }
    }
  }

  /** scan_tree: frequencies of the code-length alphabet that will describe tree t (run-length coded). */
  private scanTree(t: HuffTree): void {
    const bl = this.bltree.freq;
    let prevlen = -1;
    let nextlen = t.len[0]!;
    let count = 0;
    let maxCount = 7;
    let minCount = 4;
    if (nextlen === 0) {
      maxCount = 138;
      minCount = 3;
    }
    for (let n = 0; n <= t.maxCode; n++) {
      const curlen = nextlen;
      nextlen = n + 1 <= t.maxCode ? t.len[n + 1]! : 0xffff; // zlib's guard entry
      if (++count < maxCount && curlen === nextlen) continue;
      else if (count < minCount) bl[curlen]! += count;
      else if (curlen !== 0) {
        if (curlen !== prevlen) bl[curlen]!++;
        bl[16]!++;
      } else if (count <= 10) bl[17]!++;
      else bl[18]!++;
      count = 0;
      prevlen = curlen;
      if (nextlen === 0) {
        maxCount = 138;
        minCount = 3;
      } else if (curlen === nextlen) {
        maxCount = 6;
        minCount = 3;
      } else {
        maxCount = 7;
        minCount = 4;
      }
    }
  }

  private buildBlTree(): void {
    this.scanTree(this.ltree);
    this.scanTree(this.dtree);
    this.buildTree(this.bltree);
    let maxBlindex: number;
    for (maxBlindex = BL_CODES - 1; maxBlindex >= 3; maxBlindex--) if (this.bltree.len[BL_ORDER[maxBlindex]!] !== 0) break;
    this.optLen += 3 * (maxBlindex + 1) + 5 + 5 + 4;
  }

  /** deflate_slow(s, Z_FINISH) over the whole input: lazy matching, flushing a block every 16,383 symbols. */
  run(): void {
    for (;;) {
      if (this.lookahead < MIN_LOOKAHEAD) {
        this.fillWindow();
        if (this.lookahead === 0) break;
      }
      let hashHead = 0;
      if (this.lookahead >= MIN_MATCH) hashHead = this.insertString(this.strstart);
      this.prevLength = this.matchLength;
      this.prevMatch = this.matchStart;
      this.matchLength = MIN_MATCH - 1;
      if (hashHead !== 0 && this.prevLength < MAX_LAZY && this.strstart - hashHead <= MAX_DIST) {
        this.matchLength = this.longestMatch(hashHead);
        if (this.matchLength <= 5 && this.matchLength === MIN_MATCH && this.strstart - this.matchStart > TOO_FAR) this.matchLength = MIN_MATCH - 1;
      }
      if (this.prevLength >= MIN_MATCH && this.matchLength <= this.prevLength) {
        const maxInsert = this.strstart + this.lookahead - MIN_MATCH;
        const bflush = this.tallyDist(this.strstart - 1 - this.prevMatch, this.prevLength - MIN_MATCH);
        this.lookahead -= this.prevLength - 1;
        this.prevLength -= 2;
        do {
          if (++this.strstart <= maxInsert) this.insertString(this.strstart);
        } while (--this.prevLength !== 0);
        this.matchAvailable = false;
        this.matchLength = MIN_MATCH - 1;
        this.strstart++;
        if (bflush) this.flushBlock(false);
      } else if (this.matchAvailable) {
        if (this.tallyLit(this.window[this.strstart - 1]!)) this.flushBlock(false);
        this.strstart++;
        this.lookahead--;
      } else {
        this.matchAvailable = true;
        this.strstart++;
        this.lookahead--;
      }
    }
    if (this.matchAvailable) {
      this.tallyLit(this.window[this.strstart - 1]!);
      this.matchAvailable = false;
    }
    this.flushBlock(true);
  }
}

/**
 * len(zlib.compress(data)) in CPython with standard zlib (level 6, windowBits 15, memLevel 8): 2 header bytes,
 * the deflate stream, 4 Adler-32 bytes. Strings are UTF-8 encoded first, as open-unlearning's text.encode().
 */
export function zlibCompressedSize(data: string | Uint8Array): number {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const sizer = new DeflateSizer(bytes);
  sizer.run();
  return 2 + sizer.bits / 8 + 4;
}
