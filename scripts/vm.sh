#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot an installed Debian kernel under qemu (TCG) and run one command in
# the guest, using the host's own userland as the guest's root filesystem.
#
# The host's / is exported read-only over virtio-9p; the guest stacks a
# tmpfs overlay on top of it, so it can write anywhere, but nothing reaches
# the host except through the output directory.  scripts/vm-init.sh is the
# guest side.

set -euo pipefail
shopt -s inherit_errexit

readonly PROG=${0##*/}
SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
readonly SCRIPTS
readonly INIT_SCRIPT=$SCRIPTS/vm-init.sh
readonly QBOOT=/usr/share/qemu/qboot.rom

# Modules the initramfs loads to mount the host root and to carry the
# command's output (virtio_console); modprobe resolves their dependencies
# and tells which ones are built in.
readonly BOOT_MODULES=(virtio_pci virtio_console 9pnet_virtio 9p overlay)

# Kernel log lines that fail the run even if the command succeeded.
readonly SPLAT_RE='BUG:|WARNING:|Oops|Call Trace|general protection|KASAN|UBSAN|kmemleak|Kernel panic'
# Lines among those that report nothing wrong (a kmemleak kernel's boot).
readonly BENIGN_RE='kmemleak: (Kernel memory leak detector initialized|Automatic memory scanning thread (started|ended))'

# Exit statuses of our own; anything else is the command's.
readonly EXIT_SPLAT=3
readonly EXIT_TIMEOUT=124
readonly EXIT_VM=125		# usage error, or the VM died without a status

usage() {
	cat <<EOF
Usage: $PROG [OPTIONS] -- COMMAND [ARGS...]

Boot an installed kernel under qemu (TCG) with the host's root filesystem
(read-only, under a tmpfs overlay) and run COMMAND as root in the guest, in
the current directory, with stdin from /dev/null.  The command's output
(stdout and stderr, on a tty) is streamed to stdout; kernel console messages
printed meanwhile go to stderr.  /tmp and /run are fresh tmpfs mounts (the
host's root, /tmp included, is also at /run/ddemux/host), and writes outside
DIR are private to the guest.

Options:
  --kernel K     kernel to boot: a release as in /boot/vmlinuz-K, or a
                 version such as 6.1 or 6.12 for the newest installed amd64
                 kernel of that version (default: 6.1)
  --kernel-image PATH
                 boot this kernel instead, one with everything vm.sh needs
                 built in (the initramfs loads no modules): a kernel build
                 directory such as scripts/debug-kernel.sh prints, an ELF
                 vmlinux (PVH) or a bzImage; kasan_multi_shot is added to
                 its command line, so that every KASAN report is printed
  --append ARGS  more kernel command-line parameters
  --kmemleak     before the command, scan for kernel memory leaks and
                 forget them (DIR/kmemleak-boot.txt); after it, scan again
                 and fail with status $EXIT_SPLAT if any object leaked
                 (DIR/kmemleak.txt); status $EXIT_VM if the kernel has no
                 kmemleak
  --mem MB       guest memory (default: 2048)
  --smp N        guest CPUs (default: 2)
  --timeout S    kill the VM after S seconds (default: 900)
  --out DIR      output directory, created if needed (default: mktemp -d);
                 read-write at the same path in the guest, which also gets
                 it as \$DDEMUX_OUT
  -v, --verbose  also show the kernel's boot messages
  -h, --help     show this help

DIR receives output.log (the command's output), console.log (the kernel's
serial console) and dmesg.txt, and with --kmemleak the reports above.

Exit status: the command's, except
  $EXIT_SPLAT    the kernel log has a BUG/WARNING/Oops/panic/... line, or
                 --kmemleak found a leak
  $EXIT_TIMEOUT  timed out
  $EXIT_VM  usage error, or the VM died before the command finished

Environment: DDEMUX_CACHE (default: \$HOME/.cache/ddemux) holds the kernel
and initramfs images; DDEMUX_TCG_THREAD=multi runs each vCPU in a host
thread of its own (faster, but it can hang a guest whose kernel patches
its own text under load; the default is single).  DDEMUX_ICOUNT=N makes
the guest's clock count instructions, 2^N ns each (qemu -icount
shift=N,sleep=off): timings inside the guest then do not depend on the
host's load (benchmarks; needs the single thread).
EOF
}

msg() {
	echo "$PROG: $*" >&2
}

die() {
	msg "$*"
	exit "$EXIT_VM"
}

# Single-quote a string for POSIX sh; unlike printf %q, dash can read it.
shquote() {
	local s=${1//\'/\'\\\'\'}
	printf "'%s'" "$s"
}

# stamp FILE...: print a short hash identifying the given files' versions.
stamp() {
	# shellcheck disable=SC2012	# ls -l output is exactly the point
	ls -lL --time-style=+%s -- "$@" | sha256sum | cut -c1-16
}

# resolve_kernel SPEC: print the release of the kernel SPEC names.
resolve_kernel() {
	local spec=$1 f

	if [[ -e /boot/vmlinuz-$spec ]]; then
		echo "$spec"
		return
	fi
	[[ $spec =~ ^[0-9]+\.[0-9]+$ ]] || die "no kernel /boot/vmlinuz-$spec"

	# "6.1.*" cannot match 6.12.x: the dot after the version is literal.
	# Only the generic flavour: -rt and -cloud differ in configuration.
	for f in /boot/vmlinuz-"$spec".*-amd64; do
		[[ -e $f ]] || continue
		case $f in
		*-rt-amd64 | *-cloud-amd64) continue ;;
		esac
		echo "${f#/boot/vmlinuz-}"
	done | sort -V | tail -n 1 | grep . ||
		die "no amd64 kernel $spec.* in /boot"
}

# extract_vmlinux BZIMAGE DEST: unpack the ELF kernel from a bzImage.
#
# qemu boots an ELF vmlinux through its PVH entry point, which skips both
# the BIOS and the kernel's self-decompression; under TCG that saves about
# five seconds per boot.  Fails if the kernel cannot be booted that way.
extract_vmlinux() {
	local img=$1 dest=$2 setup_sects off len magic

	# x86 boot protocol >= 2.08: the compressed payload starts at
	# payload_offset (0x248) within the protected-mode code, which
	# follows the setup_sects (0x1f1) 512-byte setup sectors and the
	# boot sector; payload_length is at 0x24c.
	setup_sects=$(od -An -tu1 -j 0x1f1 -N1 "$img")
	((setup_sects)) || setup_sects=4
	read -r off len < <(od -An -tu4 -j 0x248 -N8 "$img")
	off=$(((setup_sects + 1) * 512 + off))
	((len > 4)) || return 1
	magic=$(od -An -tx1 -j "$off" -N4 "$img" | tr -d ' ')

	# xz and zstd payloads end with the decompressed size, 4 bytes that
	# the decompressors would reject.
	case $magic in
	fd377a58 | 28b52ffd) len=$((len - 4)) ;;
	esac
	dd if="$img" iflag=skip_bytes,count_bytes skip="$off" count="$len" \
		status=none |
		case $magic in
		fd377a58) xz -dc ;;
		28b52ffd) zstd -qdc ;;
		1f8b08*) gzip -dc ;;
		*) false ;;
		esac >"$dest.tmp" 2>/dev/null || return 1

	[[ $(head -c4 "$dest.tmp") == $'\x7fELF' ]] || return 1
	mv "$dest.tmp" "$dest"
}

# boot_modules RELEASE: print the module files to load, in load order.
boot_modules() {
	local deps

	deps=$(modprobe --show-depends --set-version "$1" -a "${BOOT_MODULES[@]}") ||
		die "cannot resolve ${BOOT_MODULES[*]} for $1"
	# "insmod FILE" for a module, "builtin NAME" for a built-in one; a
	# module shared by several dependency chains is listed repeatedly.
	awk '$1 == "insmod" && !seen[$2]++ { print $2 }' <<<"$deps"
}

# build_initramfs DEST MODULE...: write to DEST an initramfs with
# vm-init.sh as /init, a static busybox and the modules, in load order.
build_initramfs() {
	local dest=$1 tmp=$1.d n=0 mod name
	shift

	rm -rf "$tmp"
	mkdir -p "$tmp/bin" "$tmp/modules"
	cp "$BUSYBOX" "$tmp/bin/busybox"
	ln -s busybox "$tmp/bin/sh"
	cp "$INIT_SCRIPT" "$tmp/init"
	chmod 0755 "$tmp/init"

	# busybox insmod cannot read compressed modules.  The numeric prefix
	# keeps the load order in the guest's glob.
	for mod; do
		name=$(printf '%02d-%s' "$n" "${mod##*/}")
		name=${name%%.ko*}.ko
		case $mod in
		*.ko) cp "$mod" "$tmp/modules/$name" ;;
		*.ko.xz) xz -dc "$mod" >"$tmp/modules/$name" ;;
		*.ko.zst) zstd -qdc "$mod" >"$tmp/modules/$name" ;;
		*.ko.gz) gzip -dc "$mod" >"$tmp/modules/$name" ;;
		*) die "unknown module format: $mod" ;;
		esac
		n=$((n + 1))
	done

	# Uncompressed: a few MB, and nothing to decompress under TCG.
	(cd "$tmp" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0) >"$dest.tmp"
	mv "$dest.tmp" "$dest"
	rm -rf "$tmp"
}

# prepare RELEASE: set $vmlinux and $initrd to up-to-date boot images for
# RELEASE, building them in the cache if needed, and $pvh to 1 if $vmlinux
# is an ELF kernel to boot through PVH, 0 if it is the bzImage.
prepare() {
	local release=$1 dir list vmlinuz lock
	local -a mods

	dir=${DDEMUX_CACHE:-$HOME/.cache/ddemux}/vm/$release
	mkdir -p "$dir"
	vmlinuz=/boot/vmlinuz-$release
	list=$(boot_modules "$release")
	mapfile -t mods < <(printf '%s' "$list")

	# Images are named after everything that goes into them, so that
	# an edited vm-init.sh or an upgraded kernel is picked up.
	vmlinux=$dir/vmlinux-$(stamp "$vmlinuz")
	initrd=$dir/initramfs-$( {
		cat "$INIT_SCRIPT"
		stamp "$BUSYBOX" "${mods[@]}"
	} | sha256sum | cut -c1-16).cpio

	# Parallel runs: one builds, the others wait for it.
	exec {lock}>"$dir/.lock"
	flock "$lock"

	pvh=1
	if [[ ! -e $vmlinux ]]; then
		msg "extracting $vmlinux"
		if ! grep -qx CONFIG_PVH=y "/boot/config-$release" 2>/dev/null ||
			! extract_vmlinux "$vmlinuz" "$vmlinux"; then
			msg "cannot boot $release through PVH; using the bzImage"
			rm -f "$vmlinux.tmp"
			vmlinux=$vmlinuz
			pvh=0
		fi
	fi

	if [[ ! -e $initrd ]]; then
		msg "building $initrd"
		build_initramfs "$initrd" "${mods[@]}"
	fi

	# Drop stale images.  qemu reads its images at startup, so only a
	# run just about to start could still want them: leave recent ones.
	find "$dir" -maxdepth 1 -type f \( -name 'initramfs-*' -o -name 'vmlinux-*' \) \
		! -path "$initrd" ! -path "$vmlinux" -mmin +60 -delete

	exec {lock}>&-
}

# prepare_image PATH: set $release, $vmlinux, $pvh and $initrd, as
# prepare does, for the kernel image or build directory PATH, which has
# everything built in: the initramfs has no modules.
prepare_image() {
	local path=$1 dir lock

	if [[ -d $path ]]; then
		[[ -s $path/include/config/kernel.release ]] ||
			die "$path is not a kernel build directory"
		release=$(<"$path/include/config/kernel.release")
		vmlinux=$path/arch/x86/boot/bzImage
		pvh=0
		if grep -qx CONFIG_PVH=y "$path/.config" 2>/dev/null &&
			[[ -f $path/vmlinux ]]; then
			vmlinux=$path/vmlinux
			pvh=1
		fi
	else
		vmlinux=$path
		release=${path##*/}
		pvh=0
		[[ $(head -c4 "$path" 2>/dev/null) == $'\x7fELF' ]] && pvh=1
	fi
	[[ -f $vmlinux ]] || die "no kernel image $vmlinux"
	vmlinux=$(realpath -- "$vmlinux")

	dir=${DDEMUX_CACHE:-$HOME/.cache/ddemux}/vm/builtin
	mkdir -p "$dir"
	initrd=$dir/initramfs-$( {
		cat "$INIT_SCRIPT"
		stamp "$BUSYBOX"
	} | sha256sum | cut -c1-16).cpio

	exec {lock}>"$dir/.lock"
	flock "$lock"
	if [[ ! -e $initrd ]]; then
		msg "building $initrd"
		build_initramfs "$initrd"
	fi
	find "$dir" -maxdepth 1 -type f -name 'initramfs-*' ! -path "$initrd" \
		-mmin +60 -delete
	exec {lock}>&-
}

# follow FILE: copy FILE to stdout as it grows, until qemu exits.
follow() {
	tail -s 0.2 -n +1 -F --pid="$vm_pid" "$1" 2>/dev/null
}

# console_filter TAG: filter the serial console log from stdin to stdout.
# Unless $verbose, keep only what the kernel prints while the command runs,
# between the TAG markers.
console_filter() {
	local range="/$1 BEGIN/,/$1 END/"

	((verbose)) && range=
	# sed -u: no read-ahead, so that lines appear as they are printed.
	sed -nu -e 's/\r$//' -e "$range{ /$1 \(BEGIN\|END\)/!p; }"
}

kernel=6.1
kernel_set=0
kernel_image=
append=
kmemleak=0
mem=2048
smp=2
# One TCG thread for all vCPUs unless DDEMUX_TCG_THREAD=multi: see the
# comment on thread=single at the qemu command line.
accel=tcg,thread=${DDEMUX_TCG_THREAD:-single}
timeout=900
out=
verbose=0

while (($#)); do
	case $1 in
	--kernel | --kernel-image | --append | --mem | --smp | --timeout | --out)
		(($# >= 2)) || die "$1 needs an argument"
		case $1 in
		--kernel) kernel=$2 kernel_set=1 ;;
		--kernel-image) kernel_image=$2 ;;
		--append) append+=" $2" ;;
		--mem) mem=$2 ;;
		--smp) smp=$2 ;;
		--timeout) timeout=$2 ;;
		--out) out=$2 ;;
		esac
		shift 2
		;;
	-v | --verbose)
		verbose=1
		shift
		;;
	--kmemleak)
		kmemleak=1
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	--)
		shift
		break
		;;
	*)
		usage >&2
		exit "$EXIT_VM"
		;;
	esac
done
(($#)) || die "no command given (see --help)"
[[ $mem =~ ^[1-9][0-9]*$ ]] || die "bad --mem: $mem"
[[ $smp =~ ^[1-9][0-9]*$ ]] || die "bad --smp: $smp"
[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "bad --timeout: $timeout"
[[ -z $kernel_image ]] || ((!kernel_set)) ||
	die "--kernel and --kernel-image exclude each other"

for tool in qemu-system-x86_64 busybox modprobe cpio flock timeout; do
	command -v "$tool" >/dev/null || die "$tool not found"
done
BUSYBOX=$(command -v busybox)
# The initramfs has no libc: busybox must be the static build.
! ldd "$BUSYBOX" >/dev/null 2>&1 ||
	die "$BUSYBOX is dynamically linked (install busybox-static)"

topology=$smp
if [[ -n $kernel_image ]]; then
	prepare_image "$kernel_image"
	append="kasan_multi_shot$append"
	# One CPU per socket: a kernel without ACPI finds the CPUs in
	# SeaBIOS's MP table, which lists only the first CPU of a socket.
	topology=$smp,sockets=$smp
else
	release=$(resolve_kernel "$kernel")
	[[ -d /lib/modules/$release ]] || die "no /lib/modules/$release"
	prepare "$release"
fi

if [[ -z $out ]]; then
	out=$(mktemp -d)
else
	mkdir -p -- "$out"
fi
out=$(cd -- "$out" && pwd -P)
console=$out/console.log
output=$out/output.log
rm -f "$out/dmesg.txt" "$out/kmemleak.txt" "$out/kmemleak-boot.txt"
: >"$console"
: >"$output"

# Per-run control directory, shared with the guest as "ctl".
ctl=$(mktemp -d)
tag=ddemux-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
{
	echo "DDEMUX_OUT=$(shquote "$out")"
	echo "DDEMUX_CWD=$(shquote "$(pwd -P)")"
	echo "DDEMUX_HOSTNAME=ddemux-vm"
	echo "DDEMUX_TAG=$tag"
	((!kmemleak)) || echo "DDEMUX_KMEMLEAK=1"
} >"$ctl/env"
{
	printf 'set --'
	for arg; do
		printf ' %s' "$(shquote "$arg")"
	done
	echo
} >"$ctl/cmd"

vm_pid=
output_pid=
console_pid=
# Also reached on errors and signals: stop qemu, let the followers drain.
# shellcheck disable=SC2317	# invoked by trap
cleanup() {
	if [[ -n $vm_pid ]]; then
		kill -TERM "$vm_pid" 2>/dev/null || true
		wait "$vm_pid" 2>/dev/null || true
	fi
	for pid in $output_pid $console_pid; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$ctl"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# virtfs TAG PATH [OPTIONS]: a -virtfs argument.  qemu's option parser
# wants commas in values doubled.
virtfs() {
	echo "local,path=${2//,/,,},mount_tag=$1,security_model=none${3:+,$3}"
}

cmdline=(
	console=ttyS0
	panic=-1	# on panic, reboot: qemu -no-reboot then exits
)
read -ra more <<<"$append"
cmdline+=("${more[@]}")

# thread=single: qemu 7.2's multi-threaded TCG can keep running a stale
# translation of kernel text that another vCPU just patched.  Installing
# ftrace hooks while a task calls the hooked function in a loop then hangs
# the guest: the CPU keeps taking the int3 that text_poke_bp() placed and
# already replaced, and the kernel's int3 handler keeps sending it back to
# retry (soft lockup at sock_setsockopt+0x0; memory holds the new call).
# One TCG thread for all vCPUs cannot race with itself; the guest still
# has --smp CPUs.  DDEMUX_TCG_THREAD=multi brings the fast mode back.
# shellcheck disable=SC2054	# the commas are qemu's
qemu=(
	qemu-system-x86_64
	-accel "$accel"
	-cpu max	# all that TCG emulates: SMEP, SMAP, UMIP, ...
	-smp "$topology"
	-m "$mem"
	-nographic
	-nodefaults
	-no-reboot
	-monitor none
	-chardev "file,id=console,path=${console//,/,,}"
	-serial chardev:console
	-device virtio-serial-pci
	-chardev "file,id=output,path=${output//,/,,}"
	-device virtconsole,chardev=output
	-kernel "$vmlinux"
	-initrd "$initrd"
	-append "${cmdline[*]}"
	# multidevs=remap: the host's / spans several filesystems, whose
	# inode numbers would collide in the guest.
	-virtfs "$(virtfs host / readonly=on,multidevs=remap)"
	-virtfs "$(virtfs out "$out")"
	-virtfs "$(virtfs ctl "$ctl")"
)

if [[ -n ${DDEMUX_ICOUNT:-} ]]; then
	[[ $DDEMUX_ICOUNT =~ ^[0-9]$ ]] || die "bad DDEMUX_ICOUNT: $DDEMUX_ICOUNT"
	qemu+=(-icount "shift=$DDEMUX_ICOUNT,sleep=off")
fi

# qboot starts an ELF (PVH) kernel faster than SeaBIOS, and does not
# litter the console with terminal escapes.
if ((pvh)) && [[ -e $QBOOT ]]; then
	qemu+=(-bios "$QBOOT")
fi

start=$(date +%s.%N)
# timeout(1) sends qemu SIGTERM, on which qemu exits cleanly; SIGKILL
# follows if it does not.  qemu never sees our stdin or the terminal.
timeout --kill-after=10 "$timeout" "${qemu[@]}" </dev/null &
vm_pid=$!

follow "$output" &
output_pid=$!
follow "$console" | console_filter "$tag" >&2 &
console_pid=$!

vm_status=0
wait "$vm_pid" || vm_status=$?
vm_pid=
wait "$output_pid" "$console_pid" || true
output_pid=
console_pid=
elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

if ((vm_status == EXIT_TIMEOUT)); then
	status=$EXIT_TIMEOUT
	msg "timed out after $timeout s"
elif [[ -s $ctl/status ]]; then
	status=$(<"$ctl/status")
else
	status=$EXIT_VM
	msg "the VM died before the command finished (qemu status $vm_status)"
fi
if ! grep -q "$tag BEGIN" "$console" && ((!verbose)); then
	msg "the command never started; end of $console:"
	tail -n 40 "$console" | tr -d '\r' >&2
fi

# dmesg.txt misses what the kernel ring buffer lost on a long run, and
# all of the kernel log after a timeout or crash; console.log misses
# KERN_DEBUG messages.  Check both.
logs=("$console")
[[ -s $out/dmesg.txt ]] && logs+=("$out/dmesg.txt")
benign=$BENIGN_RE
# With --kmemleak, its reports below say more than this line.
((!kmemleak)) || benign+='|kmemleak: [0-9]+ new suspected memory leaks'
if splats=$(cat "${logs[@]}" | tr -d '\r' | grep -aE "$SPLAT_RE" |
	grep -avE "$benign" | awk '!seen[$0]++'); then
	msg "the kernel log has warnings:"
	echo "$splats" >&2
	((status == EXIT_TIMEOUT)) || status=$EXIT_SPLAT
fi

# --kmemleak: the guest left the reports of its scans in ctl.
if ((kmemleak)) && [[ -s $ctl/status ]]; then
	if [[ -s $ctl/kmemleak-boot ]]; then
		cp "$ctl/kmemleak-boot" "$out/kmemleak-boot.txt"
		msg "kmemleak: $(grep -c '^unreferenced object' "$out/kmemleak-boot.txt") objects leaked before the command (by the kernel's boot), see $out/kmemleak-boot.txt"
	fi
	if [[ ! -e $ctl/kmemleak ]]; then
		msg "kmemleak: no scan after the command (no /sys/kernel/debug/kmemleak?)"
		((status)) || status=$EXIT_VM
	elif [[ -s $ctl/kmemleak ]]; then
		cp "$ctl/kmemleak" "$out/kmemleak.txt"
		msg "kmemleak: $(grep -c '^unreferenced object' "$out/kmemleak.txt") objects leaked, see $out/kmemleak.txt:"
		cat "$out/kmemleak.txt" >&2
		status=$EXIT_SPLAT
	else
		: >"$out/kmemleak.txt"
		msg "kmemleak: no leaks"
	fi
fi

# The guest's uptime when the command started: the boot time proper.
boot=
if [[ -s $ctl/uptime ]]; then
	boot=" (command started at $(<"$ctl/uptime") s guest uptime)"
fi
msg "$release: exit status $status after $elapsed s$boot"
msg "output in $out"
exit "$status"
