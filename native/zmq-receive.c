/*
 * Whole ZMQ messages in one call: fb_recv_batch receives, without waiting, as many
 * multipart messages as are queued (up to a count, and while the buffer has room for
 * the largest one), copying each one's header frame, payload frame and, for 40-byte
 * (v0) headers, the sender's address (libzmq's Peer-Address) into one buffer. The
 * collector thread then makes one native call per batch of messages instead of six or
 * seven per message, which is most of its cost when producers send one event a message.
 *
 * libzmq is the one koffi already loaded (src/native/libzmq.ts): opened here by its
 * soname, so no development package is needed to build this.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

/* zmq_msg_t: an opaque, 8-byte aligned block of 64 bytes (zmq.h). */
typedef struct {
  _Alignas(8) unsigned char bytes[64];
} zmq_msg;

#define ZMQ_DONTWAIT 1
/* What a v0 header is: no source id in it, so its producer is told by its address. */
#define V0_HEADER_BYTES 40
#define PEER_BYTES 64

static struct {
  int (*msg_init)(zmq_msg *);
  int (*msg_recv)(zmq_msg *, void *, int);
  void *(*msg_data)(zmq_msg *);
  size_t (*msg_size)(const zmq_msg *);
  int (*msg_more)(const zmq_msg *);
  const char *(*msg_gets)(const zmq_msg *, const char *);
  int (*msg_close)(zmq_msg *);
  int (*errno_)(void);
} zmq;

/* 0 once libzmq's functions are found, -1 otherwise. */
int32_t fb_zmq_open(void) {
  if (zmq.msg_recv) return 0;
  void *lib = dlopen("libzmq.so.5", RTLD_NOW);
  if (!lib) return -1;
  *(void **)&zmq.msg_init = dlsym(lib, "zmq_msg_init");
  *(void **)&zmq.msg_data = dlsym(lib, "zmq_msg_data");
  *(void **)&zmq.msg_size = dlsym(lib, "zmq_msg_size");
  *(void **)&zmq.msg_more = dlsym(lib, "zmq_msg_more");
  *(void **)&zmq.msg_gets = dlsym(lib, "zmq_msg_gets");
  *(void **)&zmq.msg_close = dlsym(lib, "zmq_msg_close");
  *(void **)&zmq.errno_ = dlsym(lib, "zmq_errno");
  if (!zmq.msg_init || !zmq.msg_data || !zmq.msg_size || !zmq.msg_more || !zmq.msg_gets || !zmq.msg_close || !zmq.errno_) return -1;
  *(void **)&zmq.msg_recv = dlsym(lib, "zmq_msg_recv");
  return zmq.msg_recv ? 0 : -1;
}

static uint32_t copy_frame(zmq_msg *m, uint8_t *to, uint32_t cap) {
  size_t n = zmq.msg_size(m);
  uint32_t kept = n < cap ? (uint32_t)n : cap;
  memcpy(to, zmq.msg_data(m), kept);
  return kept;
}

/*
 * Receives up to max_messages whole messages into buf. For message k, meta[8k ..]:
 * header offset, header size (as sent), payload offset, payload size (as sent), frame
 * count, peer offset, peer length, 0. A frame longer than its room (header_cap,
 * payload_cap) is cut there; its size says so. Returns the messages received, or
 * -errno when none was and the socket failed otherwise than by having none (EAGAIN).
 */
int32_t fb_recv_batch(void *socket, uint8_t *buf, uint32_t cap, int32_t *meta, uint32_t max_messages, uint32_t header_cap,
                      uint32_t payload_cap) {
  zmq_msg m;
  uint32_t used = 0, k = 0;
  if (zmq.msg_init(&m) != 0) return -EINVAL;
  while (k < max_messages && cap - used >= header_cap + payload_cap + PEER_BYTES) {
    if (zmq.msg_recv(&m, socket, ZMQ_DONTWAIT) < 0) {
      int e = zmq.errno_();
      zmq.msg_close(&m);
      return k > 0 || e == EAGAIN ? (int32_t)k : -e;
    }
    int32_t *out = meta + 8 * k;
    size_t header_size = zmq.msg_size(&m);
    out[0] = (int32_t)used;
    out[1] = (int32_t)header_size;
    used += copy_frame(&m, buf + used, header_cap);
    out[5] = (int32_t)used;
    out[6] = 0;
    if (header_size == V0_HEADER_BYTES) {
      const char *peer = zmq.msg_gets(&m, "Peer-Address");
      if (peer) {
        size_t len = strnlen(peer, PEER_BYTES);
        memcpy(buf + used, peer, len);
        out[6] = (int32_t)len;
        used += (uint32_t)len;
      }
    }
    out[2] = (int32_t)used;
    out[3] = 0;
    out[7] = 0;
    int32_t frames = 1;
    /* The rest of a multipart message is always there once its first frame is. */
    while (zmq.msg_more(&m)) {
      if (zmq.msg_recv(&m, socket, ZMQ_DONTWAIT) < 0) break;
      if (++frames == 2) {
        out[3] = (int32_t)zmq.msg_size(&m);
        used += copy_frame(&m, buf + used, payload_cap);
      }
    }
    out[4] = frames;
    k++;
  }
  zmq.msg_close(&m);
  return (int32_t)k;
}
