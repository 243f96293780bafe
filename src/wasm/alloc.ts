// A first-fit allocator over the wasm linear memory, above the module's static data (heapBase).
// Blocks are 64-byte aligned (cache lines, v128 loads). Freed blocks return to an offset-sorted free
// list and merge with their neighbours; when nothing fits, the memory grows (by at least a quarter
// of its size, to amortise growth, or exactly what is missing near the limit). Growing detaches
// the old ArrayBuffer: typed-array views must be re-created from `memory.buffer` afterwards (the
// backend does it lazily, see views()). Offsets never move, so tensors survive growth intact.

import { MAX_BYTES, PAGE } from './instance.js';

const ALIGN = 64;

interface Block {
  off: number;
  size: number;
}

export class LinearAllocator {
  /** Free blocks, sorted by offset, never adjacent (adjacent blocks are merged). */
  private readonly free: Block[] = [];
  /** Bytes handed out and not yet released. */
  used = 0;

  constructor(
    private readonly memory: WebAssembly.Memory,
    readonly base: number,
  ) {
    const end = memory.buffer.byteLength;
    if (end > base) this.free.push({ off: base, size: end - base });
  }

  /** Bytes the memory spans now. */
  get capacity(): number {
    return this.memory.buffer.byteLength;
  }

  /** The most bytes one block could ever get (empty heap grown to the 4 GiB limit). */
  get maxBlock(): number {
    return Math.floor((MAX_BYTES - this.base) / ALIGN) * ALIGN;
  }

  static round(bytes: number): number {
    return Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  }

  /** Offset of a new block of at least `bytes`, or -1 when the memory cannot grow enough. */
  alloc(bytes: number): number {
    const size = LinearAllocator.round(bytes);
    let at = this.fit(size);
    if (at < 0 && this.grow(size)) at = this.fit(size);
    if (at < 0) return -1;
    const b = this.free[at];
    const off = b.off;
    if (b.size === size) this.free.splice(at, 1);
    else {
      b.off += size;
      b.size -= size;
    }
    this.used += size;
    return off;
  }

  /** Returns a block given by alloc (same `bytes`). */
  release(off: number, bytes: number): void {
    const size = LinearAllocator.round(bytes);
    this.used -= size;
    this.insert(off, size);
  }

  private fit(size: number): number {
    for (let i = 0; i < this.free.length; i++) if (this.free[i].size >= size) return i;
    return -1;
  }

  private insert(off: number, size: number): void {
    const list = this.free;
    let i = 0;
    while (i < list.length && list[i].off < off) i++;
    const prev = list[i - 1];
    const next = list[i];
    if (prev && prev.off + prev.size === off) {
      prev.size += size;
      if (next && prev.off + prev.size === next.off) {
        prev.size += next.size;
        list.splice(i, 1);
      }
    } else if (next && off + size === next.off) {
      next.off = off;
      next.size += size;
    } else {
      list.splice(i, 0, { off, size });
    }
  }

  /** Grows the memory so that a block of `size` fits at its end; false when the limit or the host refuses. */
  private grow(size: number): boolean {
    const end = this.capacity;
    const last = this.free[this.free.length - 1];
    const tail = last && last.off + last.size === end ? last.size : 0;
    const start = end - tail;
    const need = Math.ceil((start + size - end) / PAGE);
    const limit = (MAX_BYTES - end) / PAGE;
    if (need > limit) return false;
    const wanted = Math.min(limit, Math.max(need, Math.ceil(end / 4 / PAGE)));
    for (const pages of wanted > need ? [wanted, need] : [need]) {
      try {
        this.memory.grow(pages);
        this.insert(end, pages * PAGE);
        return true;
      } catch {
        // RangeError: the host could not reserve that much; retry with the exact need
      }
    }
    return false;
  }
}
