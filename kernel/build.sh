#!/bin/sh
# SPDX-License-Identifier: MIT
# make kernel: Debian 12's linux-source-6.1, the patches of kernel/patches
# applied, a minimal x86-64 build (kernel/config.fragment on tinyconfig).
# Output: $KDIR/arch/x86/boot/bzImage (KDIR: build-kernel/linux by default).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
KDIR=${KDIR:-$here/../build-kernel/linux}
SRC=${KERNEL_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
if [ ! -f "$SRC" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	apt-get install -y -q linux-source-6.1 bc bison flex libelf-dev libssl-dev \
		qemu-system-x86 busybox-static cpio >/dev/null
fi
[ -f "$SRC" ] || { echo "kernel: no $SRC (apt-get install linux-source-6.1)" >&2; exit 1; }
stamp="$KDIR/.forkless-patches"
want=$(cat "$here"/patches/*.patch "$here/config.fragment" | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
	rm -rf "$KDIR"
	mkdir -p "$KDIR"
	echo "kernel: unpacking $SRC"
	tar -xf "$SRC" -C "$KDIR" --strip-components=1
	for p in "$here"/patches/*.patch; do
		echo "kernel: applying $(basename "$p")"
		patch -d "$KDIR" -p1 -s < "$p"
	done
	make -C "$KDIR" -s tinyconfig
	"$KDIR/scripts/kconfig/merge_config.sh" -m -O "$KDIR" "$KDIR/.config" \
		"$here/config.fragment" >/dev/null
	make -C "$KDIR" -s olddefconfig
	echo "$want" > "$stamp"
fi
echo "kernel: building ($(nproc) jobs)"
make -C "$KDIR" -s -j"$(nproc)" bzImage
ls -l "$KDIR/arch/x86/boot/bzImage"
