/*
 * flowbridge's JSON scanner: a producer's payload (a JSON object, or an array of
 * objects) in one pass, without building anything in JavaScript. It writes a tape
 * (records, nested objects and their ends, numbers, strings) that the collector
 * thread walks (src/collector/events/scanned-records.ts), and interns every string
 * value, so that a string seen before costs JavaScript nothing.
 *
 * It is a fast path, never a judge: whatever it does not handle exactly as JSON.parse
 * would (a key it was not given, true/false/null, arrays inside records, numbers that
 * need more than one correctly rounded operation, bad syntax, invalid UTF-8) makes
 * fb_scan return a negative reason, and the message takes the JSON.parse path, which
 * gives the verdict and the error.
 *
 * Built by scripts/bootstrap.mjs into build/native/libflowbridge.so (gcc -O2 -shared -fPIC).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Tape operations: entry k is tape[2k] = op * 256 + key id, tape[2k + 1] = value. */
enum { OP_RECORD = 1, OP_END = 2, OP_OBJECT = 3, OP_NUMBER = 4, OP_STRING = 5 };
/* Why a payload was left to JSON.parse. */
enum { FB_SYNTAX = -1, FB_KEY = -2, FB_VALUE = -3, FB_NUMBER = -4, FB_DEPTH = -5, FB_FULL = -6 };
/* Flags of a fresh string: it holds escapes / bytes past ASCII (decoded by JavaScript accordingly). */
enum { FRESH_ESCAPED = 1, FRESH_NON_ASCII = 2 };

#define KEY_SLOTS 1024
#define MAX_KEYS 255
#define MAX_DEPTH 8

/* Bytes that end the plain run of a string: the quote, a backslash, controls, bytes past ASCII. */
static uint8_t STRING_SPECIAL[256];

__attribute__((constructor)) static void init_tables(void) {
  for (int c = 0; c < 256; c++) STRING_SPECIAL[c] = c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
}

/* The index of the first byte at or after i that ends a plain run (STRING_SPECIAL), or n. */
static inline uint32_t plain_run(const uint8_t *b, uint32_t i, uint32_t n) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), control = _mm_set1_epi8(0x1f);
  for (; i + 16 <= n; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(b + i));
    __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                   _mm_cmpeq_epi8(_mm_max_epu8(v, control), control));
    /* The sign bit of each byte is set past ASCII. */
    uint32_t mask = (uint32_t)_mm_movemask_epi8(special) | (uint32_t)_mm_movemask_epi8(v);
    if (mask) return i + (uint32_t)__builtin_ctz(mask);
  }
#endif
  while (i < n && !STRING_SPECIAL[b[i]]) i++;
  return i;
}

/* A hash of the bytes, 8 at a time: up to 32 from the start and the last 8 (equal strings are compared whole). */
static uint32_t hash_bytes(const uint8_t *b, uint32_t len) {
  const uint64_t m = 0x9e3779b97f4a7c15ull;
  uint64_t h = m ^ len, w = 0;
  if (len < 8) {
    for (uint32_t k = 0; k < len; k++) w |= (uint64_t)b[k] << (8 * k);
    h = (h ^ w) * m;
  } else {
    for (uint32_t k = 0; k + 8 <= len && k < 32; k += 8) {
      memcpy(&w, b + k, 8);
      h = (h ^ w) * m;
      h ^= h >> 29;
    }
    memcpy(&w, b + len - 8, 8);
    h = (h ^ w) * m;
  }
  h ^= h >> 32;
  return (uint32_t)h;
}

typedef struct {
  uint32_t hash, offset, length;
  int32_t id; /* -1: empty */
} intern_slot;

typedef struct {
  /* The keys the schemas name: an open-addressed table of hash → key id. */
  int32_t key_id[KEY_SLOTS];
  uint32_t key_hash[KEY_SLOTS];
  char *key_names[MAX_KEYS];
  uint32_t key_lengths[MAX_KEYS];
  /* Interned strings: bytes as sent (escapes included) → id, bounded in count and bytes. */
  intern_slot *slots;
  uint32_t slot_mask, max_strings, count;
  uint8_t *arena;
  uint32_t arena_bytes, used;
  uint32_t resets;
  /* Where fb_scan writes (JavaScript's typed arrays, whose memory stays put): fb_scanner_output. */
  double *tape;
  uint32_t tape_entries;
  int32_t *fresh;
  uint32_t fresh_entries;
  int32_t *info;
} fb_scanner;

static const double POW10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                               1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

void fb_scanner_free(fb_scanner *s) {
  if (!s) return;
  for (int k = 0; k < MAX_KEYS; k++) free(s->key_names[k]);
  free(s->slots);
  free(s->arena);
  free(s);
}

/* `keys`: the names, each followed by a NUL; `count` of them. max_strings: a power of two. */
fb_scanner *fb_scanner_new(const char *keys, int32_t count, uint32_t max_strings, uint32_t arena_bytes) {
  if (count < 0 || count > MAX_KEYS || max_strings == 0 || (max_strings & (max_strings - 1)) != 0) return NULL;
  fb_scanner *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  for (int k = 0; k < KEY_SLOTS; k++) s->key_id[k] = -1;
  const char *p = keys;
  for (int32_t id = 0; id < count; id++) {
    uint32_t len = (uint32_t)strlen(p), h = hash_bytes((const uint8_t *)p, len);
    uint32_t slot = h & (KEY_SLOTS - 1);
    while (s->key_id[slot] >= 0) slot = (slot + 1) & (KEY_SLOTS - 1);
    s->key_id[slot] = id;
    s->key_hash[slot] = h;
    s->key_names[id] = strdup(p);
    s->key_lengths[id] = len;
    p += len + 1;
  }
  s->max_strings = max_strings;
  s->slot_mask = max_strings * 2 - 1;
  s->slots = malloc(sizeof(intern_slot) * max_strings * 2);
  s->arena = malloc(arena_bytes);
  s->arena_bytes = arena_bytes;
  if (!s->slots || !s->arena) {
    fb_scanner_free(s);
    return NULL;
  }
  for (uint32_t k = 0; k <= s->slot_mask; k++) s->slots[k].id = -1;
  return s;
}

static void forget_strings(fb_scanner *s) {
  for (uint32_t k = 0; k <= s->slot_mask; k++) s->slots[k].id = -1;
  s->count = 0;
  s->used = 0;
  s->resets++;
}

/* Where fb_scan writes: set once, so that each scan passes only the payload. */
void fb_scanner_output(fb_scanner *s, double *tape, uint32_t tape_entries, int32_t *fresh, uint32_t fresh_entries, int32_t *info) {
  s->tape = tape;
  s->tape_entries = tape_entries;
  s->fresh = fresh;
  s->fresh_entries = fresh_entries;
  s->info = info;
}

/* [count, max, resets] of the interned strings. */
void fb_scanner_stats(const fb_scanner *s, int32_t *out) {
  out[0] = (int32_t)s->count;
  out[1] = (int32_t)s->max_strings;
  out[2] = (int32_t)s->resets;
}

/* memcmp(a, b, len) == 0 for the short runs compared here, without a call. */
static inline int same_bytes(const uint8_t *a, const uint8_t *b, uint32_t len) {
  uint64_t x, y;
  if (len < 8) {
    for (uint32_t k = 0; k < len; k++)
      if (a[k] != b[k]) return 0;
    return 1;
  }
  for (uint32_t k = 0; k + 8 < len; k += 8) {
    memcpy(&x, a + k, 8);
    memcpy(&y, b + k, 8);
    if (x != y) return 0;
  }
  memcpy(&x, a + len - 8, 8);
  memcpy(&y, b + len - 8, 8);
  return x == y;
}

static int32_t key_of(const fb_scanner *s, const uint8_t *b, uint32_t len, uint32_t h) {
  for (uint32_t slot = h & (KEY_SLOTS - 1); s->key_id[slot] >= 0; slot = (slot + 1) & (KEY_SLOTS - 1)) {
    int32_t id = s->key_id[slot];
    if (s->key_hash[slot] == h && s->key_lengths[id] == len && same_bytes((const uint8_t *)s->key_names[id], b, len)) return id;
  }
  return -1;
}

/* The id of these bytes, interning them if new (then reported in `fresh`); -1 when full. */
static int32_t intern(fb_scanner *s, const uint8_t *b, uint32_t offset, uint32_t len, uint32_t h, int32_t flags,
                      int32_t *fresh, uint32_t *nfresh) {
  uint32_t slot = h & s->slot_mask;
  for (; s->slots[slot].id >= 0; slot = (slot + 1) & s->slot_mask) {
    const intern_slot *e = &s->slots[slot];
    if (e->hash == h && e->length == len && same_bytes(s->arena + e->offset, b + offset, len)) return e->id;
  }
  if (s->count >= s->max_strings || s->used + len > s->arena_bytes) return -1;
  intern_slot *e = &s->slots[slot];
  memcpy(s->arena + s->used, b + offset, len);
  e->hash = h;
  e->offset = s->used;
  e->length = len;
  e->id = (int32_t)s->count++;
  s->used += len;
  int32_t *f = fresh + 4 * (*nfresh)++;
  f[0] = e->id;
  f[1] = (int32_t)offset;
  f[2] = (int32_t)len;
  f[3] = flags;
  return e->id;
}

static int hex(uint8_t c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

/* Length of the UTF-8 sequence starting at b[i] (RFC 3629: no overlongs, no surrogates), 0 if invalid. */
static uint32_t utf8_sequence(const uint8_t *b, uint32_t i, uint32_t n) {
  uint8_t c = b[i];
  uint32_t len;
  uint8_t lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) len = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else return 0;
  if (i + len > n) return 0;
  if (b[i + 1] < lo || b[i + 1] > hi) return 0;
  for (uint32_t k = 2; k < len; k++)
    if (b[i + k] < 0x80 || b[i + k] > 0xbf) return 0;
  return len;
}

/*
 * A JSON number at b[*pi], as JSON.parse reads it, when one IEEE operation gives it
 * exactly rounded: at most 15 significant digits and a power of ten up to 22.
 */
static int number(const uint8_t *b, uint32_t n, uint32_t *pi, double *out) {
  uint32_t i = *pi;
  int neg = 0, digits = 0, exp10 = 0;
  uint64_t m = 0;
  if (b[i] == '-') {
    neg = 1;
    if (++i >= n) return FB_SYNTAX;
  }
  if (b[i] == '0') {
    i++;
    if (i < n && b[i] >= '0' && b[i] <= '9') return FB_SYNTAX;
  } else if (b[i] >= '1' && b[i] <= '9') {
    for (; i < n && b[i] >= '0' && b[i] <= '9'; i++) {
      m = m * 10 + (b[i] - '0');
      if (++digits > 15) return FB_NUMBER;
    }
  } else return FB_SYNTAX;
  if (i < n && b[i] == '.') {
    if (++i >= n || b[i] < '0' || b[i] > '9') return FB_SYNTAX;
    for (; i < n && b[i] >= '0' && b[i] <= '9'; i++) {
      m = m * 10 + (b[i] - '0');
      exp10--;
      if (m != 0 && ++digits > 15) return FB_NUMBER;
    }
  }
  if (i < n && (b[i] | 0x20) == 'e') {
    int eneg = 0, e = 0, edigits = 0;
    if (++i < n && (b[i] == '+' || b[i] == '-')) eneg = b[i++] == '-';
    for (; i < n && b[i] >= '0' && b[i] <= '9'; i++, edigits++)
      if ((e = e * 10 + (b[i] - '0')) > 1000) return FB_NUMBER;
    if (edigits == 0) return FB_SYNTAX;
    exp10 += eneg ? -e : e;
  }
  double v;
  if (m == 0) v = 0;
  else if (exp10 >= 0 && exp10 <= 22) v = (double)m * POW10[exp10];
  else if (exp10 < 0 && exp10 >= -22) v = (double)m / POW10[-exp10];
  else return FB_NUMBER;
  *out = neg ? -v : v;
  *pi = i;
  return 0;
}

#define WS(c) ((c) == ' ' || (c) == '\n' || (c) == '\r' || (c) == '\t')
#define SKIP_WS() while (i < n && WS(b[i])) i++
#define AT(k) ((k) < n ? b[k] : 0)
#define EMIT(op, key, value)                       \
  do {                                             \
    if (t >= tape_entries) return done(FB_FULL);   \
    tape[2 * t] = (double)((op) * 256 + (key));    \
    tape[2 * t + 1] = (value);                     \
    t++;                                           \
  } while (0)

/*
 * Scans one payload into the output set by fb_scanner_output. info: [records, tape entries, fresh strings, 1 if the
 * interned strings were forgotten first]. Returns the record count, or a negative
 * reason (the fresh strings in info are still to be read: they stay interned).
 * `fresh` holds 4 ints per string: id, offset, length, flags.
 */
int32_t fb_scan(fb_scanner *s, const uint8_t *b, uint32_t n) {
  double *tape = s->tape;
  int32_t *fresh = s->fresh, *info = s->info;
  uint32_t tape_entries = s->tape_entries, fresh_entries = s->fresh_entries;
  if (!tape || !fresh || !info) return FB_FULL;
  uint32_t i = 0, t = 0, nfresh = 0;
  int32_t records = 0;
  info[3] = 0;
  /* A string value takes at least 4 bytes ("":"" with a key of one letter): make room for all. */
  if (s->count + n / 4 + 1 > s->max_strings || s->used + n > s->arena_bytes) {
    if (n / 4 + 1 > s->max_strings || n > s->arena_bytes || n / 4 + 1 > fresh_entries) return FB_FULL;
    forget_strings(s);
    info[3] = 1;
  }
#define done(rc) (info[0] = records, info[1] = (int32_t)t, info[2] = (int32_t)nfresh, (rc))
  SKIP_WS();
  int array = AT(i) == '[';
  if (array) {
    i++;
    SKIP_WS();
    if (AT(i) == ']') {
      i++;
      goto end;
    }
  }
  for (;;) {
    if (AT(i) != '{') return done(array ? FB_VALUE : FB_SYNTAX);
    EMIT(OP_RECORD, 0, 0);
    int depth = 1;
    i++;
    SKIP_WS();
    if (AT(i) == '}') {
      i++;
      depth = 0;
      EMIT(OP_END, 0, 0);
    }
    while (depth > 0) {
      /* A key. */
      if (AT(i) != '"') return done(FB_SYNTAX);
      uint32_t start = ++i, h;
      i = plain_run(b, i, n);
      if (i >= n) return done(FB_SYNTAX);
      if (b[i] != '"') return done(FB_KEY);
      h = hash_bytes(b + start, i - start);
      int32_t key = key_of(s, b + start, i - start, h);
      if (key < 0) return done(FB_KEY);
      i++;
      SKIP_WS();
      if (AT(i) != ':') return done(FB_SYNTAX);
      i++;
      SKIP_WS();
      uint8_t c = AT(i);
      if (c == '"') {
        /* A string: escapes and UTF-8 checked here, decoded by JavaScript once per distinct string. */
        uint32_t from = ++i;
        int32_t flags = 0;
        for (;;) {
          i = plain_run(b, i, n);
          if (i >= n) return done(FB_SYNTAX);
          c = b[i];
          if (c == '"') break;
          if (c == '\\') {
            uint8_t e = AT(i + 1);
            flags |= FRESH_ESCAPED;
            if (e == 'u') {
              if (!hex(AT(i + 2)) || !hex(AT(i + 3)) || !hex(AT(i + 4)) || !hex(AT(i + 5))) return done(FB_SYNTAX);
              i += 6;
            } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
              i += 2;
            } else return done(FB_SYNTAX);
          } else if (c < 0x20) {
            return done(FB_SYNTAX);
          } else {
            uint32_t len = utf8_sequence(b, i, n);
            if (len == 0) return done(FB_SYNTAX);
            flags |= FRESH_NON_ASCII;
            i += len;
          }
        }
        h = hash_bytes(b + from, i - from);
        if (nfresh >= fresh_entries) return done(FB_FULL);
        int32_t id = intern(s, b, from, i - from, h, flags, fresh, &nfresh);
        if (id < 0) return done(FB_FULL);
        i++;
        EMIT(OP_STRING, key, id);
      } else if (c == '{') {
        if (depth >= MAX_DEPTH) return done(FB_DEPTH);
        EMIT(OP_OBJECT, key, 0);
        depth++;
        i++;
        SKIP_WS();
        if (AT(i) != '}') continue;
        i++;
        depth--;
        EMIT(OP_END, 0, 0);
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        double v;
        int rc = number(b, n, &i, &v);
        if (rc < 0) return done(rc);
        EMIT(OP_NUMBER, key, v);
      } else {
        return done(i < n ? FB_VALUE : FB_SYNTAX);
      }
      /* After a value: the next key, or the ends of objects. */
      for (;;) {
        SKIP_WS();
        c = AT(i);
        if (c == ',') {
          i++;
          SKIP_WS();
          break;
        }
        if (c != '}') return done(FB_SYNTAX);
        i++;
        EMIT(OP_END, 0, 0);
        if (--depth == 0) break;
      }
    }
    records++;
    SKIP_WS();
    if (!array) break;
    if (AT(i) == ',') {
      i++;
      SKIP_WS();
      continue;
    }
    if (AT(i) != ']') return done(FB_SYNTAX);
    i++;
    break;
  }
end:
  SKIP_WS();
  if (i != n) return done(FB_SYNTAX);
  return done(records);
}
