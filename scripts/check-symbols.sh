#!/bin/sh
# SPDX-License-Identifier: MIT
# check-symbols.sh - the exports of libforkless.so are its API and nothing else.
#
#   scripts/check-symbols.sh [build/libforkless.so]
#
# Every symbol the library defines in its dynamic symbol table must carry a
# version of src/libforkless.map (fl_x@@FORKLESS_0.1, not a bare fl_x) and be
# named fl_*: a helper that lost its `static` or `hidden`, or a libc name
# compiled in, would otherwise become ABI by accident.  (The preload shim
# exports libc's names on purpose; it is not checked here.)
# Prints one line per offending symbol; exit 0 when there is none, 1 when
# there is, 2 when the file or readelf is missing.
set -u
so=${1:-build/libforkless.so}
if ! command -v readelf >/dev/null 2>&1; then
	echo "check-symbols: readelf (binutils) not found" >&2
	exit 2
fi
if [ ! -e "$so" ]; then
	echo "check-symbols: $so: no such file" >&2
	exit 2
fi
# readelf -W --dyn-syms: Num: Value Size Type Bind Vis Ndx Name.  Defined
# symbols have a section index; the version nodes themselves are ABS.
readelf -W --dyn-syms "$so" | awk -v so="$so" '
	$1 ~ /^[0-9]+:$/ && NF >= 8 && $7 != "UND" && $5 != "LOCAL" {
		name = $8
		if ($7 == "ABS" && name ~ /^FORKLESS_[0-9.]+$/)
			next # a version definition
		n++
		if (name !~ /@@?FORKLESS_[0-9.]+$/) {
			print so ": unversioned export: " name
			bad++
		}
		sub(/@.*/, "", name)
		if (name !~ /^fl_[a-z]/) {
			print so ": export outside the fl_ namespace: " name
			bad++
		}
	}
	END {
		if (!n) {
			print so ": no exported symbols found"
			exit 1
		}
		if (bad)
			exit 1
		print so ": " n " exports, all fl_* and versioned"
	}'
