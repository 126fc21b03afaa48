/* SPDX-License-Identifier: MIT */
/*
 * handle.c - the handle table (see handle.h for the rules it keeps).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "handle.h"
#include "internal.h"
#include "sys.h"

static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fl__handle **table;
static size_t table_len;

static int lock_table(void)
{
	int old;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	pthread_mutex_lock(&tab_lock);
	return old;
}

static void unlock_table(int old)
{
	pthread_mutex_unlock(&tab_lock);
	pthread_setcancelstate(old, NULL);
}

int fl__handle_lock(struct fl__handle *h)
{
	int old;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	pthread_mutex_lock(&h->lock);
	return old;
}

void fl__handle_unlock(struct fl__handle *h, int cancel_state)
{
	pthread_mutex_unlock(&h->lock);
	pthread_setcancelstate(cancel_state, NULL);
}

bool fl__fd_is_pidfd(int fd, pid_t *ret_pid)
{
	char path[48], buf[512], *p;
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0) {
		/* no /proc: pidfd_send_signal tells a pidfd, not its pid */
		long r = fl__sys4(__NR_pidfd_send_signal, fd, 0, NULL, 0);
		if (ret_pid)
			*ret_pid = -1;
		return r == 0 || r == -ESRCH || r == -EPERM;
	}
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	buf[n > 0 ? n : 0] = 0;
	p = strstr(buf, "\nPid:");
	if (p && ret_pid) {
		pid_t pid = (pid_t)atoi(p + 5);
		*ret_pid = pid > 0 ? pid : 0;
	}
	return p != NULL;
}

/*
 * Signal the process of pidfd, a child of ours the library made (never
 * reaped by us yet): pidfd_send_signal, or where that is refused (seccomp,
 * valgrind) kill() of the pid its fdinfo names, which is exact for a child
 * nobody reaped.  0 or -errno.
 */
int fl__kill_child(int pidfd, int sig)
{
	long r = fl__sys4(__NR_pidfd_send_signal, pidfd, sig, NULL, 0);
	pid_t pid = 0;

	if (r != -ENOSYS)
		return (int)r;
	if (!fl__fd_is_pidfd(pidfd, &pid) || pid <= 0)
		return pid == 0 ? -ESRCH : -EBADF;
	return kill(pid, sig) < 0 ? -errno : 0;
}

/*
 * Before Linux 6.9 every pidfd, eventfd, epoll and timerfd is the same
 * anonymous inode: (dev, ino) says nothing there.  Learned once from an
 * eventfd of our own.
 */
static bool on_shared_anon_inode(const struct stat *st)
{
	static dev_t dev;
	static ino_t ino;
	static int known; /* 0 not yet, 1 known, -1 no eventfd */

	if (__atomic_load_n(&known, __ATOMIC_ACQUIRE) == 0) {
		struct stat e;
		int fd = eventfd(0, EFD_CLOEXEC);
		if (fd >= 0 && fstat(fd, &e) == 0) {
			dev = e.st_dev;
			ino = e.st_ino;
			__atomic_store_n(&known, 1, __ATOMIC_RELEASE);
		} else {
			__atomic_store_n(&known, -1, __ATOMIC_RELEASE);
		}
		if (fd >= 0)
			close(fd);
	}
	return known == 1 && st->st_dev == dev && st->st_ino == ino;
}

/* Whether the open file at fd is h's. */
static bool same(int fd, const struct fl__handle *h, bool *closed)
{
	struct stat st;

	*closed = false;
	if (fstat(fd, &st) < 0) {
		*closed = true;
		return false;
	}
	if (st.st_dev != h->dev || st.st_ino != h->ino)
		return false;
	if (h->mark && fcntl(fd, F_GETOWN) != h->mark)
		return false;
	if (h->pid > 0 && on_shared_anon_inode(&st)) {
		pid_t pid = 0;
		if (!fl__fd_is_pidfd(fd, &pid) || (pid > 0 && pid != h->pid))
			return false;
	}
	return true;
}

/* The last reference: free outside the table lock. */
static void release(struct fl__handle *h)
{
	bool ours = h->owner == getpid();

	if (ours) {
		pthread_mutex_destroy(&h->lock);
		pthread_cond_destroy(&h->changed);
	}
	h->free(h, ours);
}

/*
 * Take fd's entry out (table lock held).  Returns h if its last reference
 * went with it: the caller releases it after unlocking.  Another process's
 * entry (we are its fork child) goes whatever its count: the users it
 * counts are threads of that process.
 */
static struct fl__handle *unlink_entry(int fd)
{
	struct fl__handle *h = table[fd];

	table[fd] = NULL;
	if (h->owner != getpid() || --h->refs == 0)
		return h;
	return NULL;
}

/* A list of entries to release once the lock is dropped. */
struct dead {
	struct fl__handle **v;
	size_t n;
};

static void dead_add(struct dead *d, struct fl__handle *h, struct fl__handle **one)
{
	struct fl__handle **v;

	if (!h)
		return;
	if (!*one) {
		*one = h;
		return;
	}
	v = realloc(d->v, (d->n + 1) * sizeof(*v));
	if (!v) {
		h->free(h, false); /* no memory to defer: at least nothing is closed twice */
		return;
	}
	d->v = v;
	d->v[d->n++] = h;
}

static void dead_release(struct dead *d, struct fl__handle *one)
{
	if (one)
		release(one);
	for (size_t i = 0; i < d->n; i++)
		release(d->v[i]);
	free(d->v);
}

/* Entries of ours whose fd was closed (table lock held). */
static void sweep(struct dead *d, struct fl__handle **one)
{
	bool closed;

	for (size_t i = 0; i < table_len; i++) {
		struct fl__handle *h = table[i];
		if (h && !same((int)i, h, &closed))
			dead_add(d, unlink_entry((int)i), one);
	}
}

void fl__handle_sweep(void)
{
	struct fl__handle *one = NULL;
	struct dead d = { NULL, 0 };
	int cs = lock_table();

	sweep(&d, &one);
	unlock_table(cs);
	dead_release(&d, one);
}

int fl__handle_add(int fd, struct fl__handle *h, int kind, pid_t pid,
		   void (*free_fn)(struct fl__handle *, bool))
{
	static unsigned int embryos;
	struct fl__handle *one = NULL;
	struct dead d = { NULL, 0 };
	struct stat st;
	int cs, r = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	h->kind = kind;
	h->owner = getpid();
	h->dev = st.st_dev;
	h->ino = st.st_ino;
	h->pid = pid;
	h->refs = 1;
	h->free = free_fn;
	/* the mark tells our open file from another open of the same inode */
	h->mark = fcntl(fd, F_SETOWN, h->owner) == 0 ? h->owner : 0;
	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_t ca; /* fl__handle_wait's deadlines are CLOCK_MONOTONIC */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->changed, &ca);
	pthread_condattr_destroy(&ca);

	cs = lock_table();
	if (kind != FL__H_EMBRYO || ++embryos % 8 == 0)
		sweep(&d, &one); /* an fstat per live handle: not on every embryo */
	if ((size_t)fd >= table_len) {
		size_t n = table_len ? table_len : 64;
		while (n <= (size_t)fd)
			n *= 2;
		struct fl__handle **t = realloc(table, n * sizeof(*t));
		if (!t) {
			r = -ENOMEM;
			goto out;
		}
		memset(t + table_len, 0, (n - table_len) * sizeof(*t));
		table = t;
		table_len = n;
	}
	if (table[fd])
		dead_add(&d, unlink_entry(fd), &one); /* that handle was closed */
	table[fd] = h;
out:
	unlock_table(cs);
	dead_release(&d, one);
	if (r < 0) {
		pthread_mutex_destroy(&h->lock);
		pthread_cond_destroy(&h->changed);
	}
	return r;
}

int fl__handle_get(int fd, struct fl__handle **ret)
{
	struct fl__handle *h, *dead = NULL;
	bool closed;
	int cs, r = 0;

	if (fd < 0)
		return -EBADF;
	cs = lock_table();
	h = (size_t)fd < table_len ? table[fd] : NULL;
	if (!h) {
		r = -ENOENT;
	} else if (!same(fd, h, &closed)) {
		dead = unlink_entry(fd); /* closed, perhaps the number reused */
		r = closed ? -EBADF : -ENOENT;
	} else if (h->owner != getpid()) {
		r = -EBADFD;
	} else {
		h->refs++;
		*ret = h;
	}
	unlock_table(cs);
	if (dead)
		release(dead);
	return r;
}

void fl__handle_put(struct fl__handle *h)
{
	int cs = lock_table();
	bool last = --h->refs == 0;

	unlock_table(cs);
	if (last)
		release(h);
}

int fl__handle_check(int fd, struct fl__handle *h)
{
	bool closed;
	int cs = lock_table();
	int r = (size_t)fd < table_len && table[fd] == h && same(fd, h, &closed) ? 0 : -EBADF;

	unlock_table(cs);
	return r;
}

int fl__handle_replace(int fd, struct fl__handle *h, int newfd, int flags, bool keep)
{
	struct fl__handle *dead = NULL;
	struct stat st;
	bool closed;
	int cs, r = 0;

	cs = lock_table();
	if ((size_t)fd >= table_len || table[fd] != h || !same(fd, h, &closed)) {
		r = -EBADF; /* closed while in use: the number is not ours to write */
	} else if (keep && fstat(newfd, &st) < 0) {
		r = -EBADF;
	} else if (dup3(newfd, fd, flags) < 0) {
		r = -errno;
	} else if (keep) {
		h->dev = st.st_dev;
		h->ino = st.st_ino;
		h->mark = fcntl(fd, F_SETOWN, h->owner) == 0 ? h->owner : 0;
	} else {
		dead = unlink_entry(fd);
	}
	unlock_table(cs);
	if (dead)
		release(dead);
	return r;
}

void fl__handle_remove(int fd, struct fl__handle *h)
{
	struct fl__handle *dead = NULL;
	int cs = lock_table();

	if ((size_t)fd < table_len && table[fd] == h)
		dead = unlink_entry(fd);
	unlock_table(cs);
	if (dead)
		release(dead);
}

static void wait_cancelled(void *arg)
{
	struct fl__handle *h = arg;

	pthread_mutex_unlock(&h->lock);
	fl__handle_put(h);
}

int fl__handle_wait(int fd, struct fl__handle *h, bool (*done)(struct fl__handle *h),
		    int cancel_state)
{
	volatile int r = 0; /* kept across the cleanup's unwinding */

	pthread_cleanup_push(wait_cancelled, h);
	while (!done(h)) {
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		t.tv_nsec += 50 * 1000 * 1000; /* a close(2) sends no wakeup: recheck */
		if (t.tv_nsec >= 1000000000L)
			t.tv_sec++, t.tv_nsec -= 1000000000L;
		pthread_setcancelstate(cancel_state, NULL);
		int w = pthread_cond_timedwait(&h->changed, &h->lock, &t);
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		if (w == ETIMEDOUT && !done(h) && fl__handle_check(fd, h) < 0) {
			r = -EBADF;
			break;
		}
	}
	pthread_cleanup_pop(0);
	return r;
}

/* ---- fork, exit ---------------------------------------------------------- */

static void atfork_prepare(void)
{
	pthread_mutex_lock(&tab_lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&tab_lock);
}

/* The child's table is a consistent copy of entries that are all the
 * parent's: they stay (their calls fail with -EBADFD) until swept or their
 * number is reused; their locks are never taken here. */
static void atfork_child(void)
{
	pthread_mutex_init(&tab_lock, NULL);
}

__attribute__((constructor)) static void handle_init(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* At exit, free what handles the program never ran (for leak checkers). */
void fl__handle_cleanup(void)
{
	struct fl__handle *one = NULL;
	struct dead d = { NULL, 0 };
	int cs;

	/* a thread may hold the lock (a call in progress in a thread that exit
	 * does not wait for): leave everything then rather than hang */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	if (pthread_mutex_trylock(&tab_lock) != 0) {
		pthread_setcancelstate(cs, NULL);
		return;
	}
	for (size_t i = 0; i < table_len; i++) {
		struct fl__handle *h = table[i];
		if (h && (h->owner != getpid() || h->refs == 1))
			dead_add(&d, unlink_entry((int)i), &one);
	}
	bool busy = false;
	for (size_t i = 0; i < table_len; i++)
		busy |= table[i] != NULL;
	if (!busy) {
		free(table);
		table = NULL;
		table_len = 0;
	}
	unlock_table(cs);
	dead_release(&d, one);
}
