/* SPDX-License-Identifier: MIT */
/*
 * bench.h - `forkless bench`: what each way of creating a process costs,
 * measured side by side in one run.
 *
 * bench.c runs the sweeps and measures, methods.c holds the ways of spawning,
 * report.c prints the table, the JSON and the plots.
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

/* A way of spawning: returns the child's pid (reaped by the caller) or -errno. */
struct bench_method {
	const char *name;
	pid_t (*spawn)(const struct bench_target *t);
	const char *about;
	void (*enter)(void); /* untimed, before each sample or in-flight round: set up the state the method needs */
};

extern const struct bench_method bench_methods[];
extern const size_t bench_nmethods;
extern int bench_devnull; /* the child's stdout */
/* The bench reaped pid: a method that kept its handle closes it now. */
void bench_reaped(pid_t pid);

/* One measured cell: a method on a target under a condition. */
struct bench_result {
	const char *method;
	const char *target;
	const char *sweep; /* "baseline", "rss", "threads", "fds", "inflight" */
	double value;      /* the condition: bytes, threads, fds, in flight */
	const char *unit;
	int samples;
	double median_us, p10_us, p90_us; /* spawn to reaped */
	double blocked_us;                /* median time the caller was inside the spawn call */
	double spawns_per_s;
	double ratio;   /* median_us / posix_spawn's median_us (inflight: spawns/s ratio) */
	double blocked_ratio; /* blocked_us / posix_spawn's */
	double spawns_ratio;  /* spawns_per_s / posix_spawn's */
	const char *skip; /* condition skipped: why */
	const char *note; /* measured, but not quite as asked: how */
};

struct bench_report {
	struct bench_result *r;
	size_t n, cap;
};

void bench_add(struct bench_report *rep, const struct bench_result *r);
void report_table_header(const char *target, const char *sweep, const char *cond);
void report_table_row(const struct bench_result *r);
void report_summary(const struct bench_report *rep);
int report_json(const struct bench_report *rep, const char *path, bool quick);
int report_plots(const struct bench_report *rep, const char *dir);

int fl_bench_main(int argc, char **argv);

#endif /* FL_BENCH_H */
