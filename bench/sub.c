/* Transport ceiling for the ingest benchmark: a ZMQ SUB socket that binds, receives
 * two-frame messages and only counts them. Stops after SECONDS of receiving, or
 * 500 ms after the last message. Prints "received N in S s".
 *   sub ENDPOINT SECONDS */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <zmq.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: sub ENDPOINT SECONDS\n"); return 2; }
  void *ctx = zmq_ctx_new();
  void *sub = zmq_socket(ctx, ZMQ_SUB);
  int hwm = 1000000, timeout = 500;
  zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof hwm);
  zmq_setsockopt(sub, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
  zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "flow", 4);
  if (zmq_bind(sub, argv[1]) != 0) { fprintf(stderr, "bind: %s\n", zmq_strerror(zmq_errno())); return 1; }
  double limit = atof(argv[2]), first = 0, last = 0;
  unsigned long long n = 0;
  static char buf[1 << 17];
  for (;;) {
    int r = zmq_recv(sub, buf, sizeof buf, 0);
    if (r < 0) { if (n > 0) break; else continue; }
    int more = 0;
    size_t len = sizeof more;
    zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &len);
    while (more) {
      zmq_recv(sub, buf, sizeof buf, 0);
      zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &len);
    }
    last = now();
    if (n++ == 0) first = last;
    if (last - first > limit) break;
  }
  printf("received %llu in %.3f s\n", n, last - first);
  return 0;
}
