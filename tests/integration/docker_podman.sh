#!/usr/bin/env bash
# tests/integration/docker_podman.sh - the Docker collector of `ctrail serve` against a real
# Podman Docker-compatible API service (podman system service),
# started and stopped by tests/peers/podman.sh.  The scenarios are in
# tests/peers/docker_scenarios.sh.  Exit: 0 pass, 1 fail, 77 skip.
ENGINE=podman
# shellcheck source=../peers/docker_scenarios.sh
. "$(dirname "$0")/../peers/docker_scenarios.sh"
