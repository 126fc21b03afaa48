#!/bin/sh
# SPDX-License-Identifier: MIT
# Every tracked source file names its license (an SPDX line in its first
# three lines); LICENSE is there.  Prints what lacks one; non-zero then.
cd "$(dirname "$0")/.." || exit 2
[ -f LICENSE ] || { echo "check-license: no LICENSE"; exit 1; }
files=$(git ls-files 2>/dev/null | grep -E '\.(c|h|S|map|sh|in|[1378])$|^Makefile$|^\.ci/run$|^scripts/' )
[ -n "$files" ] || files=$(find src include tests bench tools examples scripts man -type f 2>/dev/null)
bad=0
for f in $files; do
	[ -f "$f" ] || continue
	head -3 "$f" | grep -q 'SPDX-License-Identifier: ' || { echo "check-license: no SPDX line: $f"; bad=1; }
done
exit $bad
