"""A fast PNG encoder for 8-bit RGB images (the dataset writer's).

:func:`png_bytes` filters every row with PNG's Paeth predictor and codes the result as
one DEFLATE block with a Huffman code built for that image (literals only: no string
matching, like zlib's ``Z_HUFFMAN_ONLY``), both in numba. Measured on 40 face crops of
:func:`thesislib.datasets.generation.generate` (224 px, bank backgrounds): 43.7 kB in ~0.4 ms,
against 50.7 kB in 1.2-1.4 ms for the previous encoder (Up filter + zlib level 1
``Z_RLE``) and ~50 kB in 3.3 ms for PIL at compress_level 1. Order-0 entropy of the
filtered bytes (kB): none 134, Up 59.5, Sub 55.1, Average 53.8, Paeth 42.6; zlib on the
Paeth rows gives 43.3 kB Huffman-only and 48.7 kB at level 1 (string matching does not
pay on residuals of the backgrounds' pixel noise), so a literal-only code loses nothing.

Any PNG reader decodes the files (a standard zlib stream: header, one dynamic block,
Adler-32). Same image, same bytes, on any machine.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np
from numba import njit

#: Settings recorded in a dataset card.
PNG_FILTER = "paeth, one dynamic-Huffman DEFLATE block (literals only)"
MAX_BITS = 15  # DEFLATE's longest literal/length code
MAX_CL_BITS = 7  # longest code of the code-length alphabet
#: Order in which the code-length code lengths are sent (RFC 1951, 3.2.7).
_CL_ORDER = np.array([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15], np.int64)
_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@njit(cache=True)
def paeth_rows(a, out):
    """PNG scanlines of an (H, W*3) uint8 image into ``out`` (H, 1 + W*3): filter byte 4
    (Paeth), then each byte minus its Paeth prediction from left, up and up-left (mod 256)."""
    h, n = a.shape
    for y in range(h):
        out[y, 0] = 4
        for x in range(n):
            left = np.int32(a[y, x - 3]) if x >= 3 else np.int32(0)
            up = np.int32(a[y - 1, x]) if y >= 1 else np.int32(0)
            ul = np.int32(a[y - 1, x - 3]) if x >= 3 and y >= 1 else np.int32(0)
            pa = abs(up - ul)
            pb = abs(left - ul)
            pc = abs(left + up - 2 * ul)
            pred = left if pa <= pb and pa <= pc else (up if pb <= pc else ul)
            out[y, 1 + x] = np.uint8((np.int32(a[y, x]) - pred) & 255)


@njit(cache=True)
def huffman_lengths(freq, max_bits):
    """Code lengths (n,) int64 of a Huffman code for ``freq`` (n,) int64 with no length
    above ``max_bits``: every symbol with a non-zero count gets a code (at least two do:
    zero counts of the first symbols are raised to 1 when needed); when the tree is too
    deep the counts are halved (kept >= 1) and the code is built again."""
    n = freq.shape[0]
    f = freq.copy()
    used = 0
    for i in range(n):
        if f[i] > 0:
            used += 1
    i = 0
    while used < 2:  # a one-symbol code is not complete; give a second symbol a code
        if f[i] == 0:
            f[i] = 1
            used += 1
        i += 1
    lengths = np.zeros(n, np.int64)
    while True:
        syms = np.empty(used, np.int64)
        k = 0
        for i in range(n):
            if f[i] > 0:
                syms[k] = i
                k += 1
        order = np.argsort(f[syms], kind="mergesort")  # stable: ties by symbol
        leaves = syms[order]
        # two-queue construction: leaves in ascending count, internal nodes in creation order
        m = used
        weight = np.empty(2 * m, np.int64)
        parent = np.full(2 * m, -1, np.int64)
        for j in range(m):
            weight[j] = f[leaves[j]]
        li, ni, nxt = 0, m, m
        for _ in range(m - 1):
            pair = np.empty(2, np.int64)
            for s in range(2):
                if li < m and (ni >= nxt or weight[li] <= weight[ni]):
                    pair[s] = li
                    li += 1
                else:
                    pair[s] = ni
                    ni += 1
            weight[nxt] = weight[pair[0]] + weight[pair[1]]
            parent[pair[0]] = nxt
            parent[pair[1]] = nxt
            nxt += 1
        depth = np.zeros(2 * m, np.int64)
        for j in range(nxt - 2, -1, -1):  # parents come after their children
            depth[j] = depth[parent[j]] + 1
        deepest = 0
        for j in range(m):
            deepest = max(deepest, depth[j])
        if deepest <= max_bits:
            for j in range(m):
                lengths[leaves[j]] = depth[j]
            return lengths
        for i in range(n):
            if f[i] > 0:
                f[i] = max(f[i] >> 1, 1)


@njit(cache=True)
def canonical_codes(lengths):
    """RFC 1951 canonical codes for ``lengths``, bit-reversed for LSB-first output."""
    n = lengths.shape[0]
    count = np.zeros(MAX_BITS + 2, np.int64)
    for i in range(n):
        count[lengths[i]] += 1
    count[0] = 0
    nxt = np.zeros(MAX_BITS + 2, np.int64)
    code = 0
    for b in range(1, MAX_BITS + 1):
        code = (code + count[b - 1]) << 1
        nxt[b] = code
    out = np.zeros(n, np.uint64)
    for i in range(n):
        ln = lengths[i]
        if ln:
            c = nxt[ln]
            nxt[ln] += 1
            r = 0
            for _ in range(ln):
                r = (r << 1) | (c & 1)
                c >>= 1
            out[i] = r
    return out


@njit(cache=True)
def _put(words, w, acc, nbits, value, bits):
    """Append ``bits`` bits of ``value`` (LSB first) to the bit buffer ``acc`` (uint64)
    holding ``nbits`` (int64); full 32-bit words go to ``words``."""
    acc |= value << np.uint64(nbits)
    nbits += bits
    if nbits >= 32:
        words[w] = np.uint32(acc & np.uint64(0xFFFFFFFF))
        w += 1
        acc >>= np.uint64(32)
        nbits -= 32
    return w, acc, nbits


@njit(cache=True)
def deflate_literals(data):
    """``data`` (n,) uint8 as a raw DEFLATE stream: one final block with dynamic Huffman
    codes, literals and end-of-block only (two one-bit distance codes, never used).
    Returns (words (m,) uint32: the stream is their little-endian bytes, its length in bytes)."""
    n = data.shape[0]
    hist = np.zeros((4, 256), np.int64)  # four histograms: no store-to-load chain on runs
    q = n - n % 4
    for i in range(0, q, 4):
        hist[0, data[i]] += 1
        hist[1, data[i + 1]] += 1
        hist[2, data[i + 2]] += 1
        hist[3, data[i + 3]] += 1
    for i in range(q, n):
        hist[0, data[i]] += 1
    freq = np.zeros(257, np.int64)
    for b in range(256):
        freq[b] = hist[0, b] + hist[1, b] + hist[2, b] + hist[3, b]
    freq[256] = 1  # end of block
    lit_len = huffman_lengths(freq, MAX_BITS)
    lit_code = canonical_codes(lit_len)
    lens = np.empty(259, np.int64)  # 257 literal/length code lengths, then 2 distance code lengths
    lens[:257] = lit_len
    lens[257] = 1
    lens[258] = 1
    cl_freq = np.zeros(19, np.int64)
    for i in range(259):
        cl_freq[lens[i]] += 1
    cl_len = huffman_lengths(cl_freq, MAX_CL_BITS)
    cl_code = canonical_codes(cl_len)

    words = np.zeros(n // 2 + 256, np.uint32)  # codes are at most 15 bits a byte
    w = 0
    acc = np.uint64(0)
    nbits = 0
    # header: BFINAL=1, BTYPE=10 (dynamic); HLIT=0 (257 codes), HDIST=1 (2), HCLEN=15 (19)
    w, acc, nbits = _put(words, w, acc, nbits, np.uint64(1 | (2 << 1) | (0 << 3) | (1 << 8) | (15 << 13)), 17)
    for j in range(19):
        w, acc, nbits = _put(words, w, acc, nbits, np.uint64(cl_len[_CL_ORDER[j]]), 3)
    for i in range(259):
        w, acc, nbits = _put(words, w, acc, nbits, cl_code[lens[i]], cl_len[lens[i]])
    lbits = lit_len
    for i in range(n):  # _put by hand: numba does not inline it here
        s = data[i]
        acc |= lit_code[s] << np.uint64(nbits)
        nbits += lbits[s]
        if nbits >= 32:
            words[w] = np.uint32(acc & np.uint64(0xFFFFFFFF))
            w += 1
            acc >>= np.uint64(32)
            nbits -= 32
    w, acc, nbits = _put(words, w, acc, nbits, lit_code[256], lbits[256])
    n_bytes = 4 * w + (nbits + 7) // 8  # the final byte padded with zeros
    words[w] = np.uint32(acc & np.uint64(0xFFFFFFFF))
    return words, n_bytes


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def png_bytes(image: np.ndarray) -> bytes:
    """8-bit RGB PNG of an (H, W, 3) uint8 image (Paeth filter, one Huffman-coded DEFLATE block)."""
    a = np.ascontiguousarray(image, dtype=np.uint8)
    if a.ndim != 3 or a.shape[2] != 3 or not a.size:
        raise ValueError(f"need an (H, W, 3) image, got {a.shape}")
    h, w = a.shape[:2]
    rows = np.empty((h, 1 + w * 3), np.uint8)
    paeth_rows(a.reshape(h, w * 3), rows)
    raw = rows.reshape(-1)
    words, n_bytes = deflate_literals(raw)
    body = words.astype("<u4", copy=False).view(np.uint8)[:n_bytes]
    stream = b"".join((b"\x78\x01", body.tobytes(), struct.pack(">I", zlib.adler32(raw))))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8 bit, colour type 2 (RGB)
    return b"".join((_SIGNATURE, _chunk(b"IHDR", ihdr), _chunk(b"IDAT", stream), _chunk(b"IEND", b"")))
