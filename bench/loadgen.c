/* Load generator for the ingest benchmark: a ZMQ PUB socket sending pre-built
 * ntopng-protocol messages (header + JSON payload) at a paced rate.
 *
 *   loadgen ENDPOINT LAYOUT BATCH RATE SECONDS FIXTURE...
 *     ENDPOINT  where the collector binds (tcp://127.0.0.1:17000)
 *     LAYOUT    0 (40-byte v0 header, as ebpflowexport sends) or 3 (36-byte, version 4)
 *     BATCH     events per message (JSON array when > 1)
 *     RATE      messages per second to offer (0 = as fast as possible)
 *     SECONDS   how long to send
 *     FIXTURE   JSON files, one event each; L4 ports are varied so flows differ
 * Prints "sent N offset S" on stdout when done: S is the seconds from start-up to the
 * first send (building payloads, waiting for the subscription), which rates exclude. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define VARIANTS 4096

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(1); }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc(n + 1);
  if (fread(b, 1, n, f) != (size_t)n) { perror(path); exit(1); }
  b[n] = 0;
  fclose(f);
  while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == ' ')) b[--n] = 0;
  return b;
}

/* Replaces the value of "L4_SRC_PORT"/"L4_LOCAL_PORT" with `port` (fixtures have one of them). */
static char *with_port(const char *event, int port) {
  const char *keys[] = {"\"L4_SRC_PORT\": ", "\"L4_LOCAL_PORT\": "};
  for (int k = 0; k < 2; k++) {
    const char *at = strstr(event, keys[k]);
    if (!at) continue;
    const char *num = at + strlen(keys[k]);
    const char *end = num;
    while (*end >= '0' && *end <= '9') end++;
    char *out = malloc(strlen(event) + 16);
    int head = (int)(num - event);
    sprintf(out, "%.*s%d%s", head, event, port, end);
    return out;
  }
  return strdup(event);
}

int main(int argc, char **argv) {
  double launched = now();
  if (argc < 7) {
    fprintf(stderr, "usage: loadgen ENDPOINT LAYOUT BATCH RATE SECONDS FIXTURE...\n");
    return 2;
  }
  const char *endpoint = argv[1];
  int layout = atoi(argv[2]), batch = atoi(argv[3]);
  double rate = atof(argv[4]), seconds = atof(argv[5]);
  int nfix = argc - 6;
  char **fixtures = argv + 6;

  /* Pre-build VARIANTS payloads: events cycle through the fixtures with varied ports. */
  static char *payloads[VARIANTS];
  static size_t sizes[VARIANTS];
  char **events = malloc(sizeof(char *) * nfix);
  for (int i = 0; i < nfix; i++) events[i] = slurp(fixtures[i]);
  int counter = 0;
  for (int v = 0; v < VARIANTS; v++) {
    size_t cap = 1 << 16, len = 0;
    char *p = malloc(cap);
    if (batch > 1) p[len++] = '[';
    for (int b = 0; b < batch; b++) {
      char *e = with_port(events[counter % nfix], 10000 + (counter % 50000));
      counter++;
      size_t n = strlen(e);
      if (len + n + 2 >= cap) { cap *= 2; p = realloc(p, cap); }
      if (b > 0) p[len++] = ',';
      memcpy(p + len, e, n);
      len += n;
      free(e);
    }
    if (batch > 1) p[len++] = ']';
    payloads[v] = p;
    sizes[v] = len;
  }

  void *ctx = zmq_ctx_new();
  void *pub = zmq_socket(ctx, ZMQ_PUB);
  int hwm = 1000000, linger = 2000;
  zmq_setsockopt(pub, ZMQ_SNDHWM, &hwm, sizeof hwm);
  zmq_setsockopt(pub, ZMQ_LINGER, &linger, sizeof linger);
  if (zmq_connect(pub, endpoint) != 0) { fprintf(stderr, "connect %s: %s\n", endpoint, zmq_strerror(zmq_errno())); return 1; }
  /* Slow joiner: give the subscription time to arrive. */
  struct timespec pause = {0, 300 * 1000000};
  nanosleep(&pause, NULL);

  unsigned char header[40];
  uint32_t msg_id = 0;
  uint64_t sent = 0;
  double start = now(), deadline = start + seconds;
  for (;;) {
    double t = now();
    if (t >= deadline) break;
    /* Pacing: send what the rate allows up to now, in small bursts. */
    uint64_t due = rate > 0 ? (uint64_t)((t - start) * rate) + 1 : sent + 256;
    while (sent < due) {
      int v = (int)(sent % VARIANTS);
      memset(header, 0, sizeof header);
      size_t hlen;
      if (layout == 0) {
        memcpy(header, "flow", 4);
        uint32_t version = 0, size = (uint32_t)sizes[v];
        memcpy(header + 32, &version, 4);
        memcpy(header + 36, &size, 4);
        hlen = 40;
      } else {
        memcpy(header, "flow", 4);
        header[16] = 4;
        header[17] = 0;
        uint32_t size = (uint32_t)sizes[v], source = 1, id = ++msg_id;
        memcpy(header + 20, &size, 4);
        memcpy(header + 24, &size, 4);
        header[28] = id >> 24; header[29] = id >> 16; header[30] = id >> 8; header[31] = id;
        memcpy(header + 32, &source, 4);
        hlen = 36;
      }
      zmq_send(pub, header, hlen, ZMQ_SNDMORE);
      zmq_send(pub, payloads[v], sizes[v], 0);
      sent++;
    }
  }
  printf("sent %llu offset %.3f\n", (unsigned long long)sent, start - launched);
  fflush(stdout);
  zmq_close(pub);
  zmq_ctx_term(ctx);
  return 0;
}
