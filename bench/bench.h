/* SPDX-License-Identifier: MIT */
/*
 * bench.h - `forkless bench`: what each way of creating a process costs,
 * measured side by side in one run.
 *
 * bench.c runs the sweeps and the cells, methods.c holds the ways of
 * spawning, measure.c the timing of one sample or one in-flight round and
 * the parent's conditions (shared with driver.c, the program that runs a
 * method in a process of its own), report.c prints the table, the JSON and
 * the plots.
 */
#ifndef FL_BENCH_H
#define FL_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* What to run: an absolute path, the bare name posix_spawnp-style methods
 * search in $PATH, and argv.  stdout goes to /dev/null. */
struct bench_target {
	const char *name;
	const char *path;
	const char *file;
	char **argv;
	const char *skip; /* why it cannot run here, or NULL */
};

typedef pid_t bench_spawn_fn(const struct bench_target *t);

struct bench_round;

/* A way of spawning: returns the child's pid (reaped by the caller) or -errno. */
struct bench_method {
	const char *name;
	bench_spawn_fn *spawn; /* NULL: run by the driver program below */
	const char *about;
	/* A method whose state is process-wide (LD_PRELOAD, a reserve of
	 * embryos) runs in a process of its own: this driver program, next to
	 * forkless, which mirrors the cell's condition (driver.c). */
	const char *driver;
	/* Untimed, at the start and end of each cell: returns the microseconds
	 * of setup a real caller pays too (a template's creation), or -errno. */
	double (*cell_begin)(const struct bench_target *t);
	void (*cell_end)(void);
	/* A method that collects its children itself (an event loop on the
	 * handles, threads): its own sample and in-flight round, timed as
	 * bench_sample() and bench_round() time the others; a round returns
	 * 0, or -errno when not one of its spawns could start. */
	int (*sample)(const struct bench_target *t, double *lat, double *blk);
	int (*round)(const struct bench_target *t, int k, int total, struct bench_round *ret);
	bool inflight_only; /* a reference for the in-flight cells only */
};

extern const struct bench_method bench_methods[];
/* server_async: handles readable (the child exited) whose outcome was still
 * -EINPROGRESS; fl_pidfd_spawn_result(3) says there are none. */
extern int bench_early_exits;
extern const size_t bench_nmethods;
extern int bench_devnull; /* the child's stdout */

/* ---- measure.c: shared with the driver ---------------------------------- */

double bench_now_us(void);
/* A handle kept until the bench reaps pid (closed then), as an event loop
 * keeps the pidfd it waits on. */
void bench_hold(pid_t pid, int fd);
void bench_reaped(pid_t pid);

/* One spawn timed from the call to the reaped exit (*lat) and inside the
 * call (*blk): 0, -errno of the spawn, or -ECHILD if the child failed. */
int bench_sample(bench_spawn_fn *spawn, const struct bench_target *t, double *lat, double *blk);

#define BENCH_ROUND_MAX 64
/* k children alive at once, total spawns: spawns/s, each spawn's blocked
 * time, and the spawns that failed (counted, not retried). */
struct bench_round {
	double rate;
	int n, failed;
	double blk[BENCH_ROUND_MAX];
};
void bench_round(bench_spawn_fn *spawn, const struct bench_target *t, int k, int total,
		 struct bench_round *ret);

/* The parent's conditions, set to an absolute level and undone fully by
 * level 0 (nothing left that would slow the next sweep). */
int bench_cond_rss(size_t bytes);             /* 0 or -errno */
int bench_cond_threads(int n);                /* threads running */
int bench_cond_fds(int n, const char **note); /* fds open (-1: cannot raise the limit) */
/* Busy threads run only while their process measures (on), so that a
 * driver's and the bench's never run at once. */
void bench_cond_gate(bool on);

/* ---- driver protocol (a socket, the driver's fd 3) ---------------------- */

enum { DRV_TARGET = 1, DRV_SAMPLE, DRV_ROUND, DRV_RSS, DRV_THREADS, DRV_FDS };

struct drv_req {
	int op, k, total;
	double value;
	unsigned int len; /* DRV_TARGET: path\0file\0argv...\0 follows */
};

struct drv_rep {
	int err;         /* 0 or -errno */
	int value;       /* DRV_THREADS, DRV_FDS: the level reached */
	double lat, blk; /* DRV_SAMPLE */
	double setup_us; /* untimed setup the process paid once */
	char note[96];   /* DRV_FDS */
	struct bench_round round;
};

/* methods.c: talk to a method's driver (started on first use). */
int bench_driver_sample(const struct bench_method *m, const struct bench_target *t,
			double *lat, double *blk);
int bench_driver_round(const struct bench_method *m, const struct bench_target *t, int k,
		       int total, struct bench_round *ret);
double bench_driver_setup_us(const struct bench_method *m);
/* Apply the bench's condition to every driver started (and to those
 * started later); stop them all. */
void bench_drivers_cond(int op, double value);
void bench_drivers_stop(void);

/* ---- results ------------------------------------------------------------ */

/* One measured cell: a method on a target under a condition. */
struct bench_result {
	const char *method;
	const char *target;
	const char *sweep; /* "baseline", "rss", "threads", "fds", "inflight" */
	double value;      /* the condition: bytes, threads, fds, in flight */
	const char *unit;
	int samples;
	int failed;                       /* samples that failed: not in the figures */
	double median_us, p10_us, p90_us; /* spawn to reaped */
	double blocked_us;                /* median time the caller was inside the spawn call */
	double spawns_per_s;
	double setup_us; /* untimed setup a real caller pays too (once) */
	double ratio;   /* median_us / posix_spawn's median_us (inflight: spawns/s ratio) */
	double blocked_ratio; /* blocked_us / posix_spawn's */
	double spawns_ratio;  /* spawns_per_s / posix_spawn's, same cell */
	const char *skip; /* condition skipped: why */
	const char *note; /* measured, but not quite as asked: how */
};

/* A figure checked against its goal (the summary's targets section). */
struct bench_goal {
	char what[40], target[32], cell[32];
	double value, limit;
	bool at_most, met;
};

struct bench_report {
	struct bench_result *r;
	size_t n, cap;
};

void bench_add(struct bench_report *rep, const struct bench_result *r);
void report_table_header(const char *target, const char *sweep, const char *cond);
void report_table_row(const struct bench_result *r);
void report_summary(const struct bench_report *rep);
int report_json(const struct bench_report *rep, int fd, bool quick);
int report_plots(const struct bench_report *rep, const char *dir);

int fl_bench_main(int argc, char **argv);

#endif /* FL_BENCH_H */
