/* Connection generator for the agent benchmark: opens and closes TCP connections on
 * loopback at a paced rate, the way a busy host's clients and servers do, and reports
 * how many it made.
 *
 *   agent-conngen --port P --rate R --seconds S [--net N]
 *     --port P      the server port (a thread of this program listens on 0.0.0.0:P)
 *     --rate R      connections per second to open; 0 = as fast as possible
 *     --seconds S   how long to open connections
 *     --net N       destinations cycle through 127.N.x.y (default 1): the server closes
 *                   first and keeps the TIME-WAIT, so a run uses fresh 4-tuples, not the
 *                   28 K ephemeral ports towards one address
 *
 * Each connection: connect, the server accepts and closes, the client reads the end of
 * the stream and closes (both sides go through a normal FIN handshake). When done it
 * prints one JSON line: {"made":M,"failed":F,"seconds":S,"cpuSeconds":C}
 * (cpuSeconds: user + system time of this whole process, both threads).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int listener;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void *serve(void *arg) {
  (void)arg;
  for (;;) {
    int c = accept(listener, NULL, NULL);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return NULL;
    }
    close(c);
  }
}

int main(int argc, char **argv) {
  int port = 0, net = 1;
  double rate = 0, seconds = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--rate")) rate = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--net")) net = atoi(argv[i + 1]);
    else { fprintf(stderr, "agent-conngen: unknown option %s\n", argv[i]); return 2; }
  }
  if (port <= 0 || port > 65535 || net < 1 || net > 254) { fprintf(stderr, "agent-conngen: --port 1-65535 and --net 1-254 required\n"); return 2; }
  listener = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY) };
  if (bind(listener, (struct sockaddr *)&a, sizeof a) || listen(listener, 4096)) { perror("agent-conngen: listen"); return 1; }
  pthread_t server;
  pthread_create(&server, NULL, serve, NULL);

  long made = 0, failed = 0;
  double start = now(), end = start + seconds;
  char buf[64];
  for (long i = 0;; i++) {
    double t = now();
    if (t >= end) break;
    if (rate > 0) {
      double due = start + i / rate;
      if (due > t) {
        struct timespec d = { (time_t)(due - t), (long)((due - t - (time_t)(due - t)) * 1e9) };
        nanosleep(&d, NULL);
      }
    }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(port) };
    dst.sin_addr.s_addr = htonl((127u << 24) | ((unsigned)net << 16) | (unsigned)(((i / 250) % 250 + 1) << 8) | (unsigned)(i % 250 + 1));
    if (s < 0 || connect(s, (struct sockaddr *)&dst, sizeof dst)) {
      failed++;
    } else {
      while (read(s, buf, sizeof buf) > 0) {}
      made++;
    }
    if (s >= 0) close(s);
  }
  double took = now() - start;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  printf("{\"made\":%ld,\"failed\":%ld,\"seconds\":%.3f,\"cpuSeconds\":%.3f}\n", made, failed, took, cpu);
  return 0;
}
