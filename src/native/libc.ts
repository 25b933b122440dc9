// The few libc calls flowbridge makes through koffi: native memory whose lifetime is
// ours, C memory streams libpcap can write pcap records into, symbols and socket options.
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');
export const malloc = libc.func('void *malloc(size_t size)');
export const free = libc.func('void free(void *ptr)');
export const fmemopen = libc.func('void *fmemopen(void *buf, size_t size, const char *mode)');
export const fflush = libc.func('int fflush(void *stream)');
export const ftell = libc.func('long ftell(void *stream)');
export const rewind = libc.func('void rewind(void *stream)');
export const fclose = libc.func('int fclose(void *stream)');
export const dlopen = libc.func('void *dlopen(const char *file, int mode)');
export const dlsym = libc.func('void *dlsym(void *handle, const char *name)');
export const setsockopt = libc.func('int setsockopt(int fd, int level, int name, const int *value, uint32_t size)');
export const posix_fadvise = libc.func('int posix_fadvise(int fd, int64_t offset, int64_t len, int advice)');
/** posix_fadvise: the range will be read soon (the kernel starts reading it now). */
export const POSIX_FADV_WILLNEED = 3;
