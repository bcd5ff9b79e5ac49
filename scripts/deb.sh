#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make deb: the Debian package ddemux-dkms_VERSION_all.deb, built with
# debhelper and dh-dkms from packaging/debian, in a copy of the sources
# under $DDEMUX_CACHE/deb; the package is written to $DEBDIR (default: the
# top of the tree, where .gitignore ignores it) and its path printed last.
#
# The version comes from VERSION and git (the Makefile's DDEMUX_VERSION):
#   on a vX.Y.Z tag           X.Y.Z
#   N commits after the tag   X.Y.Z+gitN.gHASH
#   no tag yet                VERSION~gitN.gHASH (N: commits in HEAD), which
#                             sorts before the release VERSION
#   uncommitted changes       .dirty (+dirty on a tag) appended
#   no git                    VERSION
# DDEMUX_DEB_VERSION overrides it.  The DKMS module version is the same:
# the sources go to /usr/src/ddemux-VERSION.  debian/changelog is generated,
# dated by the last commit; its maintainer is "$DEBFULLNAME <$DEBEMAIL>" if
# both are set, else the project's (packaging/debian/maintainer).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$DDEMUX_ROOT"

need_pkgs dpkg-dev debhelper dh-dkms make

# deb_version MODULE_VERSION: the Debian version for it (above).
deb_version() {
	local v=$1 dirty=0 n
	if [[ $v == *-dirty ]]; then
		dirty=1
		v=${v%-dirty}
	fi
	if [[ $v =~ ^(.+)-([0-9]+)-g([0-9a-f]+)$ ]]; then
		v=${BASH_REMATCH[1]}+git${BASH_REMATCH[2]}.g${BASH_REMATCH[3]}
	elif [[ $v =~ ^(.+)-g([0-9a-f]+)$ ]]; then
		n=$(git rev-list --count HEAD)
		v=${BASH_REMATCH[1]}~git$n.g${BASH_REMATCH[2]}
	elif ((dirty)); then
		v+=+dirty
		dirty=0
	fi
	((dirty)) && v+=.dirty
	echo "$v"
}

modver=$(module_version)
debver=${DDEMUX_DEB_VERSION:-$(deb_version "$modver")}
dpkg --validate-version "$debver" || die "bad Debian version: $debver"
outdir=${DEBDIR:-$DDEMUX_ROOT}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

if [[ -n ${DEBFULLNAME:-} && -n ${DEBEMAIL:-} ]]; then
	maint="$DEBFULLNAME <$DEBEMAIL>"
else
	maint=$(<packaging/debian/maintainer)
fi
when=$(git log -1 --format=%ct 2>/dev/null || date +%s)

# The copy: what the package installs, and the packaging.
top=$DDEMUX_CACHE/deb/build
src=$top/ddemux-$debver
rm -rf "$top"
mkdir -p "$src/Documentation"
cp Kbuild Kconfig Makefile dkms.conf VERSION ddemux*.c ddemux*.h README.md "$src/"
cp Documentation/admin-guide.rst "$src/Documentation/"
cp -r packaging "$src/"
cp -r packaging/debian "$src/debian"
rm "$src/debian/maintainer"
sed -i "s|@MAINTAINER@|$maint|" "$src/debian/control"
cat >"$src/debian/changelog" <<EOT
ddemux ($debver) unstable; urgency=medium

  * ddemux $modver, packaged by make deb.

 -- $maint  $(LC_ALL=C date -R -u -d "@$when")
EOT

log "building ddemux-dkms $debver (module version $modver) in $top"
(cd "$src" && DDEMUX_VERSION=$modver dpkg-buildpackage --build=all --no-sign) >&2
deb=ddemux-dkms_${debver}_all.deb
[[ -f $top/$deb ]] || die "dpkg-buildpackage wrote no $deb"
cp "$top/$deb" "$outdir/"
echo "$outdir/$deb"
