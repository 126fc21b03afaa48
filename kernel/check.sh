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
mkdir -p "$root/usr" && ln -s ../bin "$root/usr/bin" && ln -s bin "$root/sbin"
${CC:-cc} -static -O2 -Wall -o "$root/tests/native" "$here/tests/native.c"
cat > "$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
echo "== guest: $(uname -r)"
/tests/native
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
summary=$(tr -d '\r' < "$log" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
if [ -z "$summary" ]; then
	echo "kernel-check: the guest gave no summary; its console is in $log"
	tail -20 "$log"
	echo "0 passed, 1 failed"
	exit 1
fi
case "$summary" in *" 0 failed"*) exit 0 ;; *) exit 1 ;; esac
