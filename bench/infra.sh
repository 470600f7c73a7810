#!/usr/bin/env bash
# `gantry infra apply` vs Ansible (ansible-core) vs pyinfra, same desired state, same
# hosts: the pyinfra-performance workload (add a user, copy a file, render a template,
# run a command guarded by `creates`) plus 2 directories and 20 file resources, on N
# OpenSSH test hosts for each N in $INFRA_HOSTS (default "1 10 50").
#
# Each host is a network namespace (a veth pair to this namespace, 10.251.<i>.2) running
# its own sshd as root, with an overlay over /etc so the users each tool adds stay on
# that host (the hosts otherwise share this machine's file system: each tool writes under
# its own per-host directory). Needs root.
#
# For each N and tool: RUNS cold runs (each with fresh paths and user names, so nothing
# exists yet) and RUNS no-change runs (the last cold run's state again). Wall time is the
# median of the runs; peak RSS is GNU time's maximum resident set size of the controller
# (the largest single process among the tool and the processes it waited for, so for
# Ansible the largest fork, not their sum). Every run is bounded by TIMEOUT seconds.
#
# Ansible gets its best settings: forks = N, pipelining on, ControlMaster/ControlPersist
# (its connections persist between runs, Gantry's do not), fact gathering limited to
# `min` (the template uses the OS id). pyinfra uses its default (paramiko) connector and
# --parallel N. ansible-core and pyinfra are installed from PyPI into $VENV.
here="$(cd "$(dirname "$0")" && pwd)"
GANTRY="${GANTRY:-${CARGO_TARGET_DIR:-$here/../target}/release/gantry}"
source "$here/common.sh"
INFRA_HOSTS=${INFRA_HOSTS:-"1 10 50"}
RUNS=${RUNS:-3}
TIMEOUT=${TIMEOUT:-600}
TOOLS=${TOOLS:-"gantry ansible pyinfra"}
VENV=${VENV:-$HOME/.cache/gantry-bench/venv}

[ "$(id -u)" = 0 ] || { echo "bench/infra.sh needs root (network namespaces, sshd)"; exit 1; }
if [ ! -x /usr/sbin/sshd ] || ! command -v ip >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends openssh-server iproute2 >/dev/null
fi
if [ ! -x "$VENV/bin/ansible-playbook" ] || [ ! -x "$VENV/bin/pyinfra" ]; then
  python3 -m venv "$VENV"
  timeout 600 "$VENV/bin/pip" install -q ansible-core pyinfra
fi

tmp=$(mktemp -d /tmp/gantry-infra-bench.XXXXXX)
pids=()
max=0
for n in $INFRA_HOSTS; do [ "$n" -gt "$max" ] && max=$n; done
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for i in $(seq 1 "$max"); do ip netns delete "gib$i" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# --- hosts -----------------------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -f "$tmp/id"
mkdir -p /run/sshd
: > "$tmp/known_hosts"
for i in $(seq 1 "$max"); do
  h="$tmp/hosts/h$i"
  mkdir -p "$h/upper" "$h/work"
  ip netns delete "gib$i" 2>/dev/null || true
  ip netns add "gib$i"
  ip link add "gibr$i" type veth peer name "gibh$i" netns "gib$i"
  ip addr add "10.251.$i.1/24" dev "gibr$i"
  ip link set "gibr$i" up
  ip -n "gib$i" addr add "10.251.$i.2/24" dev "gibh$i"
  ip -n "gib$i" link set "gibh$i" up
  ip -n "gib$i" link set lo up
  ssh-keygen -q -t ed25519 -N '' -f "$h/host_key"
  cp "$tmp/id.pub" "$h/authorized_keys"
  cat > "$h/sshd_config" <<EOF
ListenAddress 10.251.$i.2:22
HostKey $h/host_key
PidFile $h/sshd.pid
AuthorizedKeysFile $h/authorized_keys
PermitRootLogin prohibit-password
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
MaxStartups 200
MaxSessions 200
Subsystem sftp internal-sftp
EOF
  echo "10.251.$i.2 $(cut -d' ' -f1-2 "$h/host_key.pub")" >> "$tmp/known_hosts"
  ip netns exec "gib$i" unshare -m --propagation private sh -c \
    "mount -t overlay overlay -o lowerdir=/etc,upperdir=$h/upper,workdir=$h/work /etc && exec /usr/sbin/sshd -D -e -f $h/sshd_config" \
    2> "$h/sshd.log" &
  pids+=($!)
done
for i in $(seq 1 "$max"); do
  for _ in $(seq 1 100); do
    timeout 2 bash -c "echo > /dev/tcp/10.251.$i.2/22" 2>/dev/null && break
    sleep 0.1
  done
done
SSH=(ssh -i "$tmp/id" -o BatchMode=yes -o UserKnownHostsFile="$tmp/known_hosts" -o StrictHostKeyChecking=yes)
"${SSH[@]}" root@10.251.1.2 true || { cat "$tmp/hosts/h1/sshd.log"; exit 1; }

# --- the desired state, per tool ---------------------------------------------------------
printf 'port = 80\nworkers = 4\n' > "$tmp/app.conf"
: > "$tmp/ansible.cfg"

# $1 tool, $2 N, $3 run: the per-host root and user name of that run.
root_of() { echo "$tmp/w/$1/n$2-r$3/h$4"; }
user_of() { echo "gb${1:0:1}n$2r$3"; }

gantry_ws() { # N RUN -> workspace dir
  local n=$1 r=$2 ws="$tmp/ws/gantry-n$1-r$2"
  mkdir -p "$ws/infra" "$ws/files" "$ws/templates"
  cp "$tmp/app.conf" "$ws/files/app.conf"
  printf '{{ host.name }} runs {{ facts.os_id }}\n' > "$ws/templates/motd.j2"
  { echo "hosts:"
    for i in $(seq 1 "$n"); do
      echo "  h$i: { address: 10.251.$i.2, user: root, ssh_key: $tmp/id, known_hosts: $tmp/known_hosts }"
    done; } > "$ws/gantry.yml"
  # One resource file per host: resource ids are unique per file.
  for i in $(seq 1 "$n"); do
    local root; root=$(root_of gantry "$n" "$r" "$i")
    {
    echo "- hosts: [h$i]"
    echo "  resources:"
    echo "    - user: { name: $(user_of gantry "$n" "$r"), home: $root/home, shell: /bin/sh }"
    echo "    - directory: { path: $root/etc }"
    echo "    - directory: { path: $root/files }"
    echo "    - file: { path: $root/etc/app.conf, source: files/app.conf, mode: \"0644\" }"
    echo "    - template: { path: $root/etc/motd, source: templates/motd.j2, mode: \"0644\" }"
    echo "    - command: { run: \"echo built > $root/built\", creates: $root/built }"
    for k in $(seq 1 20); do
      echo "    - file: { path: $root/files/f$k, content: \"file $k\\n\", mode: \"0644\" }"
    done
    } > "$ws/infra/h$i.yml"
  done
  echo "$ws"
}

ansible_ws() {
  local n=$1 r=$2 ws="$tmp/ws/ansible-n$1-r$2"
  mkdir -p "$ws"
  cp "$tmp/app.conf" "$ws/app.conf"
  printf '{{ inventory_hostname }} runs {{ ansible_distribution | lower }}\n' > "$ws/motd.j2"
  { echo "[all]"
    for i in $(seq 1 "$n"); do
      echo "h$i ansible_host=10.251.$i.2 root=$(root_of ansible "$n" "$r" "$i")"
    done
    echo "[all:vars]"
    echo "uname=$(user_of ansible "$n" "$r")"; } > "$ws/hosts.ini"
  cat > "$ws/site.yml" <<'EOF'
- hosts: all
  gather_facts: true
  gather_subset: [min]
  tasks:
    - user: { name: "{{ uname }}", home: "{{ root }}/home", shell: /bin/sh }
    - file: { path: "{{ root }}/etc", state: directory }
    - file: { path: "{{ root }}/files", state: directory }
    - copy: { src: app.conf, dest: "{{ root }}/etc/app.conf", mode: "0644" }
    - template: { src: motd.j2, dest: "{{ root }}/etc/motd", mode: "0644" }
    - shell: { cmd: "echo built > {{ root }}/built", creates: "{{ root }}/built" }
    - copy: { content: "file {{ item }}\n", dest: "{{ root }}/files/f{{ item }}", mode: "0644" }
      loop: "{{ range(1, 21) | list }}"
EOF
  echo "$ws"
}

pyinfra_ws() {
  local n=$1 r=$2 ws="$tmp/ws/pyinfra-n$1-r$2"
  mkdir -p "$ws"
  cp "$tmp/app.conf" "$ws/app.conf"
  printf '{{ host.name }} runs {{ os_id }}\n' > "$ws/motd.j2"
  { echo "hosts = ["
    for i in $(seq 1 "$n"); do
      echo "  ('10.251.$i.2', {'root': '$(root_of pyinfra "$n" "$r" "$i")', 'uname': '$(user_of pyinfra "$n" "$r")',"
      echo "     'ssh_user': 'root', 'ssh_key': '$tmp/id', 'ssh_known_hosts_file': '$tmp/known_hosts',"
      echo "     'ssh_strict_host_key_checking': 'yes'}),"
    done
    echo "]"; } > "$ws/inventory.py"
  cat > "$ws/deploy.py" <<'EOF'
from pyinfra import host
from pyinfra.facts.files import File
from pyinfra.facts.server import LinuxDistribution
from pyinfra.operations import files, server

root = host.data.root
server.user(name="add user", user=host.data.uname, home=f"{root}/home", shell="/bin/sh", create_home=True)
files.directory(name="etc", path=f"{root}/etc")
files.directory(name="files", path=f"{root}/files")
files.put(name="copy file", src="app.conf", dest=f"{root}/etc/app.conf", mode="644")
os_id = (host.get_fact(LinuxDistribution).get("release_meta") or {}).get("ID", "unknown")
files.template(name="template", src="motd.j2", dest=f"{root}/etc/motd", mode="644", os_id=os_id)
if not host.get_fact(File, path=f"{root}/built"):
    server.shell(name="build", commands=[f"echo built > {root}/built"])
for k in range(1, 21):
    files.put(name=f"f{k}", src=__import__("io").StringIO(f"file {k}\n"), dest=f"{root}/files/f{k}", mode="644")
EOF
  echo "$ws"
}

# $1 tool, $2 N, $3 workspace: the command line applying it.
apply_cmd() {
  case $1 in
    gantry) echo "$GANTRY infra apply --workspace $3 --yes --parallel $2" ;;
    ansible) echo "$VENV/bin/ansible-playbook -i $3/hosts.ini $3/site.yml" ;;
    pyinfra) echo "$VENV/bin/pyinfra -y --parallel $2 $3/inventory.py $3/deploy.py" ;;
  esac
}

export ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_PIPELINING=True ANSIBLE_REMOTE_USER=root \
  ANSIBLE_PRIVATE_KEY_FILE="$tmp/id" ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 \
  ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=$tmp/known_hosts -o StrictHostKeyChecking=yes" \
  ANSIBLE_CONTROL_PATH_DIR="$tmp/cp" ANSIBLE_LOCAL_TEMP="$tmp/ansible-tmp" ANSIBLE_RETRY_FILES_ENABLED=False \
  ANSIBLE_CONFIG="$tmp/ansible.cfg" ANSIBLE_NOCOLOR=1 PYINFRA_PROGRESS=off

# Runs one apply: prints "<seconds> <peak RSS MiB>"; fails when the tool fails.
measure() { # tool N ws label
  local log="$tmp/logs/$1-n$2-$4.log" start end
  mkdir -p "$tmp/logs"
  [ "$1" = ansible ] && export ANSIBLE_FORKS=$2
  start=$(date +%s%N)
  # shellcheck disable=SC2046
  if ! (cd "$3" && timeout "$TIMEOUT" /usr/bin/time -o "$log.time" -f '%M' $(apply_cmd "$1" "$2" "$3") > "$log" 2>&1); then
    echo "FAILED: $1 N=$2 $4 (log below)" >&2; tail -30 "$log" >&2; return 1
  fi
  end=$(date +%s%N)
  awk -v ns=$((end - start)) 'END { printf "%.3f %.1f\n", ns / 1e9, $1 / 1024 }' "$log.time"
}

# Checks that run $3 of $1 at N converged every host: user, 20 files, template, command.
verify() {
  local root user=$(user_of "$1" "$2" "$3")
  for i in $(seq 1 "$2"); do
    root=$(root_of "$1" "$2" "$3" "$i")
    [ "$(ls "$root/files" | wc -l)" = 20 ] && [ -s "$root/etc/motd" ] && [ -f "$root/built" ] \
      && cmp -s "$root/etc/app.conf" "$tmp/app.conf" \
      && grep -q "^$user:" "$tmp/hosts/h$i/upper/passwd" \
      || { echo "FAILED: $1 N=$2 run $3 did not converge host h$i" >&2; return 1; }
  done
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

machine
echo "ansible-core $("$VENV/bin/python" -c 'import ansible.release as r; print(r.__version__)'), pyinfra $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("pyinfra"))'), $(ssh -V 2>&1)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
results="$tmp/results"
: > "$results"
failed=0
for n in $INFRA_HOSTS; do
  for tool in $TOOLS; do
    ws=""
    for r in $(seq 1 "$RUNS"); do
      ws=$("${tool}_ws" "$n" "$r")
      # A failed or timed-out run ends this tool at this N; the other tools still run.
      m=$(measure "$tool" "$n" "$ws" "cold$r") || { failed=1; continue 2; }
      verify "$tool" "$n" "$r" || { failed=1; continue 2; }
      echo "$n $tool cold $m" >> "$results"
      echo "  N=$n $tool cold run $r: $m" >&2
    done
    for r in $(seq 1 "$RUNS"); do
      m=$(measure "$tool" "$n" "$ws" "nochange$r") || { failed=1; continue 2; }
      echo "$n $tool nochange $m" >> "$results"
      echo "  N=$n $tool no-change run $r: $m" >&2
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "| hosts | tool | cold median (s) | no-change median (s) | cold peak RSS (MiB) | no-change peak RSS (MiB) |"
echo "|---:|---|---:|---:|---:|---:|"
for n in $INFRA_HOSTS; do
  for tool in $TOOLS; do
    f() { awk -v n="$n" -v t="$tool" -v k="$1" -v c="$2" '$1 == n && $2 == t && $3 == k { print $c }' "$results"; }
    echo "| $n | $tool | $(f cold 4 | median) | $(f nochange 4 | median) | $(f cold 5 | sort -n | tail -1) | $(f nochange 5 | sort -n | tail -1) |"
  done
done
echo
echo "ratios (other tool's median / gantry's median):"
for n in $INFRA_HOSTS; do
  for k in cold nochange; do
    g=$(awk -v n="$n" -v k="$k" '$1 == n && $2 == "gantry" && $3 == k { print $4 }' "$results" | median)
    for tool in ansible pyinfra; do
      o=$(awk -v n="$n" -v t="$tool" -v k="$k" '$1 == n && $2 == t && $3 == k { print $4 }' "$results" | median)
      [ -n "$g" ] && [ -n "$o" ] && awk -v n="$n" -v k="$k" -v t="$tool" -v g="$g" -v o="$o" \
        'BEGIN { printf "  N=%s %s: %s %.1fx slower than gantry\n", n, k, t, o / g }'
    done
  done
done
[ "$failed" = 0 ] || { echo "some runs failed or timed out (see FAILED above)" >&2; exit 1; }
