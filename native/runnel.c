// Runnel's native helper: the few things that TypeScript cannot do (mmap, fallocate) or does
// slowly (CRC-32C, binary search over big-endian index files). Loaded by src/native/ffi.ts through
// bun:ffi; src/native/fallback.ts implements the same contract in pure TypeScript and both pass
// test/native/native.test.ts.
//
// Conventions of this ABI (bump RUNNEL_ABI_VERSION on any change of a signature or meaning):
// - Every call that can fail returns a negative errno (-ENOSPC, -EINVAL, ...) and >= 0 on success,
//   so the caller builds an Error whose code is the errno name. errno itself is never read.
// - File offsets and mapping lengths are 64-bit unsigned; CRC lengths are 32-bit (a u64 argument
//   costs a few ns more per bun:ffi call, and the caller chunks longer inputs). The caller
//   validates ranges first.
// - No call allocates memory or keeps state besides the CRC tables, filled once at load time.
//
// Build: gcc -O2 -shared -fPIC -o native/build/librunnel.so native/runnel.c (scripts/build-native.ts).

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#define RUNNEL_X86 1
#include <nmmintrin.h>
#endif

#define RUNNEL_ABI_VERSION 2
#define RUNNEL_EXPORT __attribute__((visibility("default")))

// Reflected CRC-32C (Castagnoli) polynomial, as used by iSCSI, ext4 and Kafka RecordBatch v2.
#define CRC32C_POLY_REFLECTED 0x82F63B78u

RUNNEL_EXPORT uint32_t runnel_abi_version(void) { return RUNNEL_ABI_VERSION; }

// A function that does nothing, for measuring the cost of an FFI call itself.
RUNNEL_EXPORT uint32_t runnel_noop(uint32_t value) { return value; }

// ---------------------------------------------------------------------------------------------
// CRC-32C
// ---------------------------------------------------------------------------------------------

// table[k][b]: CRC of byte b followed by k zero bytes (slicing-by-8).
static uint32_t crc32c_table[8][256];
static int crc32c_hardware = 0;

static void crc32c_tables_init(void) {
  for (uint32_t byte = 0; byte < 256; byte++) {
    uint32_t crc = byte;
    for (int bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (CRC32C_POLY_REFLECTED & (0u - (crc & 1u)));
    crc32c_table[0][byte] = crc;
  }
  for (uint32_t byte = 0; byte < 256; byte++) {
    uint32_t crc = crc32c_table[0][byte];
    for (int slice = 1; slice < 8; slice++) {
      crc = crc32c_table[0][crc & 0xFF] ^ (crc >> 8);
      crc32c_table[slice][byte] = crc;
    }
  }
}

// Works on the inverted register (the caller inverts before and after).
static uint32_t crc32c_software(uint32_t crc, const uint8_t *data, size_t length) {
  while (length > 0 && ((uintptr_t)data & 7) != 0) {
    crc = crc32c_table[0][(crc ^ *data++) & 0xFF] ^ (crc >> 8);
    length--;
  }
  while (length >= 8) {
    // Bytes are combined one by one, so this is correct on any endianness.
    uint32_t low = crc ^ ((uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                          (uint32_t)data[3] << 24);
    crc = crc32c_table[7][low & 0xFF] ^ crc32c_table[6][(low >> 8) & 0xFF] ^
          crc32c_table[5][(low >> 16) & 0xFF] ^ crc32c_table[4][low >> 24] ^
          crc32c_table[3][data[4]] ^ crc32c_table[2][data[5]] ^ crc32c_table[1][data[6]] ^
          crc32c_table[0][data[7]];
    data += 8;
    length -= 8;
  }
  while (length > 0) {
    crc = crc32c_table[0][(crc ^ *data++) & 0xFF] ^ (crc >> 8);
    length--;
  }
  return crc;
}

#ifdef RUNNEL_X86
// The SSE4.2 crc32 instruction computes exactly CRC-32C. It has a latency of 3 cycles and a
// throughput of 1 per cycle, so one dependency chain uses a third of it. Long inputs are therefore
// cut into blocks of three stripes hashed side by side, then combined:
//
//   block:   | stripe A (crc_a) | stripe B (crc_b) | stripe C (crc_c) |    each stripe_bytes long
//   f(s, A++B++C) = shift(shift(f(s, A)) ^ f(0, B)) ^ f(0, C)
//
// where f works on the raw register (no inversion) and shift(x) = f(x, stripe_bytes zero bytes),
// which is linear in x, so four 256-entry tables (crc32c_stripe_shift) evaluate it.
#define CRC32C_STRIPE_BYTES 512
static uint32_t crc32c_stripe_shift[4][256];

static uint32_t crc32c_shift_stripe(uint32_t crc) {
  return crc32c_stripe_shift[0][crc & 0xFF] ^ crc32c_stripe_shift[1][(crc >> 8) & 0xFF] ^
         crc32c_stripe_shift[2][(crc >> 16) & 0xFF] ^ crc32c_stripe_shift[3][crc >> 24];
}

static void crc32c_stripe_shift_init(void) {
  static const uint8_t zeros[CRC32C_STRIPE_BYTES];
  for (int byte_index = 0; byte_index < 4; byte_index++) {
    for (uint32_t byte = 0; byte < 256; byte++) {
      crc32c_stripe_shift[byte_index][byte] =
          crc32c_software(byte << (8 * byte_index), zeros, sizeof zeros);
    }
  }
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *data,
                                                                size_t length) {
  while (length > 0 && ((uintptr_t)data & 7) != 0) {
    crc = _mm_crc32_u8(crc, *data++);
    length--;
  }
#if defined(__x86_64__)
  while (length >= 3 * CRC32C_STRIPE_BYTES) {
    uint64_t crc_a = crc, crc_b = 0, crc_c = 0;
    for (size_t at = 0; at < CRC32C_STRIPE_BYTES; at += 8) {
      uint64_t word_a, word_b, word_c;
      memcpy(&word_a, data + at, 8);
      memcpy(&word_b, data + CRC32C_STRIPE_BYTES + at, 8);
      memcpy(&word_c, data + 2 * CRC32C_STRIPE_BYTES + at, 8);
      crc_a = _mm_crc32_u64(crc_a, word_a);
      crc_b = _mm_crc32_u64(crc_b, word_b);
      crc_c = _mm_crc32_u64(crc_c, word_c);
    }
    crc = crc32c_shift_stripe(crc32c_shift_stripe((uint32_t)crc_a) ^ (uint32_t)crc_b) ^ (uint32_t)crc_c;
    data += 3 * CRC32C_STRIPE_BYTES;
    length -= 3 * CRC32C_STRIPE_BYTES;
  }
  uint64_t wide = crc;
  while (length >= 8) {
    uint64_t word;
    memcpy(&word, data, sizeof word);
    wide = _mm_crc32_u64(wide, word);
    data += 8;
    length -= 8;
  }
  crc = (uint32_t)wide;
#endif
  while (length >= 4) {
    uint32_t word;
    memcpy(&word, data, sizeof word);
    crc = _mm_crc32_u32(crc, word);
    data += 4;
    length -= 4;
  }
  while (length > 0) {
    crc = _mm_crc32_u8(crc, *data++);
    length--;
  }
  return crc;
}
#endif

// Runs when the library is loaded (dlopen), before any other call, so no call races the init.
__attribute__((constructor)) static void runnel_init(void) {
  crc32c_tables_init();
#ifdef RUNNEL_X86
  __builtin_cpu_init();
  crc32c_hardware = __builtin_cpu_supports("sse4.2") ? 1 : 0;
  if (crc32c_hardware) crc32c_stripe_shift_init();
#endif
}

// 1 when CRC-32C uses the CPU's crc32 instruction, 0 for the slicing-by-8 table.
RUNNEL_EXPORT int32_t runnel_crc32c_hardware(void) { return crc32c_hardware; }

// CRC-32C of data[0..length), continuing from a previous result `crc` (0 to start), so that
// crc32c(crc32c(0, a), b) == crc32c(0, a ++ b).
RUNNEL_EXPORT uint32_t runnel_crc32c(uint32_t crc, const uint8_t *data, uint32_t length) {
  if (length == 0 || data == NULL) return crc;
  uint32_t state = ~crc;
#ifdef RUNNEL_X86
  if (crc32c_hardware) return ~crc32c_sse42(state, data, (size_t)length);
#endif
  return ~crc32c_software(state, data, (size_t)length);
}

// The table path regardless of the CPU, so tests and benchmarks can check both.
RUNNEL_EXPORT uint32_t runnel_crc32c_software(uint32_t crc, const uint8_t *data, uint32_t length) {
  if (length == 0 || data == NULL) return crc;
  return ~crc32c_software(~crc, data, (size_t)length);
}

// ---------------------------------------------------------------------------------------------
// Memory mappings and disk space
// ---------------------------------------------------------------------------------------------

static uint64_t page_size(void) {
  long size = sysconf(_SC_PAGESIZE);
  return size > 0 ? (uint64_t)size : 4096u;
}

RUNNEL_EXPORT int64_t runnel_page_size(void) { return (int64_t)page_size(); }

// Size of the open file `fd`, or -errno.
RUNNEL_EXPORT int64_t runnel_file_size(int32_t fd) {
  struct stat status;
  if (fstat(fd, &status) != 0) return -(int64_t)errno;
  return (int64_t)status.st_size;
}

// Maps `length` bytes of `fd` from offset 0, MAP_SHARED. Returns the address (user-space
// addresses are below 2^47, so it is positive and exact as a JS number) or -errno.
RUNNEL_EXPORT int64_t runnel_map(int32_t fd, uint64_t length, int32_t writable) {
  if (length == 0) return -EINVAL;
  int protection = PROT_READ | (writable ? PROT_WRITE : 0);
  void *address = mmap(NULL, (size_t)length, protection, MAP_SHARED, fd, 0);
  if (address == MAP_FAILED) return -(int64_t)errno;
  return (int64_t)(intptr_t)address;
}

RUNNEL_EXPORT int32_t runnel_unmap(uint64_t address, uint64_t length) {
  if (munmap((void *)(uintptr_t)address, (size_t)length) != 0) return -errno;
  return 0;
}

// msync and madvise need a page-aligned start: round `offset` down and grow the length to match.
RUNNEL_EXPORT int32_t runnel_msync(uint64_t address, uint64_t offset, uint64_t length) {
  uint64_t aligned = offset - offset % page_size();
  if (msync((void *)(uintptr_t)(address + aligned), (size_t)(length + offset - aligned), MS_SYNC) != 0)
    return -errno;
  return 0;
}

// Advice codes of this ABI (not the platform's values): 0 normal, 1 sequential, 2 random,
// 3 willneed, 4 dontneed.
RUNNEL_EXPORT int32_t runnel_madvise(uint64_t address, uint64_t offset, uint64_t length,
                                     int32_t advice) {
  int platform_advice;
  switch (advice) {
    case 0: platform_advice = MADV_NORMAL; break;
    case 1: platform_advice = MADV_SEQUENTIAL; break;
    case 2: platform_advice = MADV_RANDOM; break;
    case 3: platform_advice = MADV_WILLNEED; break;
    case 4: platform_advice = MADV_DONTNEED; break;
    default: return -EINVAL;
  }
  uint64_t aligned = offset - offset % page_size();
  if (madvise((void *)(uintptr_t)(address + aligned), (size_t)(length + offset - aligned),
              platform_advice) != 0)
    return -errno;
  return 0;
}

// Reserves blocks for [offset, offset+length) of `fd`. With keep_size the file size is unchanged
// (the space is reserved past EOF); without it the file grows to cover the range. Where the file
// system has no fallocate (EOPNOTSUPP) and the size may change, posix_fallocate writes zeros
// instead, which reserves just as well, only slower.
RUNNEL_EXPORT int32_t runnel_fallocate(int32_t fd, uint64_t offset, uint64_t length,
                                       int32_t keep_size) {
  if (length == 0) return -EINVAL;
#ifdef __linux__
  if (fallocate(fd, keep_size ? FALLOC_FL_KEEP_SIZE : 0, (off_t)offset, (off_t)length) == 0) return 0;
  int error = errno;
  if (error != EOPNOTSUPP || keep_size) return -error;
#else
  if (keep_size) return -EOPNOTSUPP;
#endif
  // posix_fallocate returns the error number instead of setting errno.
  int result = posix_fallocate(fd, (off_t)offset, (off_t)length);
  return result == 0 ? 0 : -result;
}

// ---------------------------------------------------------------------------------------------
// Sparse index lookups (index files are big-endian, like Kafka's)
// ---------------------------------------------------------------------------------------------

static int32_t read_int32_be(const uint8_t *bytes) {
  return (int32_t)((uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 |
                   (uint32_t)bytes[3]);
}

static int64_t read_int64_be(const uint8_t *bytes) {
  uint64_t value = 0;
  for (int i = 0; i < 8; i++) value = value << 8 | bytes[i];
  return (int64_t)value;
}

// Both searches are branch-free: `low` moves with a conditional move, so a lookup costs the same
// whatever the target (a branchy search mispredicts about half of its ~12 steps on a 4096-entry
// index, which cost ~100 ns per lookup here). Invariant: the answer (the last slot whose key is
// <= target, or -1) lies in [low, low + count), and low only ever moves onto a key <= target.

// Offset index: entries of 8 bytes (int32 relative offset, int32 position), sorted by relative
// offset. Returns the slot of the last entry whose relative offset is <= target, or -1.
RUNNEL_EXPORT int32_t runnel_offset_index_lookup(const uint8_t *index, uint32_t entries,
                                                 int32_t target) {
  if (index == NULL || entries == 0) return -1;
  uint32_t low = 0, count = entries;
  while (count > 1) {
    uint32_t half = count / 2;
    low = read_int32_be(index + (size_t)(low + half) * 8) <= target ? low + half : low;
    count -= half;
  }
  return read_int32_be(index + (size_t)low * 8) <= target ? (int32_t)low : -1;
}

// Time index: entries of 12 bytes (int64 timestamp ms, int32 relative offset), sorted by
// timestamp. Returns the slot of the last entry whose timestamp is <= target, or -1.
RUNNEL_EXPORT int32_t runnel_time_index_lookup(const uint8_t *index, uint32_t entries,
                                               int64_t target) {
  if (index == NULL || entries == 0) return -1;
  uint32_t low = 0, count = entries;
  while (count > 1) {
    uint32_t half = count / 2;
    low = read_int64_be(index + (size_t)(low + half) * 12) <= target ? low + half : low;
    count -= half;
  }
  return read_int64_be(index + (size_t)low * 12) <= target ? (int32_t)low : -1;
}
