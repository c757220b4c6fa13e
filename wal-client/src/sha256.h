/* SHA-256 (FIPS 180-4): a portable C implementation and, where the CPU has them, the x86 SHA
 * extensions (about 1.5-2 GB/s instead of about 0.25 GB/s: a 16 MiB segment costs ~10 ms, not
 * ~65 ms, at every restore_command call). */
#ifndef PGSIDECAR_SHA256_H
#define PGSIDECAR_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint32_t state[8];
  uint64_t bytes;
  uint8_t block[64];
  size_t fill;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
/* Writes the digest as 64 lower-case hex characters and a NUL into hex. */
void sha256_final_hex(sha256_ctx *c, char hex[65]);
/* Which block function runs: "sha-ni" or "portable" (PGSIDECAR_WAL_SHA=portable forces it). */
const char *sha256_impl(void);

#endif
