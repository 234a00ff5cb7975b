#!/usr/bin/env bash
# tests/integration/docker_dockerd.sh - the Docker collector of `ctrail serve` against a real
# dockerd (Debian's docker.io, private socket, no bridge),
# started and stopped by tests/peers/dockerd.sh.  The scenarios are in
# tests/peers/docker_scenarios.sh.  Exit: 0 pass, 1 fail, 77 skip.
ENGINE=dockerd
# shellcheck source=../peers/docker_scenarios.sh
. "$(dirname "$0")/../peers/docker_scenarios.sh"
