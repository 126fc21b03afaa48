#!/bin/sh
# SPDX-License-Identifier: MIT
# deps.sh - install what a make target needs on Debian, when it is missing.
#
#   scripts/deps.sh check    strace (the no-fork proof), binutils (nm), ninja and
#                            python3 (real clients of the preload shim)
#   scripts/deps.sh bench    gnuplot (plots; the benchmark runs without it)
#   scripts/deps.sh valgrind valgrind
#
# Installs only as root with apt-get available; otherwise says what is
# missing and goes on (the tests that need a missing tool skip and say so).
set -u
need=""
case "${1:-}" in
check)    for c in strace nm ninja python3; do command -v $c >/dev/null 2>&1 || need="$need $c"; done ;;
bench)    command -v gnuplot >/dev/null 2>&1 || need="gnuplot" ;;
valgrind) command -v valgrind >/dev/null 2>&1 || need="valgrind" ;;
*) echo "usage: $0 check|bench|valgrind" >&2; exit 2 ;;
esac
[ -z "$need" ] && exit 0
pkgs=$(echo "$need" | sed 's/\bnm\b/binutils/; s/\bgnuplot\b/gnuplot-nox/; s/\bninja\b/ninja-build/')
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps: installing$pkgs"
	{ apt-get install -y -q $pkgs || { apt-get update -q && apt-get install -y -q $pkgs; }; } \
		>/dev/null 2>&1 || echo "deps: could not install$pkgs; going on without" >&2
else
	echo "deps: missing$need (install:$pkgs); going on without" >&2
fi
exit 0
