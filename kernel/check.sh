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

# The library's whole suite runs in the guest on this machine's root, shared
# read-only over 9p (virtio) under a tmpfs overlay: the programs the tests
# run (python3, git, make, cc...) and the build are at the paths they have
# here, and nothing the guest writes reaches this machine.
suite=""
bench=${KCHECK_BENCH:+1} # KCHECK_BENCH=1: forkless bench in the guest too
if [ -x "$B/tests/forkless-test" ] && [ "${KCHECK_SUITE:-1}" != 0 ]; then
	B=$(cd "$B" && pwd)
	suite="$B/tests/forkless-test"
	[ -n "${KCHECK_TESTS:-}" ] &&
		suite="$suite $("$B/tests/forkless-test" -l | grep -E "$KCHECK_TESTS" | tr '\n' ' ')"
fi
cat > "$root/init" <<INIT
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
# which guest: fl.native=1 runs tests/native.c, the suite on the native
# path and the bench; fl.native=0 the suite on the user-space path.  The
# native path is the default here (FORKLESS_NATIVE unset: the kernel for
# every spec it can do, user space where a test refuses the kernel's
# calls); FORKLESS_NATIVE=0 is the user-space path.
n=\$(sed -n 's/.*fl\.native=\([01]\).*/\1/p' /proc/cmdline)
native=FORKLESS_NATIVE=0 path=user-space
[ "\$n" = 1 ] && native= path=native
echo "== guest: \$(uname -r), \$(nproc) CPU, the \$path path"
[ "\$n" = 1 ] && /tests/native
if [ -n "$suite$bench" ]; then
	mkdir -p /host /rw /new
	mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=524288,cache=loose host /host
	mount -t tmpfs -o size=1500m rw /rw
	mkdir -p /rw/upper /rw/work
	mount -t overlay overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work /new
	mount -t tmpfs none /new/proc # under proc: this machine's /proc, as 9p shows it
	mount -t proc proc /new/proc
	mount -t sysfs sys /new/sys
	mount -t devtmpfs dev /new/dev
	mkdir -p /new/dev/pts /new/dev/shm
	mount -t devpts devpts /new/dev/pts
	mount -t tmpfs shm /new/dev/shm
	ln -sf /proc/self/fd /new/dev/fd
	mount -t tmpfs tmp /new/tmp
	mount -t cgroup2 cgroup2 /new/sys/fs/cgroup
	ulimit -n 65536 # as a login here has it: tests open thousands of fds
	run() {
		chroot /new /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \\
			HOME=/root LANG=C.UTF-8 \$native FORKLESS_TEST_TIMEOUT_SCALE=10 \\
			/bin/sh -c "cd $here/.. && \$1"
	}
fi
if [ -n "$suite" ]; then
	echo "== suite, the \$path path (\${native:-FORKLESS_NATIVE unset})"
	run "$suite" 2>&1
fi
if [ -n "$bench" ] && [ "\$n" = 1 ]; then
	echo "== bench (native and user-space methods side by side)"
	run "$B/forkless bench --quick ${KCHECK_BENCH_ARGS:-}" 2>&1
fi
echo "== guest done"
reboot -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$OUT/initramfs.cpio.gz"

# Two guests at once, one per path (each a single emulated CPU: tinyconfig
# has no ACPI to find a second; the suite takes minutes per path under
# TCG): fl.native=1 and fl.native=0.
boot() {
	timeout "${KCHECK_TIMEOUT:-3600}" qemu-system-x86_64 -machine q35,accel=tcg -cpu max \
		-m 2560 -smp 1 -nographic -no-reboot -kernel "$image" \
		-initrd "$OUT/initramfs.cpio.gz" \
		-virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
		-append "console=ttyS0 panic=-1 quiet fl.native=$1" > "$OUT/kernel-check-$1.log" 2>&1
}
echo "kernel-check: booting $(basename "$image") in QEMU (TCG)"
guests=1
boot 1 &
if [ -n "$suite" ]; then
	guests=2
	boot 0 &
fi
wait || true
: > "$OUT/summaries"
for g in 1 0; do
	log="$OUT/kernel-check-$g.log"
	[ "$g" = 0 ] && [ "$guests" = 1 ] && continue
	tr -d '\r' < "$log" | sed -n 's/.*\(== guest:\)/\1/; /== guest:/,/^== guest done/p' |
		grep -vE '^(ok |TAP version|1\.\.)'
	# one line for all of it: the sum of the guests' summaries
	tr -d '\r' < "$log" | grep -E '^[0-9]+ passed, [0-9]+ failed' >> "$OUT/summaries" || true
done
runs=$(wc -l < "$OUT/summaries")
want=1
[ -n "$suite" ] && want=3
if [ "$runs" -lt "$want" ]; then
	echo "kernel-check: the guests gave $runs of $want summaries; their consoles are in" \
		"$OUT/kernel-check-[01].log"
	tail -n 20 "$OUT"/kernel-check-[01].log
fi
awk -v runs="$runs" -v want="$want" '{ p += $1; f += $3; s += $5 }
	END { if (runs < want) f++; printf "%d passed, %d failed, %d skipped\n", p, f, s;
	      exit f ? 1 : 0 }' "$OUT/summaries"
