#include "sha256.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void blocks_portable(uint32_t s[8], const uint8_t *p, size_t n) {
  while (n--) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++) {
      w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8
             | p[4 * i + 3];
    }
    for (int i = 16; i < 64; i++) {
      uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
    for (int i = 0; i < 64; i++) {
      uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
      uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    s[0] += a;
    s[1] += b;
    s[2] += c;
    s[3] += d;
    s[4] += e;
    s[5] += f;
    s[6] += g;
    s[7] += h;
    p += 64;
  }
}

#if defined(__x86_64__)
/* The SHA extensions: four rounds per pair of sha256rnds2, the message schedule in four
 * registers (group g of four words is built from groups g-4 .. g-1). */
__attribute__((target("sha,sse4.1,ssse3"))) static void blocks_shani(uint32_t s[8],
                                                                    const uint8_t *p, size_t n) {
  const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i tmp = _mm_loadu_si128((const __m128i *)&s[0]);
  __m128i st1 = _mm_loadu_si128((const __m128i *)&s[4]);
  tmp = _mm_shuffle_epi32(tmp, 0xB1);          /* CDAB */
  st1 = _mm_shuffle_epi32(st1, 0x1B);          /* EFGH */
  __m128i st0 = _mm_alignr_epi8(tmp, st1, 8);  /* ABEF */
  st1 = _mm_blend_epi16(st1, tmp, 0xF0);       /* CDGH */
  while (n--) {
    __m128i abef = st0, cdgh = st1;
    __m128i m[4];
#pragma GCC unroll 16
    for (int g = 0; g < 16; g++) {
      __m128i w;
      if (g < 4) {
        w = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), mask);
      } else {
        w = _mm_sha256msg1_epu32(m[g & 3], m[(g + 1) & 3]);
        w = _mm_add_epi32(w, _mm_alignr_epi8(m[(g + 3) & 3], m[(g + 2) & 3], 4));
        w = _mm_sha256msg2_epu32(w, m[(g + 3) & 3]);
      }
      m[g & 3] = w;
      __m128i msg = _mm_add_epi32(w, _mm_loadu_si128((const __m128i *)&K[4 * g]));
      st1 = _mm_sha256rnds2_epu32(st1, st0, msg);
      msg = _mm_shuffle_epi32(msg, 0x0E);
      st0 = _mm_sha256rnds2_epu32(st0, st1, msg);
    }
    st0 = _mm_add_epi32(st0, abef);
    st1 = _mm_add_epi32(st1, cdgh);
    p += 64;
  }
  tmp = _mm_shuffle_epi32(st0, 0x1B);     /* FEBA */
  st1 = _mm_shuffle_epi32(st1, 0xB1);     /* DCHG */
  st0 = _mm_blend_epi16(tmp, st1, 0xF0);  /* DCBA */
  st1 = _mm_alignr_epi8(st1, tmp, 8);     /* ABEF */
  _mm_storeu_si128((__m128i *)&s[0], st0);
  _mm_storeu_si128((__m128i *)&s[4], st1);
}

static int has_shani(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 19)) || !(c & (1u << 9))) {
    return 0; /* SSE4.1 and SSSE3 */
  }
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    return 0;
  }
  return (b >> 29) & 1;
}
#endif

typedef void (*blocks_fn)(uint32_t[8], const uint8_t *, size_t);
static blocks_fn blocks;
static const char *impl_name;

static void pick(void) {
  if (blocks) {
    return;
  }
  const char *force = getenv("PGSIDECAR_WAL_SHA");
  blocks = blocks_portable;
  impl_name = "portable";
#if defined(__x86_64__)
  if (!(force && strcmp(force, "portable") == 0) && has_shani()) {
    blocks = blocks_shani;
    impl_name = "sha-ni";
  }
#else
  (void)force;
#endif
}

const char *sha256_impl(void) {
  pick();
  return impl_name;
}

void sha256_init(sha256_ctx *c) {
  static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  pick();
  memcpy(c->state, iv, sizeof iv);
  c->bytes = 0;
  c->fill = 0;
}

void sha256_update(sha256_ctx *c, const void *data, size_t len) {
  const uint8_t *p = data;
  c->bytes += len;
  if (c->fill) {
    size_t take = 64 - c->fill < len ? 64 - c->fill : len;
    memcpy(c->block + c->fill, p, take);
    c->fill += take;
    p += take;
    len -= take;
    if (c->fill < 64) {
      return;
    }
    blocks(c->state, c->block, 1);
    c->fill = 0;
  }
  if (len >= 64) {
    blocks(c->state, p, len / 64);
    p += len / 64 * 64;
    len %= 64;
  }
  memcpy(c->block, p, len);
  c->fill = len;
}

void sha256_final_hex(sha256_ctx *c, char hex[65]) {
  uint64_t bits = c->bytes * 8;
  uint8_t pad[72] = {0x80};
  size_t padlen = (c->fill < 56 ? 56 : 120) - c->fill;
  for (int i = 0; i < 8; i++) {
    pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
  }
  uint64_t keep = c->bytes;
  sha256_update(c, pad, padlen + 8);
  c->bytes = keep;
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < 8; i++) {
    for (int j = 0; j < 4; j++) {
      uint8_t v = (uint8_t)(c->state[i] >> (24 - 8 * j));
      hex[8 * i + 2 * j] = digits[v >> 4];
      hex[8 * i + 2 * j + 1] = digits[v & 15];
    }
  }
  hex[64] = 0;
}
