/* SPDX-License-Identifier: MIT */
/*
 * handle.h - the handle table: library objects that live behind an fd number.
 *
 * Every front end whose handle is an fd (builder, embryo, template; the
 * server's later) embeds a struct fl__handle and registers it here.  This
 * file owns what all of them share:
 *
 *  identity  a number may be closed and reused at any time; an entry counts
 *            only while fstat(fd) gives the same (dev, ino), the open file
 *            carries our F_SETOWN mark, and (pidfds, where all anonymous
 *            files share one inode, before Linux 6.9) names the same pid;
 *  owner     a fork child inherits the fds and a copy of the table; the
 *            creator's entries fail there with -EBADFD and are never locked;
 *  lifetime  a reference count: the table's, plus one per call using it;
 *            the last put frees the object, outside every lock;
 *  waiters   h->lock and h->changed guard the front end's state; a waiter
 *            rechecks the fd's identity while it waits, so closing the
 *            handle wakes it with -EBADF;
 *  fds       the library writes a handle's number only after checking,
 *            under the table lock, that it still is that handle.
 *
 * Locks: the table lock is a leaf (nothing blocking, no front-end code runs
 * under it); h->lock may be held across slow work of that one handle (an
 * NSS lookup) and may take the table lock, never the reverse.  Both are
 * taken with cancellation disabled.  fork(): the table lock is taken around
 * fork (pthread_atfork), so the child's copy is consistent.
 */
#ifndef FL_HANDLE_H
#define FL_HANDLE_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

enum fl__handle_kind {
	FL__H_BUILDER = 1,
	FL__H_EMBRYO = 2,
	FL__H_TEMPLATE = 4,
};

struct fl__handle {
	int kind;
	pid_t owner;  /* the process that registered it */
	dev_t dev;    /* identity of the open file behind the number */
	ino_t ino;
	int mark;     /* the F_SETOWN value we set (0: none, an O_PATH fd) */
	pid_t pid;    /* pidfd handles: the process it refers to */
	int refs;     /* the table's reference plus one per user (table lock) */
	pthread_mutex_t lock;   /* the front end's state */
	pthread_cond_t changed; /* broadcast under lock when that state changes */
	/* The last reference is gone: free h.  ours: registered by this process
	 * (else only memory may be freed: fds and processes are the creator's). */
	void (*free)(struct fl__handle *h, bool ours);
};

/* Enter h for fd: identity from fd, owner this process, one reference (the
 * table's).  pid: the process a pidfd handle refers to, else 0.  Handles
 * closed since are swept first (every 8th time for embryos).  0 or -errno. */
int fl__handle_add(int fd, struct fl__handle *h, int kind, pid_t pid,
		   void (*free_fn)(struct fl__handle *, bool));

/* The handle behind fd, with a reference: 0, -ENOENT (not one of ours:
 * no system call is made when the slot is empty), -EBADF (not open),
 * -EBADFD (made by another process: we are a fork child). */
int fl__handle_get(int fd, struct fl__handle **ret);
void fl__handle_put(struct fl__handle *h);

/* 0 while fd still is h, else -EBADF (closed, perhaps reused). */
int fl__handle_check(int fd, struct fl__handle *h);

/* Put newfd's file at number fd (dup3 with flags) only if fd still is h;
 * then h stays the entry with newfd's identity (keep) or leaves the table.
 * -EBADF if fd is no longer h: nothing is written. */
int fl__handle_replace(int fd, struct fl__handle *h, int newfd, int flags, bool keep);

/* Take h out of the table if fd's entry is h. */
void fl__handle_remove(int fd, struct fl__handle *h);

/* h->lock with cancellation disabled; returns what to pass to unlock. */
int fl__handle_lock(struct fl__handle *h);
void fl__handle_unlock(struct fl__handle *h, int cancel_state);

/*
 * Wait (h->lock held, taken with fl__handle_lock, which returned
 * cancel_state) until done(h), or until fd stops being h: -EBADF.  A
 * cancellation point if cancel_state allows: cancelled, it releases h->lock
 * and the caller's reference.  0 or -EBADF.
 */
int fl__handle_wait(int fd, struct fl__handle *h, bool (*done)(struct fl__handle *h),
		    int cancel_state);

/* Whether fd is a pidfd (fdinfo "Pid:"); the pid in *ret_pid (0: reaped). */
bool fl__fd_is_pidfd(int fd, pid_t *ret_pid);

/* At exit: release the entries no call uses (for leak checkers). */
void fl__handle_cleanup(void);

/* Signal pidfd's process, a child of ours not yet reaped (kill() of its
 * pid where pidfd_send_signal is refused).  0 or -errno. */
int fl__kill_child(int pidfd, int sig);

/* Let go of every entry whose fd the program closed. */
void fl__handle_sweep(void);

#endif /* FL_HANDLE_H */
