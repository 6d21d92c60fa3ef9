#!/bin/bash
# A one-node SLURM cluster on this Debian machine, started by hand (no systemd): munge, MariaDB,
# slurmdbd (accounting, for sacct), slurmctld and slurmd. Needs root.
#
#   tests/slurm/cluster.sh install   apt-get the packages (slurm-wlm munge slurmdbd mariadb-server)
#   tests/slurm/cluster.sh start     write /etc/slurm/{slurm,slurmdbd}.conf, start every daemon
#   tests/slurm/cluster.sh start --no-accounting   the same without slurmdbd (sacct knows nothing)
#   tests/slurm/cluster.sh stop      stop them (by the PIDs they wrote under $STATE)
#   tests/slurm/cluster.sh status    sinfo
# State, logs and PID files live under $STATE (default /tmp/fcn-slurm).
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
    if [ ! -S /run/munge/munge.socket.2 ]; then
        runuser -u munge -- /usr/sbin/munged
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
        if ! mysqladmin ping >/dev/null 2>&1; then
            (mysqld_safe --user=mysql >"$STATE/mariadb.log" 2>&1 &)
            wait_for 60 MariaDB mysqladmin ping
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
        /usr/sbin/slurmdbd
        wait_for 30 slurmdbd sacctmgr -i show cluster
    fi
    if [ $accounting = 1 ]; then
        sacctmgr -i add cluster fcn >/dev/null 2>&1 || true
    fi
    /usr/sbin/slurmctld
    wait_for 30 slurmctld scontrol ping
    /usr/sbin/slurmd
    wait_for 30 "the node" bash -c "sinfo -h -o %T | grep -q idle"
    echo "cluster.sh: one-node cluster up ($HOST, $CPUS CPUs, accounting: $([ $accounting = 1 ] && echo on || echo off))"
}

stop() {
    for d in slurmd slurmctld slurmdbd; do
        if [ -f "$STATE/$d.pid" ]; then kill "$(cat "$STATE/$d.pid")" 2>/dev/null || true; rm -f "$STATE/$d.pid"; fi
    done
    if [ "${1:-}" = "--all" ]; then
        mysqladmin shutdown 2>/dev/null || true
        pkill -x munged 2>/dev/null || true
    fi
}

case "${1:-}" in
    install) install ;;
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    status) sinfo ;;
    *) echo "usage: $0 install|start [--no-accounting]|stop [--all]|status" >&2; exit 2 ;;
esac
