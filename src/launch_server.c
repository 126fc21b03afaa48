/* SPDX-License-Identifier: MIT */
/*
 * launch_server.c - the server launcher: spawns and embryos through
 * forkless-server (server.c), a pristine helper process per NUMA node.
 *
 * A server is started on first use with the vfork launcher and exec'd, so
 * it holds nothing of the caller but what a child of it would inherit at
 * that moment; each request then carries what a child would inherit from
 * the caller now (cwd, umask, ignored signals, nice value, rlimits,
 * affinity) and the caller fds the spec names (all non-CLOEXEC ones when
 * fds are inherited).  Its children are the caller's (CLONE_PARENT).
 *
 * Safety, per the embedding rules:
 *  - credentials: each request first compares the caller's ids, groups,
 *    capabilities, no_new_privs and seccomp mode with those the server was
 *    started with; on a change the old server is let go (its embryos die
 *    with it) and a new one started.  The server itself checks the
 *    kernel's SCM_CREDENTIALS on every message and ends at the first one
 *    that is not its parent's with its own ids.  A watcher thread, owned
 *    here, sleeps in poll(), which glibc's set*id broadcast interrupts, so
 *    a privilege drop ends the old servers at once, without a library call;
 *  - lifetime: the caller's end is O_CLOEXEC and no fork child keeps it
 *    (atfork), so exit and exec close it and the server sees EOF;
 *  - death: the watcher polls each server's pidfd and reaps a dead server
 *    and its spares by pidfd; a request in flight gets -ECONNRESET once,
 *    the next one starts a new server;
 *  - fork: the child lets the parent's servers be (closes its copies); its
 *    own start on first use.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "handle.h"
#include "internal.h"
#include "sys.h"
#include "warm.h"
#include "wire.h"

#ifndef FL_SERVER_PATH
#define FL_SERVER_PATH "/usr/local/libexec/forkless/forkless-server"
#endif

#define NSERVERS 65 /* the default one, and one per NUMA node 0..63 */
#define NWARM 8     /* warm servers (of warm templates) a process keeps; then LRU */
#define NSLOTS (NSERVERS + NWARM)
#define GROUPS_MAX 256

struct creds {
	uid_t uid[3];
	gid_t gid[3];
	int ngroups; /* -1: more than GROUPS_MAX (then compared by count and prefix) */
	gid_t groups[GROUPS_MAX];
	uint32_t cap[6];
	int nnp, seccomp;
};

struct spare {
	pid_t pid;
	int pidfd;
	int epoch; /* of the reserve it belongs to */
};

struct srv {
	int sock;       /* -1: none */
	int pidfd;
	pid_t pid;
	unsigned int gen; /* which start this is: embryos remember theirs */
	struct creds cr;
	unsigned int reserve;
	int epoch;      /* the reserve's: spares of an older one were ended */
	struct spare *spares;
	size_t nspares, cap;
	pid_t *taken;   /* spares handed out the server has not heard of yet */
	size_t ntaken, cap_taken;
	unsigned int warm_id; /* a warm server's: its template's fl__warm.id */
	unsigned long used;   /* a warm server's last spawn (LRU) */
};

static pthread_mutex_t srv_lock = PTHREAD_MUTEX_INITIALIZER;
static struct srv servers[NSLOTS];
static pid_t srv_owner;  /* the process whose servers these are */
static unsigned int gen_next = 1;
static int watch_wake[2] = { -1, -1 };
static int watching;
static int watch_ready; /* futex: the watcher holds SIGSETXID */
static pthread_cond_t watch_gone = PTHREAD_COND_INITIALIZER;

/* ---- credentials ------------------------------------------------------- */

static void creds_get(struct creds *c)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	gid_t more[GROUPS_MAX];

	memset(c, 0, sizeof(*c));
	getresuid(&c->uid[0], &c->uid[1], &c->uid[2]);
	getresgid(&c->gid[0], &c->gid[1], &c->gid[2]);
	c->ngroups = getgroups(GROUPS_MAX, more);
	if (c->ngroups >= 0)
		memcpy(c->groups, more, (size_t)c->ngroups * sizeof(gid_t));
	else
		c->ngroups = -(int)getgroups(0, NULL) - 1; /* too many: count only */
	memset(d, 0, sizeof(d));
	if (fl__sys2(__NR_capget, &h, d) == 0)
		for (int i = 0; i < 2; i++) {
			c->cap[3 * i] = d[i].effective;
			c->cap[3 * i + 1] = d[i].permitted;
			c->cap[3 * i + 2] = d[i].inheritable;
		}
	c->nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	c->seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
}

/* Credentials from /proc/PID/status text, the same as creds_get would
 * give; -1 if a line is missing. */
static int creds_parse(const char *st, struct creds *c)
{
	static const char *const key[] = { "\nUid:", "\nGid:", "\nGroups:", "\nCapInh:",
					   "\nCapPrm:", "\nCapEff:", "\nNoNewPrivs:",
					   "\nSeccomp:" };
	const char *at[8];
	char *end;

	for (int i = 0; i < 8; i++)
		if (!(at[i] = strstr(st, key[i])))
			return -1;
		else
			at[i] += strlen(key[i]);
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < 3; i++) {
		c->uid[i] = (uid_t)strtoul(at[0], &end, 10);
		at[0] = end;
		c->gid[i] = (gid_t)strtoul(at[1], &end, 10);
		at[1] = end;
	}
	int n = 0;
	for (const char *g = at[2];; g = end) {
		unsigned long v = strtoul(g, &end, 10);
		if (end == g)
			break;
		if (n < GROUPS_MAX)
			c->groups[n] = (gid_t)v;
		n++;
	}
	if (n > GROUPS_MAX) { /* as creds_get has it: the count only */
		memset(c->groups, 0, sizeof(c->groups));
		n = -n - 1;
	}
	c->ngroups = n;
	for (int k = 0; k < 3; k++) { /* CapInh, CapPrm, CapEff: as capget's words */
		uint64_t v = strtoull(at[3 + k], NULL, 16);
		c->cap[2 - k] = (uint32_t)v;
		c->cap[5 - k] = (uint32_t)(v >> 32);
	}
	c->nnp = (int)strtol(at[6], NULL, 10);
	c->seccomp = (int)strtol(at[7], NULL, 10);
	return 0;
}

static bool creds_equal(const struct creds *a, const struct creds *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/* ---- starting and ending servers (srv_lock held) ----------------------- */

/* The server program: $FORKLESS_SERVER (not for set-id programs), beside
 * the library (a build tree, or a private install), or the installed one. */
/* A helper file: where environment variable env says, else name beside
 * this library (or the program it is linked into) if it is there (access
 * mode), else the installed path. */
static const char *helper_path(const char *env, const char *name, int mode,
			       const char *installed, char *buf, size_t size)
{
	const char *v = secure_getenv(env);
	Dl_info info;

	if (v && *v)
		return v;
	if (dladdr((void *)helper_path, &info) && info.dli_fname && strchr(info.dli_fname, '/')) {
		const char *slash = strrchr(info.dli_fname, '/');
		int n = snprintf(buf, size, "%.*s/%s", (int)(slash - info.dli_fname),
				 info.dli_fname, name);
		if (n > 0 && (size_t)n < size && access(buf, mode) == 0)
			return buf;
	}
	return installed;
}

static const char *server_path(char *buf, size_t size)
{
	return helper_path("FORKLESS_SERVER", "forkless-server", X_OK, FL_SERVER_PATH, buf, size);
}

static void reap_fd(int pidfd)
{
	siginfo_t si;

	while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED | __WALL) < 0 && errno == EINTR)
		;
	close(pidfd);
}

static void spare_add(struct srv *v, pid_t pid, int pidfd, int epoch)
{
	if (epoch < v->epoch) { /* ended by the server already */
		fl__kill_child(pidfd, SIGKILL);
		reap_fd(pidfd);
		return;
	}
	if (v->nspares == v->cap) {
		size_t c = v->cap ? 2 * v->cap : 8;
		struct spare *p = realloc(v->spares, c * sizeof(*p));
		if (!p) { /* it cannot be handed out; end it */
			fl__kill_child(pidfd, SIGKILL);
			reap_fd(pidfd);
			return;
		}
		v->spares = p;
		v->cap = c;
	}
	v->spares[v->nspares++] = (struct spare){ pid, pidfd, epoch };
}

/* One message on socket rs into buf (size bytes), the fds it carries in
 * got[0..3] (-1 where none): its length, or -1 and errno. */
static ssize_t recv_one(int rs, void *buf, size_t size, int flags, int got[4])
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { buf, size };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			    .msg_controllen = sizeof(u.b) };
	ssize_t n;

	got[0] = got[1] = got[2] = got[3] = -1;
	while ((n = recvmsg(rs, &h, MSG_CMSG_CLOEXEC | flags)) < 0 && errno == EINTR)
		;
	struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&h) : NULL;
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(got, CMSG_DATA(c), (k > 4 ? 4 : k) * sizeof(int));
	}
	return n;
}

static void close_got(int got[4])
{
	for (int i = 0; i < 4; i++)
		if (got[i] >= 0)
			close(got[i]);
}

/* Read the server's notices of new spares (their pidfds). */
static void drain(struct srv *v)
{
	for (;;) {
		struct fl__wrep w;
		int got[4];
		ssize_t n = recv_one(v->sock, &w, sizeof(w), MSG_DONTWAIT, got);
		if (n <= 0)
			return;
		if ((size_t)n == sizeof(w) && w.has_pidfd && got[0] >= 0) {
			spare_add(v, w.pid, got[0], w.result);
			got[0] = -1;
		}
		close_got(got);
	}
}

/*
 * Processes of ours that are ending but that we could not kill (a server
 * and spares of credentials we dropped: they end on EOF): the watcher
 * reaps each when its pidfd says so.  srv_lock guards the list.
 */
static int *dying;
static size_t ndying, cap_dying;

static void watch_start(void);

/* Reap pidfd's process now if it is gone; if not, once it is (the list). */
static void reap_later(int pidfd)
{
	siginfo_t si = { 0 };

	if (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOHANG | __WALL) < 0 ||
	    si.si_pid != 0) {
		close(pidfd); /* reaped, or not ours to reap (ECHILD) */
		return;
	}
	if (ndying == cap_dying) {
		size_t c = cap_dying ? 2 * cap_dying : 16;
		int *d = realloc(dying, c * sizeof(*d));
		if (!d) {
			reap_fd(pidfd); /* no memory to defer: wait here */
			return;
		}
		dying = d;
		cap_dying = c;
	}
	dying[ndying++] = pidfd;
}

/* End pidfd's process: killed and reaped, or (not ours to signal any
 * more) reaped when it ends by itself. */
static void end_process(int pidfd)
{
	if (fl__kill_child(pidfd, SIGKILL) == 0)
		reap_fd(pidfd);
	else
		reap_later(pidfd);
}

/*
 * Let server v go: EOF makes it exit, and its embryos with it (EOF on
 * theirs); it and its spares are reaped through their pidfds, embryos
 * whose handles were never run too (builder.c); handles of them then
 * fail with -why (EPERM: credentials changed; ESRCH: it died, or was let
 * go).
 */
static void srv_stop(struct srv *v, int why)
{
	if (v->sock < 0)
		return;
	/* EOF first: the server ends what it is doing (a spare it is making
	 * gets its notice out) and exits; then every notice it sent is in our
	 * queue.  One that does not exit at once is killed. */
	struct pollfd p = { v->pidfd, POLLIN, 0 };
	shutdown(v->sock, SHUT_WR);
	if (poll(&p, 1, 200) == 1 || fl__kill_child(v->pidfd, SIGKILL) == 0) {
		reap_fd(v->pidfd);
		drain(v);
	} else {
		drain(v); /* not ours to kill any more: EOF ends it */
		reap_later(v->pidfd);
	}
	close(v->sock);
	v->sock = -1;
	v->pidfd = -1;
	for (size_t i = 0; i < v->nspares; i++)
		end_process(v->spares[i].pidfd);
	free(v->spares);
	v->spares = NULL;
	v->nspares = v->cap = 0;
	free(v->taken);
	v->taken = NULL;
	v->ntaken = v->cap_taken = 0;
	fl__embryos_gone(v->gen, why, end_process);
	if (ndying)
		watch_start();
	if (watching)
		(void)!write(watch_wake[1], "", 1);
}

static void *watch(void *arg);

/* The watcher thread, started with the first server. */
static void watch_start(void)
{
	sigset_t all, old;
	pthread_t t;
	pthread_attr_t a;

	if (watching)
		return;
	if (watch_wake[0] < 0 && pipe2(watch_wake, O_CLOEXEC | O_NONBLOCK) < 0)
		return;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old); /* glibc leaves its set*id signal open */
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 64 * 1024);
	__atomic_store_n(&watch_ready, 0, __ATOMIC_RELAXED);
	if (pthread_create(&t, &a, watch, NULL) == 0)
		watching = 1;
	pthread_attr_destroy(&a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	/* until it holds glibc's set*id signal: a drop right after this call
	 * must find it there (it takes no lock before) */
	while (watching && !__atomic_load_n(&watch_ready, __ATOMIC_ACQUIRE))
		fl__sys6(__NR_futex, (long)&watch_ready, FUTEX_WAIT_PRIVATE, 0, 0, 0, 0);
}

/* Start server v for node; a failure's step in *ret_err (if not NULL). */
static int srv_start(struct srv *v, int node, struct fl_error *ret_err)
{
	char path[PATH_MAX], nodebuf[16];
	char *argv[] = { "forkless-server", NULL }, *envp[] = { NULL };
	struct fl_action acts[] = {
		{ .type = FL_ACTION_DUP2, .fd = -1, .newfd = 3 },
		{ .type = FL_ACTION_CLOSE, .flags = FL_ACTION_CLOSE_IF_OPEN, .fd = 0 },
		{ .type = FL_ACTION_CLOSE, .flags = FL_ACTION_CLOSE_IF_OPEN, .fd = 1 },
		{ .type = FL_ACTION_CLOSE, .flags = FL_ACTION_CLOSE_IF_OPEN, .fd = 2 },
	};
	struct fl_spawn_args a = { .argv = argv, .envp = envp, .actions = acts, .nactions = 4,
				   .flags = FL_SPAWN_NO_SEARCH };
	struct fl__config c;
	struct fl_error e;
	int sv[2], pidfd = -1, r;

	int one = 1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	/* before any request is sent: the kernel adds the sender's
	 * credentials to what it queues for a receiver that asks */
	if (setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
		r = -errno;
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	acts[0].fd = sv[1];
	fl__config_init(&c);
	c.launcher = FL__LAUNCHER_VFORK; /* never itself */
	a.path = server_path(path, sizeof(path));
	/* a pristine process: default signals, no mask, on "/" (pins no mount) */
	r = fl__config_apply(&c, FL_CONFIG_SET_STRING, "sigdefault", "all", 0);
	if (r == 0)
		r = fl__config_apply(&c, FL_CONFIG_SET_STRING, "cwd", "/", 0);
	if (r == 0 && node >= 0) {
		snprintf(nodebuf, sizeof(nodebuf), "%d", node);
		/* its CPUs and memory: what it maps, and its children's page
		 * tables, come from that node */
		r = fl__config_apply(&c, FL_CONFIG_SET_STRING, "numa_node", nodebuf, 0);
		if (r == 0) {
			char pol[32];
			snprintf(pol, sizeof(pol), "bind:%d", node);
			r = fl__config_apply(&c, FL_CONFIG_SET_STRING, "mempolicy", pol, 0);
		}
	}
	/* before the start: a change during it can only make them differ
	 * (and the server go at once), never let an old one pass for new */
	creds_get(&v->cr);
	if (r == 0)
		r = fl__run(&c, &a, &pidfd, &e);
	fl__config_free(&c);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		if (ret_err && e.err) /* which step of starting it failed */
			*ret_err = (struct fl_error){ e.err, FL_STAGE_SERVER, e.stage };
		return r;
	}
	v->sock = sv[0];
	v->pidfd = pidfd;
	v->pid = r;
	v->gen = gen_next++;
	v->reserve = 0;
	v->epoch = 0;
	watch_start();
	if (watching)
		(void)!write(watch_wake[1], "", 1);
	/* a drop (glibc's, of every thread) before the watcher held its
	 * signal is one it cannot see as a change of its own: see it here */
	struct creds now;
	creds_get(&now);
	if (!creds_equal(&now, &v->cr)) {
		srv_stop(v, EPERM);
		return -EAGAIN;
	}
	return 0;
}

/* Forget what a fork's parent had: its servers are not ours. */
static void adopt(void)
{
	pid_t me = getpid();

	if (srv_owner == me)
		return;
	if (srv_owner != 0) {
		for (int i = 0; i < NSLOTS; i++) {
			struct srv *v = &servers[i];
			if (v->sock >= 0) {
				close(v->sock);
				close(v->pidfd);
			}
			for (size_t k = 0; k < v->nspares; k++)
				close(v->spares[k].pidfd);
			free(v->spares);
			free(v->taken);
		}
	}
	memset(servers, 0, sizeof(servers));
	for (int i = 0; i < NSLOTS; i++)
		servers[i].sock = servers[i].pidfd = -1;
	srv_owner = me;
}

/* The server for node (-1: the default one), started or restarted as
 * needed (srv_lock held).  0 or -errno. */
static int srv_get(int node, const struct creds *known, struct srv **ret,
		   struct fl_error *ret_err)
{
	struct srv *v;
	struct creds now;

	if (node < -1 || node >= NSERVERS - 1)
		return -EINVAL;
	adopt();
	v = &servers[node + 1];
	if (v->sock >= 0) {
		if (!known)
			creds_get(&now);
		if (!creds_equal(known ? known : &now, &v->cr))
			srv_stop(v, EPERM); /* never again for these credentials */
	}
	for (int tries = 0; v->sock < 0; tries++) {
		int r = srv_start(v, node, ret_err);
		if (r < 0 && (r != -EAGAIN || tries == 2))
			return r; /* EAGAIN: credentials changed as it started */
	}
	*ret = v;
	return 0;
}

/* ---- requests ---------------------------------------------------------- */

static int send_fds(int sock, const void *h, size_t hlen, const void *p, size_t plen,
		    const int *fds, size_t n)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * (FL__WIRE_FDS_MAX + 1))];
		struct cmsghdr align;
	} u;
	struct iovec iov[2] = { { (void *)h, hlen }, { (void *)p, plen } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = plen ? 2 : 1 };

	if (n) {
		memset(u.b, 0, CMSG_SPACE(sizeof(int) * n)); /* its padding too */
		m.msg_control = u.b;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	while (sendmsg(sock, &m, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/*
 * Send request h (payload p, fds) to server v with a fresh reply socket;
 * our end in *ret_reply.  srv_lock held (the messages of one request stay
 * together).  -EPIPE/-ECONNRESET/-ECONNREFUSED: the server is gone.
 */
static int send_request(struct srv *v, struct fl__wreq *h, const void *p, size_t len,
			const int *fds, size_t nfds, int *ret_reply)
{
	int rs[2], memfd = -1, r;
	int first[FL__WIRE_FDS_MAX + 1];
	size_t k = 0, i = 0;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rs) < 0)
		return -errno;
	h->magic = FL__WIRE_MAGIC;
	h->spec_size = sizeof(struct fl__spec);
	h->len = (uint32_t)len;
	h->nfds = (uint32_t)nfds;
	first[k++] = rs[1];
	if (len > FL__WIRE_INLINE_MAX) {
		/* too big for one message: the payload goes in a memfd */
		memfd = memfd_create("forkless-request", MFD_CLOEXEC);
		if (memfd < 0 || write(memfd, p, len) != (ssize_t)len) {
			r = memfd < 0 ? -errno : -EIO;
			goto out;
		}
		h->flags |= FL__W_PAYLOAD_FD;
		h->nfds++;
		first[k++] = memfd;
		p = NULL;
		len = 0;
	}
	while (k < FL__WIRE_FDS_MAX + 1 && i < nfds)
		first[k++] = fds[i++];
	r = send_fds(v->sock, h, sizeof(*h), p, len, first, k);
	while (r == 0 && i < nfds) {
		struct fl__wreq more = { .magic = FL__WIRE_MAGIC, .type = FL__W_MORE };
		size_t m = nfds - i < FL__WIRE_FDS_MAX ? nfds - i : FL__WIRE_FDS_MAX;
		r = send_fds(v->sock, &more, sizeof(more), NULL, 0, fds + i, m);
		i += m;
	}
out:
	if (memfd >= 0)
		close(memfd);
	close(rs[1]);
	if (r < 0)
		close(rs[0]);
	else
		*ret_reply = rs[0];
	return r;
}

/*
 * Spares handed out are told to the server with the next request about
 * them (FL__W_TAKEN on its run or op: no message of their own), and
 * before a reserve changes (which ends the spares the server knows of).
 * srv_lock held.
 */
#define TAKEN_MAX 4096

static bool taken_add(struct srv *v, pid_t pid)
{
	if (v->ntaken == v->cap_taken) {
		size_t c = v->cap_taken ? 2 * v->cap_taken : 16;
		pid_t *t = realloc(v->taken, c * sizeof(*t));
		if (!t)
			return false;
		v->taken = t;
		v->cap_taken = c;
	}
	v->taken[v->ntaken++] = pid;
	return true;
}

/* Whether pid was a spare the server has not heard was taken (then it
 * hears it now, with the request h is). */
static void taken_tell(struct srv *v, struct fl__wreq *h)
{
	for (size_t i = v->ntaken; i-- > 0;)
		if (v->taken[i] == h->pid) {
			v->taken[i] = v->taken[--v->ntaken];
			h->flags |= FL__W_TAKEN;
			return;
		}
}

/* Every taken spare told, each in a message of its own. */
static int taken_flush(struct srv *v)
{
	while (v->ntaken > 0) {
		struct fl__wreq t = { .magic = FL__WIRE_MAGIC, .type = FL__W_EMB_TAKE,
				      .spec_size = sizeof(struct fl__spec),
				      .pid = v->taken[v->ntaken - 1] };
		int r = send_fds(v->sock, &t, sizeof(t), NULL, 0, NULL, 0);
		if (r < 0)
			return r;
		v->ntaken--;
	}
	return 0;
}

/* The answer on reply socket rs (closed here unless nonblocking finds
 * none: -EAGAIN); the fds it carries in fds[0..1] (-1 if none). */
static int recv_reply2(int rs, struct fl__wrep *w, int fds[2], int nonblock)
{
	int got[4];
	ssize_t n = recv_one(rs, w, sizeof(*w), nonblock ? MSG_DONTWAIT : 0, got);

	fds[0] = fds[1] = -1;
	/* A nonblocking SEQPACKET recvmsg that finds the queue empty and then
	 * the peer closed says EOF, even when the answer arrived in between
	 * (the server sends, then closes).  The send came before the close:
	 * look once more. */
	if (n == 0 && nonblock)
		n = recv_one(rs, w, sizeof(*w), MSG_DONTWAIT, got);
	if (n < 0 && errno == EAGAIN)
		return -EAGAIN;
	close(rs);
	if (n != sizeof(*w) || !w->has_pidfd || got[2] >= 0) {
		close_got(got);
		return n != sizeof(*w) ? -ECONNRESET : 0; /* ECONNRESET: it died with the request */
	}
	fds[0] = got[0];
	fds[1] = got[1];
	return 0;
}

static int recv_reply(int rs, struct fl__wrep *w, int *ret_fd, int nonblock)
{
	int fds[2], r = recv_reply2(rs, w, fds, nonblock);

	if (fds[1] >= 0)
		close(fds[1]);
	if (ret_fd)
		*ret_fd = fds[0];
	else if (fds[0] >= 0)
		close(fds[0]);
	return r;
}

/*
 * One request to the server for node, restarting a dead server once: a
 * request that never arrived is safe to send again.  Embryo requests name
 * a server generation (gen != 0): that one or none.  Returns the reply
 * socket in *ret_reply, 0 or -errno.
 */
static int request_locked(int node, unsigned int gen, struct fl__wreq *h, const void *p,
			  size_t len, const int *fds, size_t nfds, int *ret_reply,
			  unsigned int *ret_gen, struct fl_error *ret_err, const struct creds *known)
{
	struct srv *v;
	int r;

	for (int tries = 0;; tries++) {
		if ((r = srv_get(node, known, &v, ret_err)) < 0)
			break;
		if (gen && v->gen != gen) {
			r = -EPERM; /* its server is gone: credentials changed, or it died */
			break;
		}
		h->flags &= FL__W_LIMITS;
		if (h->type == FL__W_EMB_RUN || h->type == FL__W_EMB_OP)
			taken_tell(v, h);
		else if (h->type == FL__W_RESERVE)
			r = taken_flush(v);
		if (r == 0)
			r = send_request(v, h, p, len, fds, nfds, ret_reply);
		if (r < 0 && (h->flags & FL__W_TAKEN))
			taken_add(v, h->pid); /* not heard: still to tell */
		if ((r == -EPIPE || r == -ECONNRESET || r == -ECONNREFUSED) && tries == 0 && !gen) {
			srv_stop(v, ESRCH);
			continue;
		}
		if (r == -EPIPE || r == -ECONNRESET || r == -ECONNREFUSED)
			srv_stop(v, ESRCH);
		if (ret_gen)
			*ret_gen = v->gen;
		break;
	}
	return r;
}

static int request(int node, unsigned int gen, struct fl__wreq *h, const void *p, size_t len,
		   const int *fds, size_t nfds, int *ret_reply, unsigned int *ret_gen,
		   struct fl_error *ret_err, const struct creds *known)
{
	int cs, r;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	pthread_mutex_lock(&srv_lock);
	r = request_locked(node, gen, h, p, len, fds, nfds, ret_reply, ret_gen, ret_err, known);
	pthread_mutex_unlock(&srv_lock);
	pthread_setcancelstate(cs, NULL);
	return r;
}

/* ---- what a child of the caller would inherit now ---------------------- */

/* This thread's /proc status (malloc'd, NUL-terminated), or NULL. */
static char *status_text(void)
{
	int fd = open("/proc/thread-self/status", O_RDONLY | O_CLOEXEC);
	size_t len = 0, cap = 8192;
	char *buf = fd >= 0 ? malloc(cap) : NULL;
	ssize_t n = 0;

	while (buf && (n = read(fd, buf + len, cap - 1 - len)) > 0) {
		len += (size_t)n;
		if (len < cap - 1)
			break; /* a seq_file gives all it has made at once: the end */
		char *b = realloc(buf, cap *= 2); /* many groups: read on */
		if (!b) {
			n = -1;
			break;
		}
		buf = b;
	}
	if (fd >= 0)
		close(fd);
	if (!buf || n < 0 || len == 0) {
		free(buf);
		return NULL;
	}
	buf[len] = 0;
	return buf;
}

/* The caller's umask and ignored signals, from /proc (no getter exists),
 * and its credentials from the same text (*have_cr: they were all there). */
static void read_status(unsigned int *umask_, uint64_t *sigign, struct creds *cr,
			bool *have_cr)
{
	char *buf = status_text(), *p;

	*sigign = 0;
	*have_cr = false;
	if (!buf) { /* no /proc: the umask the only other way there is */
		mode_t m = umask(077);
		umask(m);
		*umask_ = m;
		return;
	}
	p = strstr(buf, "\nUmask:");
	*umask_ = p ? (unsigned int)strtoul(p + 7, NULL, 8) : 022;
	if ((p = strstr(buf, "\nSigIgn:")))
		*sigign = strtoull(p + 8, NULL, 16);
	*have_cr = creds_parse(buf, cr) == 0;
	free(buf);
}

static int add_fd(struct fl__wfd **map, int **fds, size_t *n, size_t *cap, int fd)
{
	int fl;

	if (fd < 0)
		return 0;
	for (size_t i = 0; i < *n; i++)
		if ((*map)[i].fd == fd)
			return 0;
	if ((fl = fcntl(fd, F_GETFD)) < 0)
		return 0; /* not open: the child will not have it either */
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 16;
		struct fl__wfd *m = realloc(*map, c * sizeof(*m));
		if (m)
			*map = m;
		int *f = m ? realloc(*fds, c * sizeof(*f)) : NULL;
		if (!m || !f)
			return -ENOMEM;
		*fds = f;
		*cap = c;
	}
	(*map)[*n] = (struct fl__wfd){ fd, !!(fl & FD_CLOEXEC) };
	(*fds)[*n] = fd;
	(*n)++;
	return 0;
}

/* Every fd of ours without FD_CLOEXEC (what an inheriting child keeps). */
static int add_inherited(struct fl__wfd **map, int **fds, size_t *n, size_t *cap)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int r = 0;

	if (!d)
		return -errno;
	while (r == 0 && (de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		int fd = atoi(de->d_name);
		if (fd == dirfd(d))
			continue;
		int fl = fcntl(fd, F_GETFD);
		if (fl >= 0 && !(fl & FD_CLOEXEC))
			r = add_fd(map, fds, n, cap, fd);
	}
	closedir(d);
	return r;
}

/* Whether the server can read our rlimits in /proc/PID/limits (it sees
 * the /proc we see: same mount namespace, same credentials). */
static bool proc_limits(void)
{
	static int known; /* 1: yes, 2: no */
	int k = __atomic_load_n(&known, __ATOMIC_RELAXED);

	if (k == 0) {
		int fd = open("/proc/self/limits", O_RDONLY | O_CLOEXEC);
		k = fd >= 0 ? 1 : 2;
		if (fd >= 0)
			close(fd);
		__atomic_store_n(&known, k, __ATOMIC_RELAXED);
	}
	return k == 1;
}

/* This thread's nice value and scheduling policy into t (the server's is
 * SCHED_BATCH): one sched_getattr, or the three calls it replaces. */
static void sched_now(struct fl__spec *t)
{
	struct fl__sched_attr a = { 0 };
	bool want = !(t->set & (FL__SET_SCHED | FL__SET_SCHEDPARAM));

	if (fl__sys4(__NR_sched_getattr, 0, &a, sizeof(a), 0) == 0) {
		t->nice = a.sched_nice;
		t->set |= FL__SET_NICE;
		if (want) {
			t->sched_policy = (int)a.sched_policy;
			t->sched_priority = (int)a.sched_priority;
			t->set |= FL__SET_SCHED;
		}
		return;
	}
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, 0);
	if (errno == 0) {
		t->nice = nice;
		t->set |= FL__SET_NICE;
	}
	if (want) {
		struct sched_param sp;
		int pol = sched_getscheduler(0);
		if (pol >= 0 && sched_getparam(0, &sp) == 0) {
			t->sched_policy = pol & ~SCHED_RESET_ON_FORK;
			t->sched_priority = sp.sched_priority;
			t->set |= FL__SET_SCHED;
		}
	}
}

struct req {
	uint32_t flags; /* FL__W_LIMITS */
	struct creds cr; /* the caller's, read with its umask */
	bool have_cr;
	struct fl__spec s;
	struct fl__wfd *map;
	int *fds;
	size_t nfds, cap;
	int cwd;    /* our O_PATH fd of the cwd, sent along */
	void *buf;
	size_t len;
};

static void req_free(struct req *q)
{
	if (q->cwd >= 0)
		close(q->cwd);
	free(q->map);
	free(q->fds);
	free(q->buf);
}

/* Spec s as a request: the caller's inheritable state added, its fds
 * collected, packed. */
static int req_make(struct req *q, const struct fl__spec *s, uint32_t eager)
{
	int r = 0;

	memset(q, 0, sizeof(*q));
	q->cwd = -1;
	q->s = *s;
	struct fl__spec *t = &q->s;
	/* the caller's cwd: the child's, or where its relative cwd starts */
	t->base_fd = -1;
	bool relative = (t->set & FL__SET_CWD) && t->cwd_fd < 0 && t->cwd && t->cwd[0] != '/';
	if ((!(t->set & FL__SET_CWD) && !(eager & FL__SET_CWD)) || relative) {
		if ((q->cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			return -errno;
		t->base_fd = q->cwd;
	}
	if (!(t->set & FL__SET_UMASK))
		read_status(&t->umask, &t->sigignore, &q->cr, &q->have_cr);
	else {
		unsigned int um;
		read_status(&um, &t->sigignore, &q->cr, &q->have_cr);
	}
	t->set |= FL__SET_UMASK;
	sched_now(t);

	if (proc_limits()) {
		q->flags |= FL__W_LIMITS; /* the server reads them */
	} else {
		for (int i = 0; i < FL__RLIM_MAX; i++) {
			if (t->rlimit_set & (1u << i))
				continue;
			if (fl__sys4(__NR_prlimit64, 0, i, NULL, &t->rlimits[i]) == 0)
				t->rlimit_set |= 1u << i;
		}
	}
	cpu_set_t *mine = NULL;
	if (!(t->set & FL__SET_AFFINITY) && !(eager & FL__SET_AFFINITY)) {
		mine = malloc(sizeof(*mine));
		if (mine && sched_getaffinity(0, sizeof(*mine), mine) == 0) {
			t->affinity = mine;
			t->affinity_size = sizeof(*mine);
			t->set |= FL__SET_AFFINITY;
		}
	}
	t->mode &= FL__MODE_INHERIT_FDS | FL__MODE_EXECFD_INHERIT;
	t->nfar = 0;
	t->far_moved = 0;
	/* the fds: stdio, what the spec reads, all inheritable ones if asked */
	for (int fd = 0; fd < 3 && r == 0; fd++)
		r = add_fd(&q->map, &q->fds, &q->nfds, &q->cap, fd);
	int own[] = { t->execfd, t->cwd_fd, t->ctty_fd, t->cgroup_fd, t->base_fd };
	for (size_t i = 0; i < 5 && r == 0; i++)
		r = add_fd(&q->map, &q->fds, &q->nfds, &q->cap, own[i]);
	for (size_t i = 0; i < t->nactions && r == 0; i++) {
		const struct fl_action *a = &t->actions[i];
		if (a->type == FL_ACTION_CLOSE_RANGE || a->type == FL_ACTION_CHDIR ||
		    (a->type == FL_ACTION_OPEN && a->fd == AT_FDCWD))
			continue;
		r = add_fd(&q->map, &q->fds, &q->nfds, &q->cap, a->fd);
	}
	if (r == 0 && (t->mode & FL__MODE_INHERIT_FDS))
		r = add_inherited(&q->map, &q->fds, &q->nfds, &q->cap);
	if (r == 0) {
		q->len = fl__wire_pack(NULL, t, q->map, q->nfds);
		if (!(q->buf = malloc(q->len)))
			r = -ENOMEM;
		else
			fl__wire_pack(q->buf, t, q->map, q->nfds);
	}
	free(mine);
	t->affinity = NULL;
	return r;
}

static int fail_at(struct fl_error *e, int err, int stage)
{
	e->err = err;
	e->stage = stage;
	e->index = -1;
	return -err;
}

/*
 * A spawn's outcome on reply socket rs (closed here): the server's answer
 * in *w (its pidfd in *pidfd), and the child's report in *rep.  An answer
 * sent at clone (w->started) is followed by the child's own report if it
 * failed, and by EOF once it exec'd (or died unseen): read to the end.
 */
static int recv_outcome(int rs, struct fl__wrep *w, int *pidfd, struct fl__report *rep)
{
	bool answered = false, reported = false;
	int r = 0;

	*pidfd = -1;
	for (;;) {
		union {
			struct fl__wrep w;
			struct fl__report rep;
		} m;
		int got[4];
		ssize_t n = recv_one(rs, &m, sizeof(m), 0, got);
		bool more = true;
		if (n == sizeof(m.w) && !answered) {
			*w = m.w;
			answered = true;
			if (m.w.has_pidfd) {
				*pidfd = got[0];
				got[0] = -1;
			}
		} else if (n == sizeof(m.rep) && !reported) {
			*rep = m.rep;
			reported = true;
		} else {
			if (n != 0)
				r = -EPROTO; /* not ours to read */
			more = false;
		}
		close_got(got);
		if (!more)
			break;
	}
	close(rs);
	if (r == 0 && !answered)
		r = -ECONNRESET; /* the server died with the request */
	if (r < 0) {
		if (*pidfd >= 0)
			close(*pidfd);
		*pidfd = -1;
		return r;
	}
	if (!reported) { /* EOF: exec'd; or an answer given after exec has it */
		*rep = w->rep;
		if (w->started)
			rep->reached = FL_STAGE_EXEC;
	}
	return 0;
}

/* A spawn's answer on reply socket rs, and its child's outcome. */
static int spawn_outcome(int rs, int *ret_pidfd, struct fl_error *e)
{
	struct fl__wrep w = { 0 };
	int pidfd, r;
	struct fl__report rep;
	if ((r = recv_outcome(rs, &w, &pidfd, &rep)) < 0 || (r = w.result) < 0)
		return fail_at(e, -r, FL_STAGE_CLONE);
	if (w.pid <= 0) /* the clone failed */
		return fail_at(e, w.rep.err ? w.rep.err : EAGAIN, FL_STAGE_CLONE);
	return fl__outcome_reap(&rep, w.pid, pidfd, ret_pidfd, pidfd, e);
}

/* A spawn through the server for node; locked: srv_lock is held. */
static int server_spawn(struct fl__spec *s, int node, int *ret_pidfd, struct fl_error *e,
			bool locked)
{
	struct fl__wreq h = { .type = FL__W_SPAWN };
	struct req q;
	int rs, r;

	if ((r = req_make(&q, s, 0)) < 0) {
		req_free(&q);
		return fail_at(e, -r, FL_STAGE_CONFIG);
	}
	h.flags = q.flags;
	struct fl_error se = { 0, FL_STAGE_NONE, -1 };
	const struct creds *cr = q.have_cr ? &q.cr : NULL;
	r = locked ? request_locked(node, 0, &h, q.buf, q.len, q.fds, q.nfds, &rs, NULL, &se, cr)
		   : request(node, 0, &h, q.buf, q.len, q.fds, q.nfds, &rs, NULL, &se, cr);
	req_free(&q);
	if (r < 0 && se.err) { /* starting the server failed, at that step */
		*e = se;
		return r;
	}
	if (r < 0)
		return fail_at(e, -r, FL_STAGE_CLONE);
	return spawn_outcome(rs, ret_pidfd, e);
}

/* A spawn through the server for node: the launcher of launcher=server. */
int fl__server_spawn(struct fl__spec *s, int node, int *ret_pidfd, struct fl_error *e)
{
	return server_spawn(s, node, ret_pidfd, e, false);
}

/* ---- warm servers ------------------------------------------------------ */

/*
 * A warm template's server: its program, started through the spawn server
 * with the agent preloaded (warm.c), in a slot of its own after the
 * per-node servers, found by the template's id.  Everything else is a
 * server's: credentials checked per spawn and watched, EOF at exit or
 * exec, death noticed by the watcher and the next spawn starting it
 * again, the parent's kept from a fork child.  NWARM slots; the least
 * recently used one is let go for a new one.
 */
static unsigned long warm_tick;

#ifndef FL_WARM_PATH
#define FL_WARM_PATH "/usr/local/libexec/forkless/libforkless-warm.so"
#endif

/* The agent: FORKLESS_WARM_AGENT, beside this library, or installed. */
static const char *agent_path(char *buf, size_t size)
{
	return helper_path("FORKLESS_WARM_AGENT", "libforkless-warm.so", R_OK, FL_WARM_PATH,
			   buf, size);
}

/* What glibc reads as the program loads: the dynamic linker's variables,
 * the tunables and their MALLOC_* aliases. */
static bool loader_var(const char *e)
{
	return !strncmp(e, "LD_", 3) || !strncmp(e, "GLIBC_TUNABLES=", 15) ||
	       !strncmp(e, "MALLOC_", 7);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What of environment envp glibc reads at load (loader_var), sorted, one
 * string (malloc'd); NULL: no memory. */
char *fl__warm_loader(char *const *envp)
{
	size_t n = 0, len = 1, k = 0;

	for (size_t i = 0; envp && envp[i]; i++)
		if (loader_var(envp[i])) {
			n++;
			len += strlen(envp[i]) + 1;
		}
	const char **v = malloc((n ? n : 1) * sizeof(*v));
	char *out = malloc(len);
	if (!v || !out) {
		free(v);
		free(out);
		return NULL;
	}
	for (size_t i = 0; envp && envp[i]; i++)
		if (loader_var(envp[i]))
			v[k++] = envp[i];
	qsort(v, n, sizeof(*v), cmp_str);
	char *p = out;
	for (size_t i = 0; i < n; i++)
		p = stpcpy(stpcpy(p, v[i]), "\n");
	*p = 0;
	free(v);
	return out;
}

static struct srv *warm_find(const struct fl__warm *w)
{
	for (int i = NSERVERS; i < NSLOTS; i++)
		if (servers[i].sock >= 0 && servers[i].warm_id == w->id)
			return &servers[i];
	return NULL;
}

/* The environment of w's start: the creator's, the agent first in
 * LD_PRELOAD, the socket named (malloc'd, one block); NULL: no memory. */
static char **warm_env(const struct fl__warm *w)
{
	char agent[PATH_MAX], pre[PATH_MAX + 32];
	const char *old = NULL;
	size_t n = 0;

	for (; w->envp[n]; n++)
		if (!strncmp(w->envp[n], "LD_PRELOAD=", 11))
			old = w->envp[n] + 11;
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s%s%s", agent_path(agent, sizeof(agent)),
		 old && *old ? ":" : "", old ? old : "");
	char **e = malloc((n + 3) * sizeof(*e));
	if (!e)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(w->envp[i], "LD_PRELOAD=", 11) && strncmp(w->envp[i], FL__WARM_ENV "=",
								       sizeof(FL__WARM_ENV)))
			e[k++] = w->envp[i];
	e[k++] = pre;
	e[k++] = FL__WARM_ENV "=3";
	e[k] = NULL;
	char **all = fl__strv_dup(e);
	free(e);
	return all;
}

/*
 * Start w's server in slot v (srv_lock held): its program through the
 * spawn server (the caller's child), stdio /dev/null, the socket at 3,
 * default signals, on "/".  Then wait for the agent's word.  0; or a
 * reason the template is cold (> 0, in w->reason) with the process gone.
 */
static int warm_start(struct srv *v, struct fl__warm *w)
{
	struct fl_open null = { .path = "/dev/null", .flags = O_RDWR };
	struct fl_action acts[] = {
		{ .type = FL_ACTION_DUP2, .fd = -1, .newfd = FL__WARM_SOCK },
		{ .type = FL_ACTION_OPEN, .fd = AT_FDCWD, .newfd = 0, .arg = (uintptr_t)&null },
		{ .type = FL_ACTION_DUP2, .fd = 0, .newfd = 1 },
		{ .type = FL_ACTION_DUP2, .fd = 0, .newfd = 2 },
	};
	char *argv[] = { w->argv0, NULL };
	struct fl_spawn_args a = { .argv = argv, .actions = acts, .nactions = 4 };
	struct fl__config c;
	struct fl_error e;
	struct fl__spec s;
	int sv[2], one = 1, pidfd = -1, *keep = NULL, r;
	char **envp = warm_env(w);

	if (!(a.envp = envp))
		return FL_WARM_START;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		free(envp);
		return FL_WARM_START;
	}
	/* before any request: the kernel adds the sender's credentials */
	setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	acts[0].fd = sv[1];
	fl__config_init(&c);
	c.execfd = w->execfd;
	r = fl__config_apply(&c, FL_CONFIG_SET_STRING, "sigdefault", "all", 0);
	if (r == 0)
		r = fl__config_apply(&c, FL_CONFIG_SET_STRING, "cwd", "/", 0);
	creds_get(&v->cr); /* before: a change during the start can only make them differ */
	if (r == 0 && (r = fl__prepare(&c, &a, &s, &keep, &e)) == 0)
		r = server_spawn(&s, -1, &pidfd, &e, true);
	free(keep);
	c.execfd = -1; /* w's */
	fl__config_free(&c);
	free(envp);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		return FL_WARM_START;
	}
	/* the agent's word: ready, or why not (and it exits) */
	struct fl__wrep hi = { 0 };
	struct pollfd p = { sv[0], POLLIN, 0 };
	ssize_t n = 0;
	if (poll(&p, 1, 10000) == 1)
		n = recv(sv[0], &hi, sizeof(hi), MSG_DONTWAIT);
	if (n != (ssize_t)sizeof(hi) || hi.result != 0 || hi.pid != r) {
		close(sv[0]);
		end_process(pidfd);
		return n == (ssize_t)sizeof(hi) && hi.result < 0 ? -hi.result : FL_WARM_AGENT;
	}
	v->sock = sv[0];
	v->pidfd = pidfd;
	v->pid = r;
	v->gen = gen_next++;
	v->warm_id = w->id;
	v->reserve = 0;
	v->epoch = 0;
	watch_start();
	if (watching)
		(void)!write(watch_wake[1], "", 1);
	return 0;
}

/* A slot for a new warm server (srv_lock held): a free one, else the
 * least recently used one's server goes. */
static struct srv *warm_slot(void)
{
	struct srv *old = NULL;

	for (int i = NSERVERS; i < NSLOTS; i++) {
		if (servers[i].sock < 0)
			return &servers[i];
		if (!old || servers[i].used < old->used)
			old = &servers[i];
	}
	srv_stop(old, ESRCH);
	return old;
}

/* w's server, started if need be (srv_lock held): NULL if w is cold. */
static struct srv *warm_get(struct fl__warm *w, const struct creds *known)
{
	struct srv *v;
	struct creds now;

	adopt();
	if ((v = warm_find(w))) {
		if (!known)
			creds_get(&now);
		if (creds_equal(known ? known : &now, &v->cr))
			return v;
		srv_stop(v, EPERM); /* never again for these credentials */
	}
	if (__atomic_load_n(&w->reason, __ATOMIC_RELAXED))
		return NULL;
	v = warm_slot();
	int why = warm_start(v, w);
	if (why) {
		if (why != FL_WARM_START) /* a start that failed may work next time */
			__atomic_store_n(&w->reason, why, __ATOMIC_RELAXED);
		return NULL;
	}
	return v;
}

int fl__warm_check(struct fl__warm *w)
{
	int cs, why;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	pthread_mutex_lock(&srv_lock);
	why = warm_get(w, NULL) ? 0 : __atomic_load_n(&w->reason, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&srv_lock);
	pthread_setcancelstate(cs, NULL);
	return why;
}

int fl__warm_spawn(struct fl__warm *w, struct fl__spec *s, int *ret_pidfd, struct fl_error *e)
{
	struct fl__wreq h = { .type = FL__W_SPAWN };
	struct req q;
	int rs = -1, cs, r;

	/* what the dynamic linker read at the start must be what it would
	 * read now */
	char *ld = fl__warm_loader(s->envp);
	bool same = ld && !strcmp(ld, w->loader);
	free(ld);
	if (!same)
		return FL__WARM_COLD;
	if ((r = req_make(&q, s, 0)) < 0) {
		req_free(&q);
		return fail_at(e, -r, FL_STAGE_CONFIG);
	}
	h.flags = q.flags;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	pthread_mutex_lock(&srv_lock);
	for (int tries = 0; tries < 2; tries++) {
		struct srv *v = warm_get(w, q.have_cr ? &q.cr : NULL);
		if (!v) {
			r = FL__WARM_COLD;
			break;
		}
		v->used = ++warm_tick;
		h.flags &= FL__W_LIMITS;
		r = send_request(v, &h, q.buf, q.len, q.fds, q.nfds, &rs);
		if (r != -EPIPE && r != -ECONNRESET && r != -ECONNREFUSED)
			break;
		srv_stop(v, ESRCH); /* it died: once more, with a new one */
	}
	pthread_mutex_unlock(&srv_lock);
	pthread_setcancelstate(cs, NULL);
	req_free(&q);
	if (r == FL__WARM_COLD)
		return r;
	if (r < 0)
		return fail_at(e, -r, FL_STAGE_CLONE);
	return spawn_outcome(rs, ret_pidfd, e);
}

/* w's server goes (its template is freed, or its file changed). */
void fl__warm_stop(struct fl__warm *w)
{
	int cs;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	pthread_mutex_lock(&srv_lock);
	if (srv_owner == getpid()) {
		struct srv *v = warm_find(w);
		if (v)
			srv_stop(v, ESRCH);
	}
	pthread_mutex_unlock(&srv_lock);
	pthread_setcancelstate(cs, NULL);
}

/* ---- embryos ----------------------------------------------------------- */

/*
 * A new embryo: its server's generation, pid, the handle (a pidfd) and the
 * library's own pidfd of it, a separate open file (so that closing the
 * handle is all it takes for an epoll set to forget it).  A spare of the
 * reserve is taken here, without a round trip: its own pidfd came with the
 * server's notice, the server is told (in order, before any request about
 * it), and the handle is opened here, exact because the spare is alive
 * after the open, so the pid was still its own.  Without one, the server
 * makes an embryo now.
 */
int fl__server_emb_open(int node, unsigned int *ret_gen, pid_t *ret_pid, int *ret_fd,
			int *ret_own)
{
	struct fl__wreq h = { .type = FL__W_EMB_OPEN };
	struct fl__wrep w;
	struct srv *v;
	struct spare sp = { 0, -1, 0 };
	int rs, fds[2], r, cs;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	pthread_mutex_lock(&srv_lock);
	/* no credential check here (the run has its own): a spare of a server
	 * whose credentials are no longer ours (changed by raw syscalls; a
	 * glibc set*id call already ended it) fails its run with EPERM */
	adopt();
	v = node >= -1 && node < NSERVERS - 1 ? &servers[node + 1] : NULL;
	if (v && v->sock >= 0) {
		if (v->nspares == 0) /* the notices of new ones */
			drain(v);
		if (v->nspares > 0 && v->ntaken < TAKEN_MAX && taken_add(v, v->spares[v->nspares - 1].pid)) {
			sp = v->spares[--v->nspares];
			*ret_gen = v->gen;
		}
	}
	pthread_mutex_unlock(&srv_lock);
	pthread_setcancelstate(cs, NULL);
	if (sp.pidfd >= 0) {
		int fd = (int)fl__sys2(__NR_pidfd_open, sp.pid, 0);
		if (fd == -ENOSYS) /* refused (valgrind): a copy of ours, the same open file */
			fd = (fd = fcntl(sp.pidfd, F_DUPFD_CLOEXEC, 3)) < 0 ? -errno : fd;
		siginfo_t si = { 0 };
		if (fd >= 0 && (waitid((idtype_t)P_PIDFD, (id_t)sp.pidfd, &si,
				       WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid != 0)) {
			close(fd); /* it died meanwhile: the pid may be another's */
			fd = -ESRCH;
		}
		if (fd < 0) {
			fl__kill_child(sp.pidfd, SIGKILL);
			reap_fd(sp.pidfd);
			return fd;
		}
		*ret_pid = sp.pid;
		*ret_fd = fd;
		*ret_own = sp.pidfd;
		return 0;
	}
	if ((r = request(node, 0, &h, NULL, 0, NULL, 0, &rs, ret_gen, NULL, NULL)) < 0)
		return r;
	if ((r = recv_reply2(rs, &w, fds, 0)) < 0)
		return r;
	if (w.result < 0)
		return w.result;
	if (fds[0] >= 0 && fds[1] >= 0) {
		*ret_pid = w.pid;
		*ret_fd = fds[0];
		*ret_own = fds[1];
		return 0;
	}
	if (fds[0] >= 0) { /* no second pidfd could be had */
		fl__kill_child(fds[0], SIGKILL);
		reap_fd(fds[0]);
	}
	return -EMFILE;
}

int fl__server_emb_op(int node, unsigned int gen, pid_t pid, int op, const void *p, size_t len,
		      long arg, long arg2, int fd)
{
	struct fl__wreq h = { .type = FL__W_EMB_OP, .pid = pid, .op = op, .arg = arg, .arg2 = arg2 };
	struct fl__wrep w;
	int rs, r;

	r = request(node, gen, &h, p, len, fd >= 0 ? &fd : NULL, fd >= 0, &rs, NULL, NULL, NULL);
	if (r == 0 && (r = recv_reply(rs, &w, NULL, 0)) == 0)
		r = w.result;
	return r;
}

/* Start embryo pid's run of spec s; the reply socket in *ret_reply. */
int fl__server_emb_run(int node, unsigned int gen, pid_t pid, const struct fl__spec *s,
		       uint32_t eager, int *ret_reply)
{
	struct fl__wreq h = { .type = FL__W_EMB_RUN, .pid = pid };
	struct req q;
	int r;

	if ((r = req_make(&q, s, eager)) == 0) {
		h.flags = q.flags;
		r = request(node, gen, &h, q.buf, q.len, q.fds, q.nfds, ret_reply, NULL, NULL,
			    q.have_cr ? &q.cr : NULL);
	}
	req_free(&q);
	return r;
}

/* The outcome of a run started with fl__server_emb_run: 1 with *rep, 0 not
 * yet (nonblock), or -errno of the request. */
int fl__server_emb_result(int rs, int nonblock, struct fl__report *rep)
{
	struct fl__wrep w;
	int r = recv_reply(rs, &w, NULL, nonblock);

	if (r == -EAGAIN)
		return 0;
	if (r < 0)
		return r;
	if (w.result < 0)
		return w.result;
	*rep = w.rep;
	return 1;
}

int fl__server_reserve(int node, unsigned int n)
{
	struct fl__wreq h = { .type = FL__W_RESERVE, .op = (int32_t)n };
	struct fl__wrep w = { 0 };
	int rs, r;

	unsigned int gen = 0;
	r = request(node, 0, &h, NULL, 0, NULL, 0, &rs, &gen, NULL, NULL);
	if (r == 0 && (r = recv_reply(rs, &w, NULL, 0)) == 0)
		r = w.result;
	int cs;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	pthread_mutex_lock(&srv_lock);
	struct srv *v = &servers[node + 1];
	if (srv_owner == getpid() && v->sock >= 0 && v->gen == gen && w.pid > v->epoch) {
		/* the server ended every spare of the reserve before: reap them */
		v->reserve = n;
		v->epoch = w.pid;
		drain(v);
		size_t k = 0;
		for (size_t i = 0; i < v->nspares; i++) {
			if (v->spares[i].epoch < v->epoch) {
				reap_fd(v->spares[i].pidfd);
				continue;
			}
			v->spares[k++] = v->spares[i];
		}
		v->nspares = k;
	}
	pthread_mutex_unlock(&srv_lock);
	pthread_setcancelstate(cs, NULL);
	return r;
}

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static bool default_server;

static void default_init(void)
{
	const char *v = secure_getenv("FORKLESS_LAUNCHER");
	default_server = v && !strcmp(v, "server");
}

bool fl__server_default(void)
{
	pthread_once(&default_once, default_init);
	return default_server;
}

static int embryo_reserve(unsigned int n, unsigned int flags)
{
	if (flags || n > FL_EMBRYO_RESERVE_MAX)
		return -EINVAL;
	if (n == 0) { /* no server started for it */
		int cs, r = 0;
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
		pthread_mutex_lock(&srv_lock);
		bool running = srv_owner == getpid() && servers[0].sock >= 0;
		pthread_mutex_unlock(&srv_lock);
		pthread_setcancelstate(cs, NULL);
		if (!running)
			return 0;
		r = fl__server_reserve(-1, 0);
		return r;
	}
	return fl__server_reserve(-1, n);
}

FL__EXPORT int fl_embryo_reserve(unsigned int n, unsigned int flags)
{
	FL__KEEP_ERRNO;
	int cs, r;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	r = embryo_reserve(n, flags);
	pthread_setcancelstate(cs, NULL);
	return r;
}

FL__EXPORT int fl_server_release(unsigned int flags)
{
	FL__KEEP_ERRNO;
	int cs;

	if (flags)
		return -EINVAL;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	fl__handle_sweep(); /* closed embryo handles: their answers' sockets go */
	pthread_mutex_lock(&srv_lock);
	if (srv_owner == getpid())
		for (int i = 0; i < NSLOTS; i++)
			srv_stop(&servers[i], ESRCH);
	/* it sees nothing to watch and goes, with its fds; not while it
	 * waits for a process we could not kill (after a privilege drop) */
	while (watching && ndying == 0)
		pthread_cond_wait(&watch_gone, &srv_lock);
	pthread_mutex_unlock(&srv_lock);
	pthread_setcancelstate(cs, NULL);
	return 0;
}

/* ---- the watcher ------------------------------------------------------- */

/*
 * The watcher sleeps in ppoll() on each server's pidfd and its wake pipe.
 * A server that died is reaped with its spares; a privilege change lets
 * every server of the old credentials go.  glibc changes the credentials
 * of a threaded process by making each
 * thread change its own from the handler of an internal signal
 * (SIGSETXID, 33), and the thread that asked waits for every thread.  The
 * watcher keeps that signal blocked (the raw syscall: glibc's sigprocmask
 * would not) except while it sleeps in ppoll, which takes it atomically:
 * so a drop wakes it, and the next set*id call the program makes (the next
 * step of its drop) waits until the servers and spares of the old
 * credentials are killed and reaped.  It never waits there for a process
 * it could not kill (those are reaped when they end), and calls nothing
 * that takes the lock glibc holds meanwhile (its stack list: thread
 * creation and exit) with the signal blocked.
 */
#define FL__SIGSETXID 33

static struct pollfd *watch_p; /* the watcher's poll set (srv_lock) */
struct watched {
	int i;            /* servers[i] */
	unsigned int gen; /* while it is this start of it */
};
static struct watched *watch_which;
static size_t watch_cap;

static struct creds watch_cr; /* the watcher's own credentials, as last seen */

/* The process's credentials changed (a glibc set*id call changes every
 * thread's, the watcher's too): every server of others goes.  A change of
 * one thread's alone (raw syscalls) is that thread's next request's to
 * see (srv_get).  srv_lock held. */
static void watch_creds(void)
{
	struct creds now;

	creds_get(&now);
	if (creds_equal(&now, &watch_cr))
		return;
	watch_cr = now;
	for (int i = 0; i < NSLOTS; i++)
		if (servers[i].sock >= 0 && !creds_equal(&now, &servers[i].cr))
			srv_stop(&servers[i], EPERM);
}

static void *watch(void *arg)
{
	uint64_t setxid = 1ULL << (FL__SIGSETXID - 1), sleeping = ~setxid;

	(void)arg;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	fl__sys4(__NR_rt_sigprocmask, SIG_BLOCK, &setxid, NULL, 8);
	creds_get(&watch_cr); /* srv_start, which waits for us, rechecks its own */
	__atomic_store_n(&watch_ready, 1, __ATOMIC_RELEASE);
	fl__sys6(__NR_futex, (long)&watch_ready, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
	for (;;) {
		struct pollfd *p;
		struct watched *which;
		int n = 0;
		size_t want;
		pthread_mutex_lock(&srv_lock);
		/* before each sleep too: a set*id signal that came while this
		 * thread was not in poll (busy) woke nothing */
		watch_creds();
		/* kept in globals: a fork child (which has no watcher) must not
		 * find memory only this thread's stack pointed to */
		want = 1 + NSLOTS + ndying;
		if (want > watch_cap) {
			struct pollfd *np = realloc(watch_p, want * sizeof(*np));
			if (np)
				watch_p = np;
			struct watched *nw = np ? realloc(watch_which, want * sizeof(*nw)) : NULL;
			if (nw) {
				watch_which = nw;
				watch_cap = want;
			}
		}
		if (want > watch_cap) { /* no memory: try again soon */
			pthread_mutex_unlock(&srv_lock);
			usleep(10000);
			continue;
		}
		p = watch_p;
		which = watch_which;
		p[n++] = (struct pollfd){ watch_wake[0], POLLIN, 0 };
		for (int i = 0; i < NSLOTS; i++)
			if (servers[i].sock >= 0 && srv_owner == getpid()) {
				which[n] = (struct watched){ i, servers[i].gen };
				p[n++] = (struct pollfd){ servers[i].pidfd, POLLIN, 0 };
			}
		int nsrv = n;
		for (size_t i = 0; i < ndying; i++)
			p[n++] = (struct pollfd){ dying[i], POLLIN, 0 };
		if (n == 1) { /* nothing to watch: the next server starts us again */
			close(watch_wake[0]);
			close(watch_wake[1]);
			watch_wake[0] = watch_wake[1] = -1;
			watching = 0;
			pthread_cond_broadcast(&watch_gone);
			pthread_mutex_unlock(&srv_lock);
			/* a thread's exit takes the lock a set*id call holds while
			 * it waits for every thread's handler: take ours first */
			fl__sys4(__NR_rt_sigprocmask, SIG_UNBLOCK, &setxid, NULL, 8);
			return NULL;
		}
		pthread_mutex_unlock(&srv_lock);
		/* the 1 s timeout only backs up a set*id signal that lands
		 * between the check above and this poll: the check below
		 * runs after every wakeup */
		struct fl__timespec ts = { 1, 0 };
		int r = (int)fl__sys5(__NR_ppoll, p, n, &ts, &sleeping, 8);
		if (r < 0) {
			errno = -r;
			r = -1;
		}
		pthread_mutex_lock(&srv_lock);
		watch_creds();
		/* by generation, not fd number: a server stopped and started
		 * again while we slept may have the old one's pidfd number */
		for (int k = 1; r > 0 && k < nsrv; k++) {
			struct srv *v = &servers[which[k].i];
			if (p[k].revents && v->sock >= 0 && v->gen == which[k].gen)
				srv_stop(v, ESRCH); /* it died */
		}
		/* (a number here may be another's by now too: reap_later
		 * reaps what has ended and keeps the rest) */
		for (int k = nsrv; r > 0 && k < n; k++) {
			if (!p[k].revents)
				continue;
			for (size_t i = 0; i < ndying; i++)
				if (dying[i] == p[k].fd) {
					int fd = dying[i];
					dying[i] = dying[--ndying];
					reap_later(fd);
					break;
				}
		}
		char c[64];
		while (read(watch_wake[0], c, sizeof(c)) > 0)
			;
		pthread_mutex_unlock(&srv_lock);
	}
	return NULL;
}

/* ---- fork, exit -------------------------------------------------------- */

static void atfork_prepare(void)
{
	pthread_mutex_lock(&srv_lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&srv_lock);
}

static void atfork_child(void)
{
	pthread_mutex_init(&srv_lock, NULL);
	pthread_cond_init(&watch_gone, NULL);
	if (watch_wake[0] >= 0) { /* the parent's watcher's pipe */
		close(watch_wake[0]);
		close(watch_wake[1]);
		watch_wake[0] = watch_wake[1] = -1;
	}
	adopt();   /* closes our copies: the parent's servers see its exit, not ours */
	for (size_t i = 0; i < ndying; i++)
		close(dying[i]);
	ndying = 0;
	watching = 0; /* no thread of the parent is ours */
}

__attribute__((constructor)) static void server_init(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}
