#!/bin/bash
# A one-node SLURM cluster on this Debian machine, started by hand (no systemd): munge, MariaDB,
# slurmdbd (accounting, for sacct), slurmctld and slurmd. Needs root.
#
#   tests/slurm/cluster.sh install   apt-get the packages (slurm-wlm munge slurmdbd mariadb-server)
#   tests/slurm/cluster.sh start     write /etc/slurm/{slurm,slurmdbd}.conf, start every daemon
#   tests/slurm/cluster.sh start --no-accounting   the same without slurmdbd (sacct knows nothing)
#   tests/slurm/cluster.sh stop      stop the SLURM daemons it started (by the PIDs they wrote under $STATE)
#   tests/slurm/cluster.sh stop --all   and munged and MariaDB too, where this script started them
#   tests/slurm/cluster.sh status    sinfo
# State, logs and PID files live under $STATE (default /tmp/fcn-slurm). `start` on a cluster that
# is up (jobs running on its node included) starts only what is not running and succeeds.
set -euo pipefail
STATE=${STATE:-/tmp/fcn-slurm}
HOST=$(hostname -s)
CPUS=$(nproc)
MEM_MB=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))

wait_for() {  # wait_for SECONDS what command...
    local t=$1 what=$2; shift 2
    for _ in $(seq "$t"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
    echo "cluster.sh: $what did not come up in ${t}s (logs: $STATE)" >&2
    return 1
}

install() {
    local pkgs="slurm-wlm munge slurmdbd mariadb-server"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends $pkgs >/dev/null 2>&1 \
        || { apt-get update >/dev/null && apt-get install -y --no-install-recommends $pkgs >/dev/null; }
}

start() {
    local accounting=1
    [ "${1:-}" = "--no-accounting" ] && accounting=0
    mkdir -p "$STATE"/{state,slurmd} /etc/slurm /run/munge
    chown munge:munge /run/munge
    if ! munge -n >/dev/null 2>&1; then  # ours: its PID where `stop --all` finds it
        runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/fcn-munged.pid
        wait_for 20 munge munge -n
        cp /run/munge/fcn-munged.pid "$STATE/munged.pid"
    fi
    wait_for 20 munge munge -n
    local storage="accounting_storage/none"
    [ $accounting = 1 ] && storage="accounting_storage/slurmdbd"
    cat >/etc/slurm/slurm.conf <<CONF
ClusterName=fcn
SlurmctldHost=$HOST
AuthType=auth/munge
# a requeued job waits cred_expire seconds before it starts again (default 120), and the backfill
# scheduler looks every bf_interval seconds (default 30): short on a test node
AuthInfo=cred_expire=10
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=5
MpiDefault=none
ReturnToService=2
SlurmUser=root
SlurmdUser=root
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmdSpoolDir=$STATE/slurmd
StateSaveLocation=$STATE/state
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
AccountingStorageType=$storage
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=600
KillWait=5
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
    if [ $accounting = 1 ]; then
        if ! mysqladmin ping >/dev/null 2>&1; then  # ours: its PID where `stop --all` finds it
            (mysqld_safe --user=mysql >"$STATE/mariadb.log" 2>&1 &)
            wait_for 60 MariaDB mysqladmin ping
            # its PID, from the file the server itself keeps (it runs as mysql: $STATE is not its to write)
            cat "$(mysql -N -e 'SELECT @@pid_file')" >"$STATE/mysqld.pid"
            touch "$STATE/mysqld.ours"
        fi
        mysql -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm';
                  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
        cat >/etc/slurm/slurmdbd.conf <<CONF
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
PidFile=$STATE/slurmdbd.pid
LogFile=$STATE/slurmdbd.log
CONF
        chmod 600 /etc/slurm/slurmdbd.conf
        running slurmdbd || /usr/sbin/slurmdbd
        wait_for 30 slurmdbd sacctmgr -i show cluster
    fi
    if [ $accounting = 1 ]; then
        sacctmgr -i add cluster fcn >/dev/null 2>&1 || true
    fi
    running slurmctld || /usr/sbin/slurmctld
    wait_for 30 slurmctld scontrol ping
    running slurmd || /usr/sbin/slurmd
    # up: idle, or running jobs (mixed, allocated), and not down or drained
    wait_for 30 "the node" bash -c "sinfo -h -o %T | grep -Eq '^(idle|mix|alloc|completing)'"
    echo "cluster.sh: one-node cluster up ($HOST, $CPUS CPUs, accounting: $([ $accounting = 1 ] && echo on || echo off))"
}

running() {  # running DAEMON: its PID file under $STATE names a live process
    [ -f "$STATE/$1.pid" ] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null
}

stop_pid() {  # stop_pid NAME: the process whose PID this script keeps as $STATE/NAME.pid, and only it
    if [ -f "$STATE/$1.pid" ]; then kill "$(cat "$STATE/$1.pid")" 2>/dev/null || true; rm -f "$STATE/$1.pid"; fi
}

stop() {
    for d in slurmd slurmctld slurmdbd; do stop_pid "$d"; done
    if [ "${1:-}" = "--all" ]; then
        stop_pid munged
        if [ -f "$STATE/mysqld.ours" ]; then stop_pid mysqld; rm -f "$STATE/mysqld.ours"; fi
    fi
}

case "${1:-}" in
    install) install ;;
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    status) sinfo ;;
    *) echo "usage: $0 install|start [--no-accounting]|stop [--all]|status" >&2; exit 2 ;;
esac
