/*
 * hst-sandbox: hst's own launcher for sandboxed plugins.
 *
 * It reads the subset of bubblewrap's options that src/security/sandbox.ts
 * emits, so one plan drives either program. Where bubblewrap is missing it
 * builds the whole sandbox itself: new user, mount, pid, network, ipc, uts
 * and cgroup namespaces, a tmpfs root holding only the listed mounts, its
 * own init as pid 1, no capabilities, no_new_privs, Landlock and the seccomp
 * program of seccomp.ts. Where bubblewrap is present it runs inside it with
 * --confine-only and adds what bubblewrap lacks: Landlock, whose rules it
 * derives from the same mount list, and its signal and abstract-socket
 * scoping.
 *
 * Why a program of our own: Node cannot call prctl, unshare, pivot_root or
 * the Landlock syscalls before exec; no maintained npm package does it; and
 * util-linux's unshare(1) cannot pivot into a minimal root or load seccomp.
 * It is compiled by `npm install` (scripts/build-native.mjs) with the
 * machine's C compiler, like better-sqlite3's addon, and needs only libc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Landlock's ABI, declared here because a distribution's headers may predate the parts used. */
#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1
#define LL_FS_EXECUTE (1ULL << 0)
#define LL_FS_WRITE_FILE (1ULL << 1)
#define LL_FS_READ_FILE (1ULL << 2)
#define LL_FS_READ_DIR (1ULL << 3)
#define LL_FS_REMOVE_DIR (1ULL << 4)
#define LL_FS_REMOVE_FILE (1ULL << 5)
#define LL_FS_MAKE_CHAR (1ULL << 6)
#define LL_FS_MAKE_DIR (1ULL << 7)
#define LL_FS_MAKE_REG (1ULL << 8)
#define LL_FS_MAKE_SOCK (1ULL << 9)
#define LL_FS_MAKE_FIFO (1ULL << 10)
#define LL_FS_MAKE_BLOCK (1ULL << 11)
#define LL_FS_MAKE_SYM (1ULL << 12)
#define LL_FS_REFER (1ULL << 13)
#define LL_FS_TRUNCATE (1ULL << 14)
#define LL_FS_IOCTL_DEV (1ULL << 15)
#define LL_NET_BIND_TCP (1ULL << 0)
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LL_SCOPE_SIGNAL (1ULL << 1)
/* Rights that mean something on a file rather than a directory. */
#define LL_FILE_RIGHTS (LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)
#define LL_READ_RIGHTS (LL_FS_EXECUTE | LL_FS_READ_FILE | LL_FS_READ_DIR)

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

struct ll_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

struct ll_path_beneath_attr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

struct mount_attr_arg {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};

enum op_kind { OP_RO_BIND, OP_BIND, OP_BIND_FD, OP_RO_BIND_FD, OP_TMPFS, OP_PROC, OP_DEV, OP_SYMLINK };

struct op {
  enum op_kind kind;
  const char *src; /* source path, or symlink target */
  const char *dst; /* path inside the sandbox */
  int fd;          /* OP_BIND_FD, OP_RO_BIND_FD */
  char *fd_path;   /* where the fd's directory was when the sandbox began */
  long long size;  /* OP_TMPFS, 0 for no cap */
};

#define MAX_OPS 256

static struct op ops[MAX_OPS];
static int n_ops;
static int isolate;          /* --unshare-all: build the sandbox, not only confine */
static int reaper;           /* --reaper: no sandbox, only take the program's whole tree down with the host */
static int forward_signals;  /* --forward-signals: with --reaper, pass the signals it is sent on to the program */
static const char *argv0;    /* --argv0: the name the program is run under */
static int confine_only;     /* inside bubblewrap: Landlock and seccomp only */
static int die_with_parent;
static int new_session;
static int drop_caps;
static int landlock_wanted;  /* --landlock: apply it, or refuse to run */
static int remount_root_ro;
static int seccomp_fd = -1;
static pid_t parent_pid;
static const char *chdir_to; /* default: / when isolating, unchanged when confining */

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("hst-sandbox: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  _exit(126);
}

static void die_errno(const char *what, const char *path) {
  die("%s %s: %s", what, path ? path : "", strerror(errno));
}

static long long parse_number(const char *s, const char *option) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *end || v < 0) die("%s takes a non-negative number, not \"%s\"", option, s);
  return v;
}

static const char *need(int argc, char **argv, int i, const char *option) {
  if (i >= argc) die("%s needs an argument", option);
  return argv[i];
}

static struct op *add_op(enum op_kind kind) {
  if (n_ops == MAX_OPS) die("more than %d mounts", MAX_OPS);
  struct op *o = &ops[n_ops++];
  memset(o, 0, sizeof *o);
  o->kind = kind;
  o->fd = -1;
  return o;
}

/* Parses options up to "--"; returns the index of the command. */
static int parse(int argc, char **argv) {
  long long pending_size = 0;
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--")) return i + 1;
    if (!strcmp(a, "--unshare-all")) isolate = 1;
    else if (!strcmp(a, "--confine-only")) confine_only = 1;
    else if (!strcmp(a, "--reaper")) reaper = 1;
    else if (!strcmp(a, "--forward-signals")) forward_signals = 1;
    else if (!strcmp(a, "--argv0")) argv0 = need(argc, argv, ++i, a);
    else if (!strcmp(a, "--die-with-parent")) die_with_parent = 1;
    else if (!strcmp(a, "--new-session")) new_session = 1;
    else if (!strcmp(a, "--landlock")) landlock_wanted = 1;
    else if (!strcmp(a, "--cap-drop")) {
      if (strcmp(need(argc, argv, ++i, a), "ALL")) die("--cap-drop takes ALL only");
      drop_caps = 1;
    } else if (!strcmp(a, "--parent-pid")) parent_pid = (pid_t)parse_number(need(argc, argv, ++i, a), a);
    else if (!strcmp(a, "--seccomp")) seccomp_fd = (int)parse_number(need(argc, argv, ++i, a), a);
    else if (!strcmp(a, "--chdir")) chdir_to = need(argc, argv, ++i, a);
    else if (!strcmp(a, "--size")) pending_size = parse_number(need(argc, argv, ++i, a), a);
    else if (!strcmp(a, "--remount-ro")) {
      if (strcmp(need(argc, argv, ++i, a), "/")) die("--remount-ro takes / only");
      remount_root_ro = 1;
    } else if (!strcmp(a, "--ro-bind") || !strcmp(a, "--bind") || !strcmp(a, "--symlink")) {
      struct op *o = add_op(!strcmp(a, "--ro-bind") ? OP_RO_BIND : !strcmp(a, "--bind") ? OP_BIND : OP_SYMLINK);
      o->src = need(argc, argv, ++i, a);
      o->dst = need(argc, argv, ++i, a);
    } else if (!strcmp(a, "--bind-fd") || !strcmp(a, "--ro-bind-fd")) {
      struct op *o = add_op(!strcmp(a, "--bind-fd") ? OP_BIND_FD : OP_RO_BIND_FD);
      o->fd = (int)parse_number(need(argc, argv, ++i, a), a);
      o->dst = need(argc, argv, ++i, a);
    } else if (!strcmp(a, "--tmpfs") || !strcmp(a, "--proc") || !strcmp(a, "--dev")) {
      struct op *o = add_op(!strcmp(a, "--tmpfs") ? OP_TMPFS : !strcmp(a, "--proc") ? OP_PROC : OP_DEV);
      o->dst = need(argc, argv, ++i, a);
      o->size = o->kind == OP_TMPFS ? pending_size : 0;
      pending_size = 0;
    } else die("unknown option %s", a);
  }
  die("no command: options end with -- and the command follows");
  return -1;
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die_errno("open", path);
  if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) die_errno("write", path);
  close(fd);
}

/* mkdir -p, as the sandbox's own root. */
static void make_dirs(const char *path) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) die("path too long: %s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0755) && errno != EEXIST) die_errno("mkdir", buf);
    *p = '/';
  }
  if (mkdir(buf, 0755) && errno != EEXIST) die_errno("mkdir", buf);
}

static void make_parent(const char *path) {
  char buf[PATH_MAX];
  snprintf(buf, sizeof buf, "%s", path);
  char *slash = strrchr(buf, '/');
  if (slash && slash != buf) {
    *slash = 0;
    make_dirs(buf);
  }
}

/* A mount point of the same kind as the source: a directory, or an empty file. One already there (inside an earlier read-only mount) is used as it is. */
static void make_mount_point(const char *dst, int is_dir) {
  struct stat st;
  if (stat(dst, &st) == 0 && !!S_ISDIR(st.st_mode) == !!is_dir) return;
  if (is_dir) return make_dirs(dst);
  make_parent(dst);
  int fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0 && errno != EISDIR) die_errno("create", dst);
  if (fd >= 0) close(fd);
}

/* Read-only, nosuid and nodev for the bind and everything mounted below it at the time. */
static void make_read_only(const char *dst) {
  struct mount_attr_arg attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
  if (syscall(SYS_mount_setattr, AT_FDCWD, dst, AT_RECURSIVE, &attr, sizeof attr) == 0) return;
  /* Kernels before 5.12: the top mount only. */
  if (mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL)) die_errno("remount read-only", dst);
}

static void bind_path(const char *src, const char *dst, int read_only) {
  struct stat st;
  if (stat(src, &st)) die_errno("stat", src);
  make_mount_point(dst, S_ISDIR(st.st_mode));
  if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL)) die_errno("bind", dst);
  if (read_only) make_read_only(dst);
  else if (mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV, NULL) && errno != EPERM) die_errno("remount nosuid", dst);
}

static void mount_dev(const char *dst) {
  static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
  char path[PATH_MAX + 16], src[PATH_MAX];
  make_dirs(dst);
  if (mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755")) die_errno("mount tmpfs", dst);
  for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++) {
    snprintf(path, sizeof path, "%s/%s", dst, nodes[i]);
    snprintf(src, sizeof src, "/oldroot/dev/%s", nodes[i]);
    make_mount_point(path, 0);
    if (mount(src, path, NULL, MS_BIND, NULL)) die_errno("bind", path);
  }
  static const char *const links[][2] = {{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}};
  for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
    snprintf(path, sizeof path, "%s/%s", dst, links[i][0]);
    if (symlink(links[i][1], path)) die_errno("symlink", path);
  }
  snprintf(path, sizeof path, "%s/shm", dst);
  make_dirs(path);
  if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=1m")) die_errno("mount tmpfs", path);
}

static void at_newroot(char *out, const char *path) {
  if (snprintf(out, PATH_MAX, "/newroot%s", path) >= PATH_MAX) die("path too long: %s", path);
}

/*
 * Moves into a tmpfs holding only the listed mounts. The host's root stays
 * reachable as /oldroot until the last pivot, so bind sources are found
 * wherever they are, /tmp included, and then it is detached for good.
 */
/*
 * An fd opened in the host's mount namespace cannot be bound in ours, so the
 * directory is looked up again by the path it had, and used only if it is
 * still the very same directory: a swap in between is refused.
 */
static void remember_fd_paths(void) {
  char link[64], target[PATH_MAX];
  for (int i = 0; i < n_ops; i++) {
    if (ops[i].kind != OP_BIND_FD && ops[i].kind != OP_RO_BIND_FD) continue;
    snprintf(link, sizeof link, "/proc/self/fd/%d", ops[i].fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < 0) die_errno("readlink", link);
    target[n] = 0;
    if (target[0] != '/') die("fd %d is not a directory of the host's filesystem (%s)", ops[i].fd, target);
    ops[i].fd_path = strdup(target);
  }
}

static int reopen_same(const struct op *o) {
  char path[PATH_MAX + 16];
  struct stat want, got;
  snprintf(path, sizeof path, "/oldroot%s", o->fd_path);
  int fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) die_errno("reopen", o->fd_path);
  if (fstat(o->fd, &want) || fstat(fd, &got)) die_errno("fstat", o->fd_path);
  if (want.st_dev != got.st_dev || want.st_ino != got.st_ino) die("%s was replaced while the sandbox was built", o->fd_path);
  return fd;
}

static void build_root(void) {
  char dst[PATH_MAX], src[PATH_MAX];
  remember_fd_paths();
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) die_errno("make mounts private", "/");
  if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")) die_errno("mount tmpfs", "/tmp");
  if (chdir("/tmp")) die_errno("chdir", "/tmp");
  if (mkdir("newroot", 0755) || mkdir("oldroot", 0755)) die_errno("mkdir", "/tmp");
  if (syscall(SYS_pivot_root, "/tmp", "oldroot")) die_errno("pivot_root", "/tmp");
  if (chdir("/")) die_errno("chdir", "/");
  if (mount("tmpfs", "/newroot", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")) die_errno("mount tmpfs", "/newroot");

  for (int i = 0; i < n_ops; i++) {
    struct op *o = &ops[i];
    at_newroot(dst, o->dst);
    switch (o->kind) {
      case OP_RO_BIND:
      case OP_BIND:
        if (snprintf(src, sizeof src, "/oldroot%s", o->src) >= (int)sizeof src) die("path too long: %s", o->src);
        bind_path(src, dst, o->kind == OP_RO_BIND);
        break;
      case OP_BIND_FD:
      case OP_RO_BIND_FD: {
        int same = reopen_same(o);
        snprintf(src, sizeof src, "/oldroot/proc/self/fd/%d", same);
        bind_path(src, dst, o->kind == OP_RO_BIND_FD);
        close(same);
        break;
      }
      case OP_TMPFS: {
        char options[64];
        if (o->size) snprintf(options, sizeof options, "mode=0755,size=%lld", o->size);
        else snprintf(options, sizeof options, "mode=0755");
        make_dirs(dst);
        if (mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, options)) die_errno("mount tmpfs", dst);
        break;
      }
      case OP_PROC:
        make_dirs(dst);
        if (mount("proc", dst, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) die_errno("mount proc", dst);
        break;
      case OP_DEV:
        mount_dev(dst);
        break;
      case OP_SYMLINK:
        make_parent(dst);
        if (symlink(o->src, dst) && errno != EEXIST) die_errno("symlink", dst);
        break;
    }
  }

  if (chdir("/newroot")) die_errno("chdir", "/newroot");
  if (syscall(SYS_pivot_root, ".", ".")) die_errno("pivot_root", "/newroot");
  if (umount2(".", MNT_DETACH)) die_errno("detach the host's root", "");
  if (chdir("/")) die_errno("chdir", "/");
  if (remount_root_ro && mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL)) die_errno("remount read-only", "/");
}

/* The new network namespace has only lo, and it starts down. */
static void loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) die_errno("socket", "");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr)) die_errno("bring up", "lo");
  }
  close(s);
}

static int landlock_abi(void) {
  long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
  return abi < 0 ? 0 : (int)abi;
}

static uint64_t handled_fs(int abi) {
  uint64_t fs = (LL_FS_MAKE_SYM << 1) - 1;
  if (abi >= 2) fs |= LL_FS_REFER;
  if (abi >= 3) fs |= LL_FS_TRUNCATE;
  if (abi >= 5) fs |= LL_FS_IOCTL_DEV;
  return fs;
}

static void landlock_allow(int ruleset, int fd, uint64_t rights, const char *what) {
  struct stat st;
  if (fstat(fd, &st)) die_errno("fstat", what);
  if (!S_ISDIR(st.st_mode)) rights &= LL_FILE_RIGHTS;
  struct ll_path_beneath_attr rule = {.allowed_access = rights, .parent_fd = fd};
  if (syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &rule, 0)) die_errno("landlock rule for", what);
}

static void landlock_allow_path(int ruleset, const char *path, uint64_t rights) {
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) die_errno("open for landlock", path);
  landlock_allow(ruleset, fd, rights, path);
  close(fd);
}

/*
 * Filesystem access to the mounted paths only, with the rights of their
 * mounts; no TCP; no signals and no abstract sockets beyond the sandbox.
 * A plugin binary run from an inherited fd gets execute on that file alone.
 */
static void apply_landlock(char **command) {
  if (!landlock_wanted) return;
  int abi = landlock_abi();
  if (abi < 1) die("Landlock is not available in this kernel");
  uint64_t fs = handled_fs(abi);
  struct ll_ruleset_attr attr = {.handled_access_fs = fs};
  size_t size = sizeof attr.handled_access_fs;
  if (abi >= 4) {
    attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
    size += sizeof attr.handled_access_net;
  }
  if (abi >= 6) {
    attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
    size += sizeof attr.scoped;
  }
  int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
  if (ruleset < 0) die_errno("landlock ruleset", "");
  for (int i = 0; i < n_ops; i++) {
    struct op *o = &ops[i];
    switch (o->kind) {
      case OP_RO_BIND:
      case OP_RO_BIND_FD: landlock_allow_path(ruleset, o->dst, LL_READ_RIGHTS); break;
      case OP_BIND:
      case OP_BIND_FD:
      case OP_TMPFS: landlock_allow_path(ruleset, o->dst, fs); break;
      case OP_PROC: landlock_allow_path(ruleset, o->dst, LL_FS_READ_FILE | LL_FS_READ_DIR | LL_FS_WRITE_FILE); break;
      case OP_DEV: landlock_allow_path(ruleset, o->dst, (LL_FS_READ_FILE | LL_FS_WRITE_FILE | LL_FS_READ_DIR | (abi >= 5 ? LL_FS_IOCTL_DEV : 0)) & fs); break;
      case OP_SYMLINK: break;
    }
  }
  int exec_fd;
  char rest;
  if (sscanf(command[0], "/proc/self/fd/%d%c", &exec_fd, &rest) == 1) landlock_allow(ruleset, exec_fd, LL_FS_EXECUTE | LL_FS_READ_FILE, command[0]);
  if (syscall(SYS_landlock_restrict_self, ruleset, 0)) die_errno("landlock restrict", "");
  close(ruleset);
}

static void apply_seccomp(void) {
  if (seccomp_fd < 0) return;
  static struct sock_filter program[4096];
  size_t got = 0;
  for (;;) {
    ssize_t n = read(seccomp_fd, (char *)program + got, sizeof program - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die_errno("read seccomp program", "");
    if (n == 0) break;
    got += (size_t)n;
    if (got == sizeof program) die("seccomp program too large");
  }
  if (got == 0 || got % sizeof(struct sock_filter)) die("seccomp program of %zu bytes is not whole instructions", got);
  struct sock_fprog prog = {.len = (unsigned short)(got / sizeof(struct sock_filter)), .filter = program};
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) die_errno("load seccomp program", "");
  close(seccomp_fd);
}

static void drop_capabilities(void) {
  int last = 40;
  FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
  if (f) {
    if (fscanf(f, "%d", &last) != 1) last = 40;
    fclose(f);
  }
  for (int cap = 0; cap <= last; cap++)
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL) die_errno("drop capability bounding set", "");
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  struct { uint32_t version; int pid; } header = {0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0};
  struct { uint32_t effective, permitted, inheritable; } data[2];
  memset(data, 0, sizeof data);
  if (syscall(SYS_capset, &header, data)) die_errno("capset", "");
}

/* The last steps before the plugin runs: in this order, since each one forbids what the next needs less of. */
static void become_plugin(char **command) {
  if (new_session && setsid() < 0) die_errno("setsid", "");
  if (!chdir_to && isolate) chdir_to = "/";
  if (chdir_to && chdir(chdir_to)) die_errno("chdir", chdir_to);
  /* As a shell would have it, and as bubblewrap does: programs read their directory from PWD. */
  if (chdir_to) setenv("PWD", chdir_to, 1);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) die_errno("no_new_privs", "");
  if (drop_caps) drop_capabilities();
  apply_landlock(command);
  for (int i = 0; i < n_ops; i++)
    if (ops[i].fd >= 0) close(ops[i].fd);
  apply_seccomp();
  execvp(command[0], command);
  die_errno("cannot run", command[0]);
}

/* Ends this process the way `status` ended: exit code as is, a signal as 128+n. */
static void exit_like(int status) {
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/* pid 1 of the sandbox: reaps orphans, and ends (taking the namespace with it) when the plugin does. */
static void run_init(char **command) {
  pid_t plugin = fork();
  if (plugin < 0) die_errno("fork", "");
  if (plugin == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    become_plugin(command);
  }
  for (int fd = 3; fd < 1024; fd++) close(fd);
  for (;;) {
    int status;
    pid_t pid = wait(&status);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) _exit(126);
    if (pid == plugin) exit_like(status);
  }
}

static void isolate_and_run(char **command) {
  uid_t uid = getuid();
  gid_t gid = getgid();
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP))
    die_errno("cannot create namespaces (are unprivileged user namespaces allowed here?):", "unshare");
  char map[64];
  write_file("/proc/self/setgroups", "deny");
  snprintf(map, sizeof map, "%u %u 1\n", uid, uid);
  write_file("/proc/self/uid_map", map);
  snprintf(map, sizeof map, "%u %u 1\n", gid, gid);
  write_file("/proc/self/gid_map", map);

  int lifeline[2];
  if (pipe2(lifeline, O_CLOEXEC)) die_errno("pipe", "");
  pid_t init = fork();
  if (init < 0) die_errno("fork", "");
  if (init == 0) {
    close(lifeline[1]);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    /* The launcher may have died before the line above: its end of the pipe then reads as hung up. */
    struct pollfd p = {.fd = lifeline[0], .events = POLLIN};
    if (poll(&p, 1, 0) > 0) _exit(126);
    sethostname("hst-sandbox", strlen("hst-sandbox"));
    build_root();
    loopback_up();
    run_init(command);
  }
  close(lifeline[0]);
  /* The sandbox's fds belong to it now; nothing here needs them. */
  for (int i = 0; i < n_ops; i++)
    if (ops[i].fd >= 0) close(ops[i].fd);
  if (seccomp_fd >= 0) close(seccomp_fd);
  for (;;) {
    int status;
    if (waitpid(init, &status, 0) < 0) {
      if (errno == EINTR) continue;
      _exit(126);
    }
    exit_like(status);
  }
}

/*
 * --reaper: for a program the host runs without a sandbox, and in front of
 * bubblewrap, whose own parent-death signals are set a moment after each of
 * its processes starts (a host killed in that moment left them running,
 * reparented to init, before this). It becomes the
 * subreaper of everything the program starts, so nothing escapes it by
 * double-forking, and takes that whole tree down with SIGKILL when the host
 * dies (told by a parent-death signal it can catch, unlike SIGKILL) or when
 * the program itself ends, as a sandbox's pid namespace would. It ends the
 * way the program did.
 */
#define HOST_DEATH_SIGNAL (SIGRTMIN + 1)

static volatile sig_atomic_t host_gone;
static volatile pid_t program_pid;

/* Killing the program here, not only flagging, ends a wait() that began just after the flag was last looked at. */
static void on_host_death(int sig) {
  (void)sig;
  host_gone = 1;
  if (program_pid > 0) kill(program_pid, SIGKILL);
}

/* A signal sent to this process: the program's (the process group has it already, unless forwarding is asked for). */
static void absorb(int sig) {
  if (forward_signals && program_pid > 0) kill(program_pid, sig);
}

/* SIGKILL to every process below this one, until none is left. */
static void kill_descendants(void) {
  for (int round = 0; round < 50; round++) {
    int killed = 0;
    pid_t self = getpid();
    /* Walk /proc/<pid>/task/<pid>/children, breadth first. */
    pid_t queue[4096];
    int head = 0, tail = 0;
    queue[tail++] = self;
    while (head < tail) {
      char path[64];
      pid_t pid = queue[head++];
      snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
      FILE *f = fopen(path, "re");
      if (!f) continue;
      int child;
      while (fscanf(f, "%d", &child) == 1) {
        if (tail < (int)(sizeof queue / sizeof *queue)) queue[tail++] = child;
        kill(child, SIGKILL);
        killed++;
      }
      fclose(f);
    }
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    if (!killed) {
      /* Nothing listed: reap whatever is still dying, and stop once no child is left. */
      if (waitpid(-1, NULL, 0) < 0 && errno == ECHILD) return;
    }
  }
}

static void end_like(int status) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    kill(getpid(), sig);
  }
  exit_like(status);
}

static void reap_and_run(char **command) {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) die_errno("become a subreaper", "");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_host_death;
  sigaction(HOST_DEATH_SIGNAL, &sa, NULL);
  if (prctl(PR_SET_PDEATHSIG, HOST_DEATH_SIGNAL, 0, 0, 0)) die_errno("parent-death signal", "");
  if (parent_pid && getppid() != parent_pid) die("the host (pid %d) is gone", (int)parent_pid);
  /* Signals the host sends the process group are the program's: this process only lets them pass. */
  sa.sa_handler = absorb;
  const int passed[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM};
  for (size_t i = 0; i < sizeof passed / sizeof *passed; i++) sigaction(passed[i], &sa, NULL);
  pid_t program = fork();
  if (program < 0) die_errno("fork", "");
  program_pid = program;
  if (program == 0) {
    char *name = command[0];
    if (argv0) command[0] = (char *)argv0;
    execvp(name, command);
    die_errno("cannot run", name);
  }
  int status = 0;
  for (;;) {
    if (host_gone) break;
    pid_t pid = wait(&status);
    if (pid == program) break;
    if (pid < 0 && errno != EINTR) break;
  }
  if (host_gone) {
    kill_descendants();
    _exit(128 + SIGKILL);
  }
  /* What the program left running goes with it, as in a sandbox. */
  kill_descendants();
  end_like(status);
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "--landlock-abi")) {
    printf("%d\n", landlock_abi());
    return 0;
  }
  int at = parse(argc, argv);
  if (at >= argc) die("no command after --");
  char **command = argv + at;
  if (die_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (parent_pid && getppid() != parent_pid) die("the host (pid %d) is gone", (int)parent_pid);
  }
  if (reaper) reap_and_run(command);
  if (confine_only == isolate) die("exactly one of --unshare-all, --confine-only and --reaper");
  if (confine_only) become_plugin(command);
  isolate_and_run(command);
  return 126;
}
