/*
 * hst-fs: openat(2) and fstatat(2) for Node, one path component at a time,
 * and socketpair(2).
 *
 * src/security/confine.ts walks a plugin's path through the workspace one
 * name at a time, each opened relative to the directory before it with
 * O_NOFOLLOW. Node has no openat, so without this addon every step goes
 * through /proc/self/fd/<dirfd>/<name>, and the kernel's lookup of that
 * magic link costs about as much again as the open or lstat itself. This
 * does the same step directly. It refuses a name
 * holding '/': the kernel would walk, and follow symlinks in, everything
 * before the last component, which is exactly what the walk exists to avoid.
 *
 * It is compiled by `npm install` (scripts/build-native.mjs) against the
 * Node-API headers that ship with Node; Node-API keeps one build working on
 * every Node release. Without it confine.ts takes the /proc way: same
 * refusals, slower.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <node_api.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* One path component: a name to look up in a directory, never a path. */
static int get_name(napi_env env, napi_value value, char name[NAME_MAX + 2]) {
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, name, NAME_MAX + 2, &length) != napi_ok) return -EINVAL;
  if (length > NAME_MAX) return -ENAMETOOLONG;
  if (length == 0 || strlen(name) != length || memchr(name, '/', length) != NULL) return -EINVAL;
  return 0;
}

static napi_value int_result(napi_env env, int value) {
  napi_value result;
  napi_create_int32(env, value, &result);
  return result;
}

static napi_value usage(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

/* openAt(dirFd, name, flags, mode): the new fd, or -errno (confine.ts makes Node's errno error of it). */
static napi_value open_at(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t dirfd, flags;
  uint32_t mode;
  char name[NAME_MAX + 2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4 ||
      napi_get_value_int32(env, argv[0], &dirfd) != napi_ok || napi_get_value_int32(env, argv[2], &flags) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &mode) != napi_ok)
    return usage(env, "openAt(dirFd, name, flags, mode)");
  int fd = get_name(env, argv[1], name);
  if (fd < 0) return int_result(env, fd);
  do fd = openat(dirfd, name, flags | O_CLOEXEC, (mode_t)mode);
  while (fd < 0 && errno == EINTR);
  return int_result(env, fd < 0 ? -errno : fd);
}

/*
 * lstatAt(dirFd, name, out): fstatat without following a final symlink, into
 * a Float64Array of STAT_FIELDS; 0, or -errno.
 */
#define STAT_FIELDS 10
static napi_value lstat_at(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t dirfd;
  char name[NAME_MAX + 2];
  napi_typedarray_type type;
  size_t count;
  void *data;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 ||
      napi_get_value_int32(env, argv[0], &dirfd) != napi_ok ||
      napi_get_typedarray_info(env, argv[2], &type, &count, &data, NULL, NULL) != napi_ok ||
      type != napi_float64_array || count < STAT_FIELDS)
    return usage(env, "lstatAt(dirFd, name, Float64Array)");
  int rc = get_name(env, argv[1], name);
  if (rc < 0) return int_result(env, rc);
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return int_result(env, -errno);
  double *out = data;
  out[0] = (double)st.st_dev;
  out[1] = (double)st.st_ino;
  out[2] = (double)st.st_mode;
  out[3] = (double)st.st_nlink;
  out[4] = (double)st.st_uid;
  out[5] = (double)st.st_gid;
  out[6] = (double)st.st_size;
  out[7] = (double)st.st_blocks;
  out[8] = (double)st.st_mtim.tv_sec * 1e3 + (double)st.st_mtim.tv_nsec / 1e6;
  out[9] = (double)st.st_ctim.tv_sec * 1e3 + (double)st.st_ctim.tv_nsec / 1e6;
  return int_result(env, 0);
}

/*
 * socketPair(out): a connected pair of unix stream sockets, close-on-exec,
 * into the Int32Array out; 0, or -errno. Node makes such a pair only inside
 * child_process, where the parent's end comes already wrapped in a stream
 * that reads with Node's buffers; the native transport's host end reads
 * into its own (src/rpc/native/frame.ts), which needs the bare fd.
 */
static napi_value socket_pair(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_typedarray_type type;
  size_t count;
  void *data;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 ||
      napi_get_typedarray_info(env, argv[0], &type, &count, &data, NULL, NULL) != napi_ok ||
      type != napi_int32_array || count < 2)
    return usage(env, "socketPair(Int32Array)");
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return int_result(env, -errno);
  int32_t *out = data;
  out[0] = fds[0];
  out[1] = fds[1];
  return int_result(env, 0);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor functions[] = {
    {"openAt", NULL, open_at, NULL, NULL, NULL, napi_default, NULL},
    {"lstatAt", NULL, lstat_at, NULL, NULL, NULL, napi_default, NULL},
    {"socketPair", NULL, socket_pair, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, 3, functions) != napi_ok) return NULL;
  return exports;
}
