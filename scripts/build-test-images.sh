#!/usr/bin/env bash
# Builds the local Docker images and installs the tools the executor tests need.
#
# No container registry is reachable from Gantry's build machines, so the test images
# are made from the host's static busybox and `docker import`ed:
#   gantry-test/busybox:latest        busybox userland, CMD /bin/sh
#   gantry-test/httpd:latest          same + /www/index.html, CMD httpd on :8080
#   gantry-test/httpd-health:latest   httpd that starts after 1 s, with a HEALTHCHECK
#                                     (built from gantry-test/httpd, no registry needed)
# It also makes sure bubblewrap (`bwrap`) is installed for the sandbox executor tests.
#
# Idempotent: an image that already exists is kept unless --force is given.
# Usage: scripts/build-test-images.sh [--force]
set -euo pipefail

force=0
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        -h | --help)
            sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "build-test-images.sh: unknown argument '$arg' (expected --force)" >&2
            exit 2
            ;;
    esac
done

die() {
    echo "build-test-images.sh: $*" >&2
    exit 1
}

apt_updated=0
apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        die "need the Debian package(s) $*, but apt-get is not available; install them by hand"
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to install $*"
        sudo=(sudo -n)
    fi
    if [ "$apt_updated" -eq 0 ]; then
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        apt_updated=1
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# A dynamically linked busybox would not run in an image that has no libc.
is_static() {
    [ -x "$1" ] && ! ldd "$1" >/dev/null 2>&1
}

if ! command -v bwrap >/dev/null 2>&1; then
    echo "installing bubblewrap" >&2
    apt_install bubblewrap
fi

busybox=/bin/busybox
if ! is_static "$busybox"; then
    echo "installing busybox-static" >&2
    apt_install busybox-static
    is_static "$busybox" || die "$busybox is still missing or not statically linked"
fi

command -v docker >/dev/null 2>&1 || die "docker is not installed"
docker info >/dev/null 2>&1 || die "cannot reach the Docker Engine (is dockerd running, and may this user use it?)"

image_exists() {
    docker image inspect "$1" >/dev/null 2>&1
}

want() {
    if image_exists "$1"; then
        if [ "$force" -eq 0 ]; then
            echo "$1: already present" >&2
            return 1
        fi
        # Untag (and so prune) the old build instead of leaving it dangling.
        docker image rm -f "$1" >/dev/null
    fi
    return 0
}

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT

# The root filesystem shared by the images: busybox, a symlink for each of its applets
# (what `busybox --install -s` would make, without needing chroot), a root user and /tmp.
make_rootfs() {
    local root=$1
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var/tmp}
    chmod 1777 "$root/tmp" "$root/var/tmp"
    cp "$busybox" "$root/bin/busybox"
    local applet
    while IFS= read -r applet; do
        case "$applet" in
            "" | bin/busybox) continue ;;
        esac
        mkdir -p "$root/$(dirname "$applet")"
        ln -sf /bin/busybox "$root/$applet"
    done < <("$root/bin/busybox" --list-full)
    [ -L "$root/bin/sh" ] || die "busybox did not list a 'sh' applet"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
}

path_env='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

if want gantry-test/busybox:latest; then
    rootfs="$workdir/busybox"
    make_rootfs "$rootfs"
    tar -C "$rootfs" -c . | docker import \
        --change "$path_env" \
        --change 'CMD ["/bin/sh"]' \
        - gantry-test/busybox:latest >/dev/null
    echo "gantry-test/busybox:latest: built" >&2
fi

if want gantry-test/httpd:latest; then
    rootfs="$workdir/httpd"
    make_rootfs "$rootfs"
    mkdir -p "$rootfs/www"
    echo 'hello from the sidecar' >"$rootfs/www/index.html"
    tar -C "$rootfs" -c . | docker import \
        --change "$path_env" \
        --change 'EXPOSE 8080' \
        --change 'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]' \
        - gantry-test/httpd:latest >/dev/null
    echo "gantry-test/httpd:latest: built" >&2
fi

# `docker import` cannot set a HEALTHCHECK; the classic builder can, from a local base
# image, without a registry or a build context.
if want gantry-test/httpd-health:latest; then
    if ! DOCKER_BUILDKIT=0 docker build -q -t gantry-test/httpd-health:latest - >"$workdir/build.log" 2>&1 <<'EOF'
FROM gantry-test/httpd:latest
HEALTHCHECK --interval=250ms --timeout=2s --retries=100 CMD wget -qO- http://127.0.0.1:8080/ >/dev/null || exit 1
CMD ["/bin/sh", "-c", "sleep 1; exec httpd -f -p 8080 -h /www"]
EOF
    then
        cat "$workdir/build.log" >&2
        die "docker build of gantry-test/httpd-health:latest failed"
    fi
    echo "gantry-test/httpd-health:latest: built" >&2
fi

for image in gantry-test/busybox:latest gantry-test/httpd:latest gantry-test/httpd-health:latest; do
    image_exists "$image" || die "image $image is missing after the build"
done
