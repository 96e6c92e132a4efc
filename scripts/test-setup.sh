#!/usr/bin/env bash
# Everything the test suite needs from the machine, installed or started only when missing:
# Debian packages for the real clients the tests drive, and local PostgreSQL and Redis.
set -euo pipefail

need_pkgs=()
command -v openssl >/dev/null || need_pkgs+=(openssl)
command -v curl >/dev/null || need_pkgs+=(curl)
command -v redis-server >/dev/null || need_pkgs+=(redis-server)
command -v pg_ctlcluster >/dev/null || need_pkgs+=(postgresql)
# Real ACME clients for the interoperability tests.
command -v certbot >/dev/null || need_pkgs+=(certbot)
command -v lego >/dev/null || need_pkgs+=(lego)
# nginx with its stream (TCP) module: the load balancer of the multi-replica test.
command -v nginx >/dev/null || need_pkgs+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || need_pkgs+=(libnginx-mod-stream)
# SoftHSM2: the HSM the PKCS#11 signer is tested against (tests make their own tokens).
command -v softhsm2-util >/dev/null || need_pkgs+=(softhsm2)
# A real browser for the dashboard tests (driven by playwright-core, which never downloads one).
command -v chromium >/dev/null || need_pkgs+=(chromium)

if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-setup: missing ${need_pkgs[*]}; install them (Debian: apt-get install ${need_pkgs[*]})" >&2
    exit 1
  fi
  echo "test-setup: installing ${need_pkgs[*]}"
  apt-get update -qq
  # Packages must not start services (nginx would take port 80 for its default site): the tests
  # start their own, on spare loopback ports. policy-rc.d is Debian's switch for that.
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
  [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

# PostgreSQL and Redis on 127.0.0.1, as the integration tests expect; started if down.
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null; then
    for v in $(ls /etc/postgresql 2>/dev/null); do pg_ctlcluster --skip-systemctl-redirect "$v" main start || true; done
  fi
fi
if command -v redis-cli >/dev/null && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  if command -v redis-server >/dev/null; then
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
  fi
fi
exit 0
