#!/bin/sh
# SPDX-License-Identifier: MIT
# make kernel-check: boot the patched kernel (kernel/build.sh) in QEMU (TCG:
# no KVM needed) with an initramfs of a static busybox and the tests, run
# them in the guest, and print their "N passed, N failed" line.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
B=${B:-$here/../build}
KDIR=${KDIR:-$here/../build-kernel/linux}
OUT=${KOUT:-$here/../build-kernel}
image="$KDIR/arch/x86/boot/bzImage"
[ -f "$image" ] || { echo "kernel-check: no $image (make kernel)" >&2; exit 1; }
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && file -L "$busybox" | grep -q "statically linked" ||
	{ echo "kernel-check: needs a static busybox (apt-get install busybox-static)" >&2; exit 1; }

root="$OUT/initramfs"
rm -rf "$root"
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/tests"
cp "$busybox" "$root/bin/busybox"
for cmd in $("$busybox" --list); do
	[ "$cmd" = busybox ] || ln -sf busybox "$root/bin/$cmd"
done
mkdir -p "$root/usr" "$root/etc" && ln -s ../bin "$root/usr/bin" && ln -s bin "$root/sbin"
printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
${CC:-cc} -static -O2 -Wall -o "$root/tests/native" "$here/tests/native.c"

# the library's own suite, at the same paths as here, with what it links
# (glibc from this machine): the tests that a busybox system can run
suite=""
bench=${KCHECK_BENCH:+1} # KCHECK_BENCH=1: forkless bench on both paths too
if [ -x "$B/tests/forkless-test" ]; then
	for f in tests/forkless-test libforkless.so.0 forkless-server libforkless-warm.so \
		 true-static forkless; do
		[ -e "$B/$f" ] || continue
		mkdir -p "$root/$B/$(dirname "$f")"
		cp -L "$B/$f" "$root/$B/$f"
	done
	for lib in $(ldd "$B/tests/forkless-test" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }'); do
		mkdir -p "$root/$(dirname "$lib")"
		cp -L "$lib" "$root/$lib"
	done
	mkdir -p "$root/lib64" && cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
	suite="$B/tests/forkless-test $("$B/tests/forkless-test" -l | grep -E "${KCHECK_TESTS:-^(native_|spawn_|fl_spawn|builder_|errors_|actions_|fds_|attr|rlimit|umask|cwd|sig)}" | tr '\n' ' ')"
fi
cat > "$root/init" <<INIT
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
mkdir -p /dev/pts /sys/fs/cgroup
mount -t devpts devpts /dev/pts
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "== guest: \$(uname -r)"
/tests/native
if [ -n "$suite" ]; then
	echo "== suite, native path (FORKLESS_NATIVE=1)"
	FORKLESS_NATIVE=1 $suite 2>&1 | grep -E '^(not ok|#|[0-9]+ passed)'
	echo "== suite, user-space path (FORKLESS_NATIVE=0)"
	FORKLESS_NATIVE=0 $suite 2>&1 | grep -E '^(not ok|#|[0-9]+ passed)'
fi
if [ -n "$bench" ]; then
	for n in 1 0; do
		echo "== bench, FORKLESS_NATIVE=\$n"
		FORKLESS_NATIVE=\$n $B/forkless bench --quick --targets true_static \\
			--sweep baseline --methods fl_spawn,posix_spawn 2>&1 |
			sed -n '/median/,/^\$/p'
	done
fi
echo "== guest done"
reboot -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$OUT/initramfs.cpio.gz"

log="$OUT/kernel-check.log"
echo "kernel-check: booting $(basename "$image") in QEMU (TCG)"
timeout "${KCHECK_TIMEOUT:-600}" qemu-system-x86_64 -machine q35,accel=tcg -cpu max -m 1024 \
	-smp 2 -nographic -no-reboot -kernel "$image" -initrd "$OUT/initramfs.cpio.gz" \
	-append "console=ttyS0 panic=-1 quiet" > "$log" 2>&1 || true
tr -d '\r' < "$log" | sed -n 's/.*\(== guest:\)/\1/; /== guest:/,/^== guest done/p'
# one line for all of it: the sum of the guest's summaries
tr -d '\r' < "$log" | grep -E '^[0-9]+ passed, [0-9]+ failed' > "$OUT/summaries" || true
runs=$(wc -l < "$OUT/summaries")
want=1
[ -n "$suite" ] && want=3
if [ "$runs" -lt "$want" ]; then
	echo "kernel-check: the guest gave $runs of $want summaries; its console is in $log"
	tail -20 "$log"
fi
awk -v runs="$runs" -v want="$want" '{ p += $1; f += $3; s += $5 }
	END { if (runs < want) f++; printf "%d passed, %d failed, %d skipped\n", p, f, s;
	      exit f ? 1 : 0 }' "$OUT/summaries"
